"""``config account|address|domain|alias|tlspubkey ...``: accounts, addresses, domains and
aliases in domains.conf (through the running server when it runs, so it creates/removes
account databases and picks up the change at once), and TLS client public keys in auth.db.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.cmd_store import load_config, with_admin
from app.cli.command import Command, CommandError, Context, UsageError


def _n(args: list[str], lo: int, hi: int | None, usage: str) -> None:
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise UsageError(f"usage: {usage}")


def _admin_cmd(
    ctl: str, lo: int, hi: int | None, usage: str, fn: Callable[[Any, list[str]], Any]
) -> Callable[[Context, list[str]], int]:
    def run(ctx: Context, args: list[str]) -> int:
        _n(args, lo, hi, usage)
        with_admin(ctx, ctl, list(args), lambda admin: fn(admin, args))
        return 0

    return run


def _domain_add(ctx: Context, args: list[str]) -> int:
    usage = "config domain add [-disabled] DOMAIN ACCOUNT [LOCALPART]"
    disabled = "-disabled" in args
    rest = [a for a in args if a != "-disabled"]
    _n(rest, 2, 3, usage)
    localpart = rest[2] if len(rest) > 2 else ""
    ctl_args = [rest[0], rest[1], localpart] + (["disabled"] if disabled else [])
    with_admin(ctx, "domainadd", ctl_args, lambda a: a.add_domain(rest[0], rest[1], localpart, disabled))
    return 0


def _account_list(ctx: Context, args: list[str]) -> int:
    _n(args, 0, 0, "config account list")
    cfg = load_config(ctx)
    for name in sorted(cfg.dynamic.Accounts):
        acc = cfg.dynamic.Accounts[name]
        extra = f"\t(login disabled: {acc.LoginDisabled})" if acc.LoginDisabled else ""
        ctx.stdout.write(f"{name}{extra}\n")
    return 0


def _account_addresses(ctx: Context, args: list[str]) -> int:
    _n(args, 1, 1, "config account addresses ACCOUNT")
    cfg = load_config(ctx)
    acc = cfg.account(args[0])
    if acc is None:
        raise CommandError(f"account {args[0]!r} does not exist")
    for key in acc.Destinations:
        ctx.stdout.write(f"{key}\n")
    return 0


def _split(address: str) -> tuple[str, str]:
    lp, at, dom = address.rpartition("@")
    if not at or not dom:
        raise CommandError(f"{address!r} is not an email address")
    return lp, dom


def _address_account(ctx: Context, args: list[str]) -> int:
    _n(args, 1, 1, "config address account ADDRESS")
    cfg = load_config(ctx)
    m = cfg.lookup_address(*_split(args[0]))
    if m is None:
        raise CommandError(f"no account for {args[0]!r}")
    ctx.stdout.write(f"{m.account}\n")
    return 0


def _alias_list(ctx: Context, args: list[str]) -> int:
    _n(args, 1, 1, "config alias list DOMAIN")
    cfg = load_config(ctx)
    dom = cfg.domain(args[0])
    if dom is None:
        raise CommandError(f"domain {args[0]!r} is not configured")
    for lp in sorted(dom.Aliases):
        ctx.stdout.write(f"{lp}@{args[0]}\n")
    return 0


def _alias_print(ctx: Context, args: list[str]) -> int:
    _n(args, 1, 1, "config alias print ADDRESS")
    cfg = load_config(ctx)
    m = cfg.lookup_alias(*_split(args[0]))
    if m is None:
        raise CommandError(f"no alias {args[0]!r}")
    a = m.alias
    ctx.stdout.write(f"# postpublic {str(a.PostPublic).lower()}, listmembers {str(a.ListMembers).lower()}, ")
    ctx.stdout.write(f"allowmsgfrom {str(a.AllowMsgFrom).lower()}\n")
    for member in a.Addresses:
        ctx.stdout.write(f"{member}\n")
    return 0


def _alias_update(ctx: Context, args: list[str]) -> int:
    usage = "config alias update ADDRESS [-postpublic false|true] [-listmembers false|true] [-allowmsgfrom false|true]"
    if not args:
        raise UsageError(f"usage: {usage}")
    opts = {"-postpublic": "", "-listmembers": "", "-allowmsgfrom": ""}
    rest = args[1:]
    while rest:
        if len(rest) < 2 or rest[0] not in opts or rest[1] not in ("true", "false"):
            raise UsageError(f"usage: {usage}")
        opts[rest[0]] = rest[1]
        rest = rest[2:]

    def b(s: str) -> bool | None:
        return None if s == "" else s == "true"

    vals = [opts["-postpublic"], opts["-listmembers"], opts["-allowmsgfrom"]]
    with_admin(ctx, "aliasupdate", [args[0], *vals], lambda a: a.alias_update(args[0], *map(b, vals)))
    return 0


# --- TLS public keys (auth.db, usable while the server runs: SQLite WAL) ---


def _authdb(ctx: Context) -> Any:
    from app.store.authdb import AuthDBError, open_authdb

    cfg = load_config(ctx)
    try:
        return cfg, open_authdb(cfg.data_dir)
    except AuthDBError as e:
        raise CommandError(str(e)) from None


def _tls_list(ctx: Context, args: list[str]) -> int:
    _n(args, 0, 1, "config tlspubkey list [ACCOUNT]")
    _cfg, db = _authdb(ctx)
    try:
        for k in db.tls_public_keys(args[0] if args else None):
            pre = "\tno-imap-preauth" if k.no_imap_preauth else ""
            ctx.stdout.write(f"{k.fingerprint}\t{k.type}\t{k.account}\t{k.login_address}\t{k.name}{pre}\n")
    finally:
        db.close()
    return 0


def _tls_get(ctx: Context, args: list[str]) -> int:
    import base64
    import time

    _n(args, 1, 1, "config tlspubkey get FINGERPRINT")
    _cfg, db = _authdb(ctx)
    try:
        k = db.tls_public_key(args[0])
    finally:
        db.close()
    if k is None:
        raise CommandError(f"no tls public key {args[0]}")
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(k.created))
    ctx.stdout.write(
        f"fingerprint: {k.fingerprint}\ntype: {k.type}\nname: {k.name}\naccount: {k.account}\n"
        f"login address: {k.login_address}\nno imap preauth: {str(k.no_imap_preauth).lower()}\n"
        f"created: {created}\n\n-----BEGIN CERTIFICATE-----\n"
    )
    b64 = base64.b64encode(k.cert_der).decode()
    for i in range(0, len(b64), 64):
        ctx.stdout.write(b64[i : i + 64] + "\n")
    ctx.stdout.write("-----END CERTIFICATE-----\n")
    return 0


def _tls_add(ctx: Context, args: list[str]) -> int:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from app.store.authdb import AuthDBError, parse_tls_public_key

    usage = "config tlspubkey add [-no-imap-preauth] ADDRESS [NAME] < cert.pem"
    no_preauth = "-no-imap-preauth" in args
    rest = [a for a in args if a != "-no-imap-preauth"]
    _n(rest, 1, 2, usage)
    cfg, db = _authdb(ctx)
    try:
        m = cfg.lookup_address(*_split(rest[0]))
        if m is None:
            raise CommandError(f"{rest[0]!r} is not an address of an account")
        data = ctx.stdin.read().encode("ascii", "replace")
        try:
            der = x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
            key = parse_tls_public_key(der, m.account, rest[0], rest[1] if len(rest) > 1 else "", no_preauth)
        except ValueError as e:
            raise CommandError(f"bad certificate: {e}") from None
        try:
            db.tls_public_key_add(key)
        except AuthDBError as e:
            raise CommandError(str(e)) from None
        ctx.stdout.write(f"added tls public key {key.fingerprint}\n")
    finally:
        db.close()
    return 0


def _tls_rm(ctx: Context, args: list[str]) -> int:
    from app.store.authdb import AuthDBError

    _n(args, 1, 1, "config tlspubkey rm FINGERPRINT")
    _cfg, db = _authdb(ctx)
    try:
        db.tls_public_key_remove(args[0])
    except AuthDBError as e:
        raise CommandError(str(e)) from None
    finally:
        db.close()
    return 0


def _tls_gen(ctx: Context, args: list[str]) -> int:
    import datetime
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from app.store.authdb import certificate_fingerprint

    _n(args, 1, 1, "config tlspubkey gen STEM")
    stem = args[0]
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, Path(stem).name or "moxpy client")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365 * 100))
        .sign(key, None)
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    try:
        fd = os.open(stem + ".key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)
        with open(stem + ".pem", "xb") as f:
            f.write(cert_pem)
    except FileExistsError as e:
        raise CommandError(f"{e.filename} already exists") from None
    fp = certificate_fingerprint(cert.public_bytes(serialization.Encoding.DER))
    ctx.stdout.write(f"wrote {stem}.key and {stem}.pem\nfingerprint: {fp}\n")
    return 0


COMMANDS: list[Command] = [
    Command(("config", "account", "list"), _account_list, "List accounts", "config account list"),
    Command(("config", "account", "addresses"), _account_addresses, "List the addresses of an account", "config account addresses ACCOUNT"),
    Command(("config", "account", "add"), _admin_cmd("accountadd", 2, 2, "config account add ACCOUNT ADDRESS", lambda a, x: a.add_account(x[0], x[1])), "Add an account with its first address", "config account add ACCOUNT ADDRESS"),
    Command(("config", "account", "rm"), _admin_cmd("accountrm", 1, 1, "config account rm ACCOUNT", lambda a, x: a.remove_account(x[0])), "Remove an account and its data", "config account rm ACCOUNT"),
    Command(("config", "account", "disable"), _admin_cmd("accountdisable", 2, 2, "config account disable ACCOUNT MESSAGE", lambda a, x: a.disable_account(x[0], x[1])), "Refuse logins to an account", "config account disable ACCOUNT MESSAGE"),
    Command(("config", "account", "enable"), _admin_cmd("accountenable", 1, 1, "config account enable ACCOUNT", lambda a, x: a.enable_account(x[0])), "Allow logins to an account again", "config account enable ACCOUNT"),
    Command(("config", "address", "add"), _admin_cmd("addressadd", 2, 2, "config address add ADDRESS ACCOUNT", lambda a, x: a.add_address(x[0], x[1])), "Add an address to an account", "config address add ADDRESS ACCOUNT"),
    Command(("config", "address", "rm"), _admin_cmd("addressrm", 1, 1, "config address rm ADDRESS", lambda a, x: a.remove_address(x[0])), "Remove an address", "config address rm ADDRESS"),
    Command(("config", "address", "account"), _address_account, "Print the account an address delivers to", "config address account ADDRESS"),
    Command(("config", "domain", "add"), _domain_add, "Add a domain", "config domain add [-disabled] DOMAIN ACCOUNT [LOCALPART]"),
    Command(("config", "domain", "rm"), _admin_cmd("domainrm", 1, 1, "config domain rm DOMAIN", lambda a, x: a.remove_domain(x[0])), "Remove a domain", "config domain rm DOMAIN"),
    Command(("config", "domain", "disable"), _admin_cmd("domaindisable", 1, 1, "config domain disable DOMAIN", lambda a, x: a.disable_domain(x[0])), "Disable a domain", "config domain disable DOMAIN"),
    Command(("config", "domain", "enable"), _admin_cmd("domainenable", 1, 1, "config domain enable DOMAIN", lambda a, x: a.enable_domain(x[0])), "Enable a domain", "config domain enable DOMAIN"),
    Command(("config", "alias", "list"), _alias_list, "List the aliases of a domain", "config alias list DOMAIN"),
    Command(("config", "alias", "print"), _alias_print, "Print an alias and its members", "config alias print ADDRESS"),
    Command(("config", "alias", "add"), _admin_cmd("aliasadd", 2, None, "config alias add ADDRESS MEMBER...", lambda a, x: a.alias_add(x[0], x[1:])), "Add an alias", "config alias add ADDRESS MEMBER..."),
    Command(("config", "alias", "update"), _alias_update, "Change alias settings", "config alias update ADDRESS [-postpublic false|true] [-listmembers false|true] [-allowmsgfrom false|true]"),
    Command(("config", "alias", "rm"), _admin_cmd("aliasrm", 1, 1, "config alias rm ADDRESS", lambda a, x: a.alias_remove(x[0])), "Remove an alias", "config alias rm ADDRESS"),
    Command(("config", "alias", "addaddr"), _admin_cmd("aliasaddaddr", 2, None, "config alias addaddr ADDRESS MEMBER...", lambda a, x: a.alias_add_members(x[0], x[1:])), "Add members to an alias", "config alias addaddr ADDRESS MEMBER..."),
    Command(("config", "alias", "rmaddr"), _admin_cmd("aliasrmaddr", 2, None, "config alias rmaddr ADDRESS MEMBER...", lambda a, x: a.alias_remove_members(x[0], x[1:])), "Remove members from an alias", "config alias rmaddr ADDRESS MEMBER..."),
    Command(("config", "tlspubkey", "list"), _tls_list, "List TLS client public keys", "config tlspubkey list [ACCOUNT]"),
    Command(("config", "tlspubkey", "get"), _tls_get, "Print a TLS client public key", "config tlspubkey get FINGERPRINT"),
    Command(("config", "tlspubkey", "add"), _tls_add, "Register a TLS client certificate (PEM on stdin)", "config tlspubkey add [-no-imap-preauth] ADDRESS [NAME] < cert.pem"),
    Command(("config", "tlspubkey", "rm"), _tls_rm, "Remove a TLS client public key", "config tlspubkey rm FINGERPRINT"),
    Command(("config", "tlspubkey", "gen"), _tls_gen, "Generate an ed25519 key and certificate for TLS client auth", "config tlspubkey gen STEM"),
]  # fmt: skip
