"""Control-socket handlers for the store-admin commands, run inside the server so that the
server's own Config, Store and AuthDB stay consistent (open account databases, live
domains.conf snapshot). The composition root registers them::

    for cmd, h in ctl_handlers.handlers(store, config, authdb).items():
        ctl_server.register(cmd, h)

Every blocking step runs in the bounded executor. Errors the administrator should read are
raised as CtlError; the control server reports anything else as an internal error.

Commands (arguments are strings): import KIND ACCOUNT MAILBOX PATH;
backup DESTDIR [verbose]; setaccountpassword ACCOUNT PASSWORD; accountadd NAME ADDRESS; accountrm NAME;
accountdisable NAME MESSAGE; accountenable NAME; addressadd ADDRESS ACCOUNT; addressrm ADDRESS;
domainadd DOMAIN ACCOUNT [LOCALPART [disabled]]; domainrm/domaindisable/domainenable DOMAIN;
aliasadd ADDRESS MEMBER...; aliasupdate ADDRESS POSTPUBLIC LISTMEMBERS ALLOWMSGFROM ("" keeps);
aliasrm ADDRESS; aliasaddaddr/aliasrmaddr ADDRESS MEMBER...; recalculatemailboxcounts,
bumpuidvalidity, reassignuids, fixuidmeta, reassignthreads ACCOUNT [MAILBOX].
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app.config.config import Config
from app.ctl.protocol import CtlError
from app.ctl.server import Request
from app.runtime import run_blocking
from app.store import backup as backup_mod
from app.store.accounts_admin import Admin, AdminError
from app.store.authdb import AuthDB, open_authdb
from app.store.errors import ImportAborted, SourceError, StoreError
from app.store.store import Store

Handler = Callable[[Request], Awaitable[Any]]

MAINTENANCE = ("recalculatemailboxcounts", "bumpuidvalidity", "reassignuids", "fixuidmeta", "reassignthreads")


def _args(req: Request, n_min: int, n_max: int | None = None) -> list[str]:
    args = [str(a) for a in req.args]
    if len(args) < n_min or (n_max is not None and len(args) > n_max):
        raise CtlError(f"{req.cmd}: wrong number of arguments")
    return args


def _bool_or_none(s: str) -> bool | None:
    if s == "":
        return None
    if s in ("true", "false"):
        return s == "true"
    raise CtlError(f"expected true or false, not {s!r}")


def handlers(store: Store, config: Config, authdb: AuthDB | None = None) -> dict[str, Handler]:
    """The handler table. Pass the server's AuthDB; without one, auth.db is opened here."""
    admin = Admin(config, store, authdb or open_authdb(config.data_dir))

    async def call(fn: Callable[[], Any]) -> Any:
        try:
            return await run_blocking(fn)
        except (AdminError, StoreError, SourceError, backup_mod.BackupError) as exc:
            raise CtlError(str(exc)) from None

    async def h_import(req: Request) -> Any:
        kind, account, mailbox, path = _args(req, 4, 4)
        if kind not in ("mbox", "maildir"):
            raise CtlError("kind must be mbox or maildir")
        if config.account(account) is None:
            raise CtlError(f"account {account!r} does not exist")
        loop = asyncio.get_running_loop()
        abort = threading.Event()

        def progress(n: int) -> None:
            fut = asyncio.run_coroutine_threadsafe(req.write(f"{n} messages imported\n"), loop)
            try:
                fut.result(timeout=60)
            except Exception:
                abort.set()  # the client went away: abort, which removes what was imported

        def run() -> Any:
            from app.store import importer  # the import machinery loads only when used

            acc = store.account(account, create=True)
            res = importer.import_path(acc, kind, mailbox, Path(path), progress=progress, abort=abort)  # type: ignore[arg-type]
            return {"mailbox": res.mailbox, "count": res.count}

        try:
            return await call(run)
        except ImportAborted:
            raise CtlError("import aborted, imported messages removed") from None

    async def h_backup(req: Request) -> Any:
        args = _args(req, 1, 2)
        dest, verbose = args[0], len(args) > 1 and args[1] == "verbose"
        loop = asyncio.get_running_loop()

        def log(text: str) -> None:
            asyncio.run_coroutine_threadsafe(req.write(text), loop).result(timeout=60)

        res = await call(
            lambda: backup_mod.backup(config.config_dir, config.data_dir, Path(dest), log, verbose)
        )
        return {"databases": res.databases, "files": res.files}

    async def h_setpassword(req: Request) -> Any:
        account, password = _args(req, 2, 2)
        await call(lambda: admin.set_password(account, password))

    def simple(n_min: int, n_max: int | None, fn: Callable[[list[str]], Any]) -> Handler:
        async def h(req: Request) -> Any:
            args = _args(req, n_min, n_max)
            return await call(lambda: fn(args))

        return h

    def maintenance(action: str) -> Handler:
        async def h(req: Request) -> Any:
            args = _args(req, 0 if action == "reassignthreads" else 1, 2)
            account = args[0] if args else None
            mailbox = args[1] if len(args) > 1 else None
            text = await call(lambda: admin.maintenance(action, account, mailbox))
            await req.write(text)

        return h

    table: dict[str, Handler] = {
        "import": h_import,
        "backup": h_backup,
        "setaccountpassword": h_setpassword,
        "accountadd": simple(2, 2, lambda a: admin.add_account(a[0], a[1])),
        "accountrm": simple(1, 1, lambda a: admin.remove_account(a[0])),
        "accountdisable": simple(2, 2, lambda a: admin.disable_account(a[0], a[1])),
        "accountenable": simple(1, 1, lambda a: admin.enable_account(a[0])),
        "addressadd": simple(2, 2, lambda a: admin.add_address(a[0], a[1])),
        "addressrm": simple(1, 1, lambda a: admin.remove_address(a[0])),
        "domainadd": simple(
            2,
            4,
            lambda a: admin.add_domain(
                a[0], a[1], a[2] if len(a) > 2 else "", len(a) > 3 and a[3] == "disabled"
            ),
        ),
        "domainrm": simple(1, 1, lambda a: admin.remove_domain(a[0])),
        "domaindisable": simple(1, 1, lambda a: admin.disable_domain(a[0])),
        "domainenable": simple(1, 1, lambda a: admin.enable_domain(a[0])),
        "aliasadd": simple(2, None, lambda a: admin.alias_add(a[0], a[1:])),
        "aliasupdate": simple(
            4,
            4,
            lambda a: admin.alias_update(a[0], _bool_or_none(a[1]), _bool_or_none(a[2]), _bool_or_none(a[3])),
        ),
        "aliasrm": simple(1, 1, lambda a: admin.alias_remove(a[0])),
        "aliasaddaddr": simple(2, None, lambda a: admin.alias_add_members(a[0], a[1:])),
        "aliasrmaddr": simple(2, None, lambda a: admin.alias_remove_members(a[0], a[1:])),
    }
    for action in MAINTENANCE:
        table[action] = maintenance(action)
    return table
