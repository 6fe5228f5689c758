"""Mail-authentication and DNS subcommands: ``spf``, ``dkim``, ``dmarc``, ``dnsbl``, ``dns lookup``,
``mtasts lookup``, ``tlsrpt lookup``, with mox's words and arguments.

Commands that need DNS use ``app.dns.new_resolver()``: the system resolver, or, when the
environment variable ``MOXPY_TEST_ZONEFILE`` names a zone file, a MockResolver answering from it
(``MOXPY_TEST_ZONE_AUTHENTIC``: comma-separated names to treat as DNSSEC-signed, or ``*``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.command import Command, CommandError, Context, UsageError

if TYPE_CHECKING:
    from app.dns import BaseResolver
    from app.mailauth.dkim import SignSelector


def _resolver() -> BaseResolver:
    from app.dns import new_resolver

    try:
        return new_resolver()
    except (OSError, ValueError) as e:
        raise CommandError(f"setting up resolver: {e}") from None


def _dnssec(authentic: bool) -> str:
    return "with dnssec" if authentic else "without dnssec"


def _args(args: list[str], n: int) -> list[str]:
    if len(args) != n:
        raise UsageError("")
    return args


def _read(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise CommandError(f"reading message: {e}") from None


def _from_domain(data: bytes) -> str:
    """Domain of the message's From header (RFC 5322 §3.6.2)."""
    from email.utils import getaddresses

    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0].decode("utf-8", "replace")
    m = re.search(r"(?im)^from[ \t]*:(.*(?:\r?\n[ \t].*)*)", head)
    if not m:
        raise CommandError("message has no From header")
    addrs = [a for _, a in getaddresses([m.group(1)]) if "@" in a]
    if len(addrs) != 1:
        raise CommandError("message must have exactly one From address")
    return addrs[0].rsplit("@", 1)[1].lower().rstrip(".")


# spf


def cmd_spf_check(ctx: Context, args: list[str]) -> int:
    from app.mailauth import spf

    domain, ip = _args(args, 2)
    res = spf.check_host(_resolver(), ip, domain)
    ctx.stdout.write(f"status: {res.status} ({_dnssec(res.authentic)})\n")
    if res.mechanism:
        ctx.stdout.write(f"mechanism: {res.mechanism}\n")
    if res.explanation:
        ctx.stdout.write(f"explanation: {res.explanation}\n")
    if res.problem:
        ctx.stdout.write(f"problem: {res.problem}\n")
    return 0


def cmd_spf_lookup(ctx: Context, args: list[str]) -> int:
    from app.dns import DNSError

    (domain,) = _args(args, 1)
    try:
        ans = _resolver().lookup_txt_sync(domain)
    except DNSError as e:
        raise CommandError(f"looking up spf record: {e}") from None
    recs = [r for r in ans.records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]
    if not recs:
        raise CommandError(f"no spf record for {domain}")
    if len(recs) > 1:
        raise CommandError(f"multiple spf records for {domain}: {recs}")
    ctx.stdout.write(f"{recs[0]}\n")
    ctx.stderr.write(f"({_dnssec(ans.authentic)})\n")
    return 0


def cmd_spf_parse(ctx: Context, args: list[str]) -> int:
    from app.mailauth import spfrecord

    if not args:
        raise UsageError("")
    try:
        spfrecord.parse(" ".join(args))
    except spfrecord.SPFSyntaxError as e:
        raise CommandError(f"invalid spf record: {e}") from None
    return 0


# dkim


