"""Store subcommands: ``import``, ``export``, ``backup``, ``verifydata``,
``setaccountpassword``, ``setadminpassword`` and the mailbox maintenance commands
(``recalculatemailboxcounts``, ``bumpuidvalidity``, ``reassignuids``, ``fixuidmeta``,
``reassignthreads``).

Commands that change data talk to the running server over the control socket; when no
server runs they open the data directory themselves (``with_admin``).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.command import Command, CommandError, Context, UsageError

if TYPE_CHECKING:
    from app.config.config import Config
    from app.store.accounts_admin import Admin


def load_config(ctx: Context) -> Config:
    from app.config import ConfigError, load

    try:
        return load(ctx.config_path)
    except ConfigError as e:
        raise CommandError(str(e)) from None


def server_call(ctx: Context, cfg: Config, cmd: str, args: list[Any]) -> tuple[bool, Any]:
    """(True, result) when the running server handled the command; (False, None) when no
    server listens on the control socket."""
    from app.ctl.client import call
    from app.ctl.protocol import CtlError

    path = cfg.data_dir / "ctl"
    if not path.exists():
        return False, None
    try:
        return True, call(path, cmd, args, ctx.stdout)
    except CtlError as e:
        if "cannot connect" in str(e):
            return False, None
        raise CommandError(str(e)) from None
    except ConnectionRefusedError:
        return False, None
    except OSError as e:
        raise CommandError(f"control socket: {e}") from None


@contextmanager
def open_admin(cfg: Config) -> Iterator[Admin]:
    """Config, Store and AuthDB opened directly on the data directory (no server running)."""
    from app.store.accounts_admin import Admin
    from app.store.authdb import AuthDBError, open_authdb
    from app.store.model import InitialMailboxes
    from app.store.store import Store

    def quota(name: str) -> int:
        acc = cfg.account(name)
        q = acc.QuotaMessageSize if acc is not None and acc.QuotaMessageSize else cfg.static.QuotaMessageSize
        return int(q)

    store = Store(cfg.data_dir, InitialMailboxes.from_config(cfg.static.InitialMailboxes), quota)
    try:
        authdb = open_authdb(cfg.data_dir)
    except AuthDBError as e:
        store.close()
        raise CommandError(str(e)) from None
    try:
        admin = Admin(cfg, store, authdb)
        admin.complete_pending_removals()
        yield admin
    finally:
        store.close()
        authdb.close()


def with_admin(ctx: Context, ctl_cmd: str, args: list[Any], direct: Callable[[Admin], Any]) -> Any:
    """Run through the server when it runs, else directly; admin errors become CommandError."""
    from app.store.accounts_admin import AdminError
    from app.store.errors import StoreError

    cfg = load_config(ctx)
    handled, result = server_call(ctx, cfg, ctl_cmd, args)
    if handled:
        return result
    try:
        with open_admin(cfg) as admin:
            return direct(admin)
    except (AdminError, StoreError) as e:
        raise CommandError(str(e)) from None


def read_new_password(ctx: Context) -> str:
    """A new password: typed twice on a terminal, or two lines on stdin."""
    if ctx.stdin is sys.stdin and sys.stdin.isatty():
        first = getpass.getpass("password: ")
        second = getpass.getpass("password (again): ")
    else:
        first = ctx.stdin.readline().rstrip("\r\n")
        second = ctx.stdin.readline().rstrip("\r\n")
    if first != second:
        raise CommandError("passwords do not match")
    if not first:
        raise CommandError("empty password")
    return first


def _setaccountpassword(ctx: Context, args: list[str]) -> int:
    if len(args) != 1:
        raise UsageError("need exactly one account name")
    password = read_new_password(ctx)
    with_admin(ctx, "setaccountpassword", [args[0], password], lambda a: a.set_password(args[0], password))
    ctx.stdout.write("password set\n")
    return 0


def _setadminpassword(ctx: Context, args: list[str]) -> int:
    from app.sasl import PasswordError
    from app.store.accounts_admin import set_admin_password

    if args:
        raise UsageError("no arguments expected")
    cfg = load_config(ctx)
    password = read_new_password(ctx)
    try:
        path = set_admin_password(cfg, password)
    except PasswordError as e:
        raise CommandError(str(e)) from None
    ctx.stdout.write(f"admin password hash written to {path}\n")
    return 0


def _import(ctx: Context, args: list[str]) -> int:
    from app.store import importer
    from app.store.errors import SourceError, StoreError

    if len(args) != 4 or args[0] not in ("mbox", "maildir"):
        raise UsageError("usage: import mbox|maildir ACCOUNT MAILBOX PATH")
    kind, account, mailbox, src = args
    path = Path(os.path.abspath(src))

    def direct(admin: Admin) -> Any:
        if admin.config.account(account) is None:
            raise CommandError(f"account {account!r} does not exist")
        acc = admin.store.account(account, create=True)
        try:
            res = importer.import_path(
                acc,
                kind,  # type: ignore[arg-type]
                mailbox,
                path,
                progress=lambda n: ctx.stdout.write(f"{n} messages imported\n"),
            )
        except SourceError as e:
            raise CommandError(str(e)) from None
        except KeyboardInterrupt:
            raise CommandError("import interrupted, imported messages removed") from None
        return {"mailbox": res.mailbox, "count": res.count}

    try:
        res = with_admin(ctx, "import", [kind, account, mailbox, str(path)], direct)
    except StoreError as e:
        raise CommandError(str(e)) from None
    ctx.stdout.write(f"imported {res['count']} messages into {res['mailbox']}\n")
    return 0


def _ximport(ctx: Context, args: list[str]) -> int:
    from app.store import importer
    from app.store.account import Account
    from app.store.errors import SourceError, StoreError

    if len(args) != 4 or args[0] not in ("mbox", "maildir"):
        raise UsageError("usage: ximport mbox|maildir ACCOUNTDIR MAILBOX PATH")
    kind, accpath, mailbox, src = args
    name, path = _account_path(accpath)
    try:
        acc = Account(name, path)
    except StoreError as e:
        raise CommandError(str(e)) from None
    try:
        res = importer.import_path(
            acc,
            kind,  # type: ignore[arg-type]
            mailbox,
            Path(src),
            progress=lambda n: ctx.stdout.write(f"{n} messages imported\n"),
        )
    except (SourceError, StoreError) as e:
        raise CommandError(str(e)) from None
    except KeyboardInterrupt:
        raise CommandError("import interrupted, imported messages removed") from None
    finally:
        acc.close()
    ctx.stdout.write(f"imported {res.count} messages into {res.mailbox}\n")
    return 0


def _account_path(arg: str) -> tuple[str, Path]:
    p = Path(arg)
    if p.suffix != ".db":
        p = p.with_name(p.name + ".db")
    if not p.is_file():
        raise CommandError(f"no account database {p}")
    return p.stem, p


def _export(ctx: Context, args: list[str]) -> int:
    from app.store.account import Account
    from app.store.errors import StoreError
    from app.store.exporter import ExportError, export

    single = "-single" in args
    rest = [a for a in args if a != "-single"]
    if len(rest) not in (3, 4) or rest[0] not in ("mbox", "maildir"):
        raise UsageError("usage: export mbox|maildir [-single] DSTDIR ACCOUNTDIR [MAILBOX]")
    kind, dst, accpath = rest[:3]
    mailbox = rest[3] if len(rest) == 4 else None
    name, path = _account_path(accpath)
    try:
        acc = Account(name, path)
    except StoreError as e:
        raise CommandError(str(e)) from None
    try:
        res = export(
            acc,
            kind,  # type: ignore[arg-type]
            Path(dst),
            mailbox,
            single,
            progress=lambda mb, n: ctx.stdout.write(f"exported {mb}: {n} messages\n"),
        )
    except (ExportError, StoreError) as e:
        raise CommandError(str(e)) from None
    finally:
        acc.close()
    ctx.stdout.write(f"exported {res.messages} messages from {res.mailboxes} mailboxes to {dst}\n")
    return 0


def _backup(ctx: Context, args: list[str]) -> int:
    from app.store import backup

    verbose = "-verbose" in args
    rest = [a for a in args if a != "-verbose"]
    if len(rest) != 1:
        raise UsageError("usage: backup [-verbose] DESTDIR")
    dest = Path(os.path.abspath(rest[0]))
    cfg = load_config(ctx)
    handled, _ = server_call(ctx, cfg, "backup", [str(dest)] + (["verbose"] if verbose else []))
    if not handled:
        try:
            backup.backup(cfg.config_dir, cfg.data_dir, dest, ctx.stdout.write, verbose)
        except backup.BackupError as e:
            raise CommandError(str(e)) from None
    return 0


def _verifydata(ctx: Context, args: list[str]) -> int:
    from app.store.backup import verify_data

    fix = "-fix" in args
    # -skip-size-check is accepted for mox compatibility: message sizes cannot disagree with
    # message files here, the bytes live in the same database as their size.
    rest = [a for a in args if a not in ("-fix", "-skip-size-check")]
    if len(rest) != 1:
        raise UsageError("usage: verifydata [-fix] [-skip-size-check] DIR")
    problems = verify_data(Path(rest[0]), ctx.stdout.write, fix)
    for p in problems:
        ctx.stdout.write(f"problem: {p}\n")
    if problems:
        raise CommandError(f"{len(problems)} problems found")
    ctx.stdout.write("no problems found\n")
    return 0


def _maintenance(action: str, min_args: int, max_args: int) -> Callable[[Context, list[str]], int]:
    def run(ctx: Context, args: list[str]) -> int:
        if not min_args <= len(args) <= max_args:
            raise UsageError("wrong number of arguments")
        account = args[0] if args else None
        mailbox = args[1] if len(args) > 1 else None
        out = with_admin(ctx, action, list(args), lambda a: a.maintenance(action, account, mailbox))
        if isinstance(out, str):
            ctx.stdout.write(out)
        return 0

    return run


COMMANDS: list[Command] = [
    Command(("import",), _import, "Import an mbox file or maildir into a mailbox", "import mbox|maildir ACCOUNT MAILBOX PATH"),
    Command(("ximport",), _ximport, "Import directly into an account database (server not running)", "ximport mbox|maildir ACCOUNTDIR MAILBOX PATH"),
    Command(("export",), _export, "Export mailboxes to mbox files or maildirs", "export mbox|maildir [-single] DSTDIR ACCOUNTDIR [MAILBOX]"),
    Command(("backup",), _backup, "Consistent copy of the config and every database", "backup [-verbose] DESTDIR"),
    Command(("verifydata",), _verifydata, "Check the databases of a data or backup directory", "verifydata [-fix] [-skip-size-check] DIR"),
    Command(("setaccountpassword",), _setaccountpassword, "Set an account's password", "setaccountpassword ACCOUNT"),
    Command(("setadminpassword",), _setadminpassword, "Set the admin web interface password", "setadminpassword"),
    Command(("recalculatemailboxcounts",), _maintenance("recalculatemailboxcounts", 1, 1), "Recompute message counts and sizes of all mailboxes", "recalculatemailboxcounts ACCOUNT"),
    Command(("bumpuidvalidity",), _maintenance("bumpuidvalidity", 1, 2), "Change UIDVALIDITY so IMAP clients resynchronize", "bumpuidvalidity ACCOUNT [MAILBOX]"),
    Command(("reassignuids",), _maintenance("reassignuids", 1, 2), "Give messages new UIDs (bumps UIDVALIDITY)", "reassignuids ACCOUNT [MAILBOXID]"),
    Command(("fixuidmeta",), _maintenance("fixuidmeta", 1, 1), "Repair UIDNEXT/UIDVALIDITY of mailboxes", "fixuidmeta ACCOUNT"),
    Command(("reassignthreads",), _maintenance("reassignthreads", 0, 1), "Recompute message threads", "reassignthreads [ACCOUNT]"),
]  # fmt: skip