def cmd_dkim_genrsa(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dkimkeys

    _args(args, 0)
    ctx.stdout.write(dkimkeys.generate_rsa().decode())
    return 0


def cmd_dkim_gened25519(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dkimkeys

    _args(args, 0)
    ctx.stdout.write(dkimkeys.generate_ed25519().decode())
    return 0


def cmd_dkim_txt(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dkimkeys

    _args(args, 0)
    try:
        key = dkimkeys.load_private_key(ctx.stdin.read().encode())
    except dkimkeys.DKIMKeyError as e:
        raise CommandError(str(e)) from None
    ctx.stdout.write(dkimkeys.txt_record(key) + "\n")
    return 0


def cmd_dkim_lookup(ctx: Context, args: list[str]) -> int:
    from app.dns import DNSError
    from app.mailauth import dkimkeys

    selector, domain = _args(args, 2)
    try:
        ans = _resolver().lookup_txt_sync(f"{selector}._domainkey.{domain}")
    except DNSError as e:
        raise CommandError(f"looking up dkim record: {e}") from None
    for txt in ans.records:
        ctx.stdout.write(f"{txt}\n")
        try:
            rec = dkimkeys.parse_key_record(txt)
        except dkimkeys.DKIMKeyError as e:
            ctx.stdout.write(f"  invalid: {e}\n")
            continue
        ctx.stdout.write(
            f"  key type {rec.key_type}, hashes {','.join(rec.hashes) or 'any'}"
            f"{', revoked' if rec.revoked else ''} ({_dnssec(ans.authentic)})\n"
        )
    return 0


def cmd_dkim_verify(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dkim

    (path,) = _args(args, 1)
    results = dkim.verify(_resolver(), _read(path))
    if not results:
        ctx.stdout.write("no dkim-signature headers\n")
    for r in results:
        line = f"signature domain={r.domain} selector={r.selector} algorithm={r.algorithm} status={r.status}"
        if r.reason:
            line += f" reason={r.reason!r}"
        ctx.stdout.write(line + f" ({_dnssec(r.authentic)})\n")
    return 0


def _sign_selectors(ctx: Context, domain: str) -> tuple[str, list[SignSelector]]:
    """mox signs with the From domain's selectors, or those of the nearest configured parent."""
    from app.config import ConfigError, load
    from app.mailauth import dkimconf, dkimkeys

    try:
        cfg = load(ctx.config_path)
    except ConfigError as e:
        raise CommandError(f"loading config: {e}") from None
    d = domain
    while True:
        conf = cfg.dynamic.Domains.get(d)
        if conf is not None:
            break
        if "." not in d:
            raise CommandError(f"domain {domain} is not configured")
        d = d.split(".", 1)[1]
    try:
        sels = dkimconf.selectors_from_config(conf.DKIM, cfg.config_dir)
    except dkimkeys.DKIMKeyError as e:
        raise CommandError(str(e)) from None
    if not sels:
        raise CommandError(f"no dkim selectors configured for signing for domain {d}")
    return d, sels


def cmd_dkim_sign(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dkim

    (path,) = _args(args, 1)
    data = _read(path)
    domain, sels = _sign_selectors(ctx, _from_domain(data))
    try:
        headers = dkim.sign(data, domain, sels)
    except dkim.DKIMSignError as e:
        raise CommandError(str(e)) from None
    out = getattr(ctx.stdout, "buffer", None)
    if out is not None:
        ctx.stdout.flush()
        out.write(headers + data)
        out.flush()
    else:
        ctx.stdout.write((headers + data).decode("utf-8", "surrogateescape"))
    return 0


# dmarc


def cmd_dmarc_lookup(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dmarc

    (domain,) = _args(args, 1)
    look = dmarc.lookup(_resolver(), domain)
    if look.status == "none":
        raise CommandError(f"no dmarc record for {domain}")
    if look.status != "pass" or look.record is None:
        raise CommandError(f"dmarc lookup: {look.status}: {look.reason}")
    ctx.stdout.write(
        f"dmarc record at _dmarc.{look.record_domain} ({_dnssec(look.authentic)}):\n{look.text}\n"
    )
    return 0


def cmd_dmarc_verify(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dkim, dmarc, spf

    ip, mailfrom, helo = _args(args, 3)
    buf = getattr(ctx.stdin, "buffer", None)
    data = buf.read() if buf is not None else ctx.stdin.read().encode("utf-8", "surrogateescape")
    r = _resolver()
    spf_res = spf.verify(r, ip, mailfrom, helo)
    dkim_res = dkim.verify(r, data)
    from_domain = _from_domain(data)
    res = dmarc.verify(
        r, from_domain, [d.domain for d in dkim_res if d.status == "pass"], spf_res.status, spf_res.domain
    )
    ctx.stdout.write(f"spf: {spf_res.status} ({spf_res.identity} {spf_res.domain})\n")
    for d in dkim_res:
        ctx.stdout.write(f"dkim: {d.status} {d.domain} {d.selector} {d.reason}".rstrip() + "\n")
    ctx.stdout.write(
        f"dmarc: {res.status}, policy {res.policy or 'none'}, reject {str(res.reject).lower()}\n"
    )
    ctx.stdout.write(f"reason: {res.reason}\n")
    return 0


def cmd_dmarc_checkreportaddrs(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dmarc, orgdomain

    (domain,) = _args(args, 1)
    r = _resolver()
    look = dmarc.lookup(r, domain)
    if look.record is None:
        raise CommandError(f"no valid dmarc record for {domain}: {look.reason}")
    org = orgdomain.org_domain(r, look.domain)
    for uri in (*look.record.rua, *look.record.ruf):
        addr = uri.address
        if not addr.lower().startswith("mailto:") or "@" not in addr:
            ctx.stdout.write(f"{addr}: not a mailto uri, not checked\n")
            continue
        dest = addr.split("@", 1)[1].lower()
        if orgdomain.org_domain(r, dest) == org:
            ctx.stdout.write(f"{addr}: same organizational domain, no authorization needed\n")
            continue
        ok, why = dmarc.lookup_external_report(r, look.domain, dest)
        ctx.stdout.write(f"{addr}: {'authorized' if ok else 'NOT authorized'}: {why}\n")
    return 0


# dnsbl


def cmd_dnsbl_check(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dnsbl

    zone, ip = _args(args, 2)
    res = dnsbl.lookup(_resolver(), zone, ip)
    if res.status == "temperror":
        raise CommandError(f"checking dnsbl: {res.explanation}")
    if res.listed:
        ctx.stdout.write(
            f"listed: {ip} in {zone}" + (f": {res.explanation}" if res.explanation else "") + "\n"
        )
    else:
        ctx.stdout.write(f"not listed: {ip} in {zone}\n")
    return 0


def cmd_dnsbl_checkhealth(ctx: Context, args: list[str]) -> int:
    from app.mailauth import dnsbl

    (zone,) = _args(args, 1)
    try:
        dnsbl.check_health(_resolver(), zone)
    except dnsbl.DNSBLUnhealthy as e:
        raise CommandError(f"unhealthy: {e}") from None
    ctx.stdout.write(f"healthy: {zone}\n")
    return 0


# dns, mtasts, tlsrpt

_DNS_TYPES = ("ptr", "mx", "cname", "ips", "a", "aaaa", "ns", "txt", "srv", "tlsa")


def cmd_dns_lookup(ctx: Context, args: list[str]) -> int:
    from app.dns import DNSError

    kind, name = _args(args, 2)
    kind = kind.lower()
    r = _resolver()
    try:
        lines: list[str]
        if kind == "ptr":
            res_s = r.lookup_addr_sync(name)
            auth, lines = res_s.authentic, list(res_s.records)
        elif kind == "mx":
            res_mx = r.lookup_mx_sync(name)
            auth, lines = res_mx.authentic, [f"{m.pref} {m.host or '.'}" for m in res_mx.records]
        elif kind in ("ips", "a", "aaaa", "ns", "cname", "txt"):
            fn = {
                "ips": r.lookup_ip_sync,
                "a": r.lookup_a_sync,
                "aaaa": r.lookup_aaaa_sync,
                "ns": r.lookup_ns_sync,
                "cname": r.lookup_cname_sync,
                "txt": r.lookup_txt_sync,
            }[kind]
            res_s = fn(name)
            auth, lines = res_s.authentic, list(res_s.records)
        elif kind == "srv":
            res_srv = r.lookup_sync(name, "SRV")
            auth, lines = res_srv.authentic, [rd.to_text() for rd in res_srv.rdatas]
        elif kind == "tlsa":
            res_t = r.lookup_sync(name, "TLSA")
            auth, lines = res_t.authentic, [rd.to_text() for rd in res_t.rdatas]
        else:
            raise UsageError(f"unknown type {kind!r}, expected one of {', '.join(_DNS_TYPES)}")
    except DNSError as e:
        raise CommandError(f"lookup: {e}") from None
    ctx.stdout.write(f"{kind} records for {name} ({_dnssec(auth)}):\n")
    for line in lines:
        ctx.stdout.write(f"- {line}\n")
    return 0


def cmd_mtasts_lookup(ctx: Context, args: list[str]) -> int:
    from app.mailauth import mtasts

    (domain,) = _args(args, 1)
    r = _resolver()
    look = mtasts.lookup_record(r, domain)
    if look.status != "found":
        raise CommandError(f"mta-sts record: {look.status}: {look.reason}")
    ctx.stdout.write(f"mta-sts record: {look.text}\n")
    try:
        policy, _text = mtasts.fetch_policy(r, domain)
    except mtasts.MTASTSError as e:
        raise CommandError(f"mta-sts policy: {e}") from None
    ctx.stdout.write("policy:\n" + policy.text().replace("\r\n", "\n"))
    return 0


def cmd_tlsrpt_lookup(ctx: Context, args: list[str]) -> int:
    from app.mailauth import tlsrpt

    (domain,) = _args(args, 1)
    look = tlsrpt.lookup(_resolver(), domain)
    if look.status != "found" or look.record is None:
        raise CommandError(f"tlsrpt record: {look.status}: {look.reason}")
    ctx.stdout.write(f"{look.text}\n")
    for u in look.record.rua:
        ctx.stdout.write(f"- {u}\n")
    return 0


COMMANDS: list[Command] = [
    Command(
        ("spf", "check"),
        cmd_spf_check,
        "Check the status of IP for the SPF policy of the domain.",
        "domain ip",
    ),
    Command(
        ("spf", "lookup"),
        cmd_spf_lookup,
        "Lookup the SPF record for the domain and print it.",
        "domain",
    ),
    Command(
        ("spf", "parse"),
        cmd_spf_parse,
        "Parse the record as SPF record; if valid, nothing is printed.",
        "txtrecord",
    ),
    Command(
        ("dkim", "genrsa"),
        cmd_dkim_genrsa,
        "Generate a new 2048 bit RSA private key for DKIM (PKCS#8 PEM).",
        ">$selector._domainkey.$domain.rsa2048.privatekey.pkcs8.pem",
    ),
    Command(
        ("dkim", "gened25519"),
        cmd_dkim_gened25519,
        "Generate a new ed25519 private key for DKIM (PKCS#8 PEM).",
        ">$selector._domainkey.$domain.ed25519.privatekey.pkcs8.pem",
    ),
    Command(
        ("dkim", "txt"),
        cmd_dkim_txt,
        "Print the DKIM DNS TXT record for the private key read from stdin.",
        "<$selector._domainkey.$domain.key.pkcs8.pem",
    ),
    Command(
        ("dkim", "lookup"),
        cmd_dkim_lookup,
        "Lookup and print the DKIM record for the selector at the domain.",
        "selector domain",
    ),
    Command(
        ("dkim", "verify"),
        cmd_dkim_verify,
        "Verify the DKIM signatures in a message and print the results.",
        "messagefile",
    ),
    Command(
        ("dkim", "sign"),
        cmd_dkim_sign,
        "Sign a message with the DKIM selectors of the From domain.",
        "messagefile",
    ),
    Command(
        ("dmarc", "lookup"),
        cmd_dmarc_lookup,
        "Lookup, validate and print the DMARC policy for the domain.",
        "domain",
    ),
    Command(
        ("dmarc", "verify"),
        cmd_dmarc_verify,
        "Evaluate a message from stdin against the From domain's DMARC policy.",
        "remoteip mailfromaddress helodomain <messagefile",
    ),
    Command(
        ("dmarc", "checkreportaddrs"),
        cmd_dmarc_checkreportaddrs,
        "Check that each DMARC reporting address of the domain accepts reports (if needed).",
        "domain",
    ),
    Command(
        ("dnsbl", "check"),
        cmd_dnsbl_check,
        "Test if IP is in the DNS blocklist of the zone.",
        "zone ip",
    ),
    Command(
        ("dnsbl", "checkhealth"),
        cmd_dnsbl_checkhealth,
        "Check the health of the DNS blocklist of the zone.",
        "zone",
    ),
    Command(
        ("dns", "lookup"),
        cmd_dns_lookup,
        "Lookup a DNS name of the given type.",
        "[ptr | mx | cname | ips | a | aaaa | ns | txt | srv | tlsa] name",
    ),
    Command(
        ("mtasts", "lookup"),
        cmd_mtasts_lookup,
        "Lookup the MTA-STS record and policy for the domain.",
        "domain",
    ),
    Command(
        ("tlsrpt", "lookup"),
        cmd_tlsrpt_lookup,
        "Lookup the TLSRPT record for the domain.",
        "domain",
    ),
]
