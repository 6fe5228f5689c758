"""``moxpy serve`` and ``moxpy localserve``: load the configuration, bind, drop privileges,
serve until SIGINT/SIGTERM. Configuration and bind errors are printed with file:line or the
listener and address, and the process exits non-zero without a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

from app.cli.command import Command, CommandError, Context, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(message)


def _load(path: Path) -> Any:
    from app.config import ConfigError, load

    try:
        return load(path)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    except FileNotFoundError as e:
        raise CommandError(f"{e.filename}: no such file") from None


def _configure_logging(config: Any, ctx: Context) -> None:
    from app import mlog

    level = ctx.loglevel or getattr(config.static, "LogLevel", "") or "info"
    pkgs = dict(getattr(config.static, "PackageLogLevels", None) or {})
    try:
        mlog.configure(level, pkgs)
    except ValueError as e:
        raise CommandError(str(e)) from None


def preload() -> None:
    """Import every server module before privileges are dropped: afterwards the interpreter's
    files may no longer be readable (an interpreter under /root, a pyz cache owned by root)."""
    import importlib
    import pkgutil

    import app

    for m in pkgutil.walk_packages(app.__path__, "app."):
        if not m.name.startswith("app.cli."):
            importlib.import_module(m.name)
    # Modules the standard library itself imports lazily on paths a server takes.
    for name in (
        "secrets",
        "hmac",
        "encodings.idna",
        "json",
        "zlib",
        "concurrent.futures.thread",
        "email.utils",
    ):
        importlib.import_module(name)


def run_server(config: Any, localserve: bool, resolver: Any = None, announce: str = "") -> int:
    """Bind, drop privileges (as root, not in localserve), then run until a signal arrives."""
    from app import mlog, runtime
    from app.listen.sockets import BindError
    from app.listen.tls import TLSConfigError
    from app.serve import Mox, Options

    log = mlog.get("serve")
    mox = Mox(config, Options(localserve=localserve, resolver=resolver))
    try:
        mox.load_tls()
        mox.bind()
    except (TLSConfigError, BindError) as e:
        raise CommandError(str(e)) from None
    if not localserve and sys.platform != "win32":
        from app.listen import posix

        if posix.is_root():
            preload()
            try:
                uid, gid = posix.lookup_user(str(getattr(config.static, "User", "") or "mox"))
                if not getattr(config.static, "NoFixPermissions", False):
                    posix.fix_ownership([config.data_dir, config.config_dir], uid, gid)
                posix.drop_privileges(uid, gid)
            except posix.PrivilegeError as e:
                raise CommandError(str(e)) from None

    loop = runtime.new_event_loop()

    async def main() -> None:
        # Signal handlers first: a SIGTERM during start-up still shuts down cleanly.
        if sys.platform != "win32":
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, mox.request_stop)
        else:
            signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(mox.request_stop))
        await mox.start()
        if announce:
            sys.stdout.write(announce)
            sys.stdout.flush()
        await mox.wait_stopped()
        log.info("shutting down")
        await mox.stop()

    try:
        loop.run_until_complete(main())
    finally:
        runtime.shutdown_pool()
        loop.close()
    return 0


def cmd_serve(ctx: Context, args: list[str]) -> int:
    if args:
        raise UsageError("serve takes no arguments")
    config = _load(ctx.config_path)
    _configure_logging(config, ctx)
    return run_server(config, localserve=False)


def _localserve_announce(d: Path, ip: str, static: Any) -> str:
    from app import localserve as ls

    lst = static.Listeners.get("local")
    lines = [f"moxpy localserve: config and data in {d}", "listening on:"]
    for label, attr in (
        ("smtp", "SMTP"),
        ("submission (starttls optional)", "Submission"),
        ("submissions (tls)", "Submissions"),
        ("imap (starttls optional)", "IMAP"),
        ("imaps (tls)", "IMAPS"),
    ):
        sec = getattr(lst, attr, None) if lst is not None else None
        if sec is not None and getattr(sec, "Enabled", False):
            lines.append(f"  {label:<32} {ip}:{sec.Port}")
    lines += [
        f"account: {ls.ACCOUNT}, login address {ls.ADDRESS}, password {ls.PASSWORD}",
        f"admin password: {ls.ADMIN_PASSWORD}",
        f"tls certificate (self-signed): {d / 'localhost.crt'}",
        "every message to any address is delivered to the account; stop with ctrl-c",
        "",
    ]
    return "\n".join(lines)


def cmd_localserve(ctx: Context, args: list[str]) -> int:
    from app import localserve as ls

    p = _Parser(prog="moxpy localserve", add_help=False)
    default_dir = os.environ.get("MOXPY_LOCALSERVE_DIR") or str(Path.home() / ".config" / "moxpy-localserve")
    p.add_argument("-dir", default=default_dir)
    p.add_argument("-ip", default="127.0.0.1")
    p.add_argument("-initonly", action="store_true")
    a = p.parse_args(args)
    d = Path(a.dir).resolve()
    try:
        created = ls.ensure_config(d, a.ip)
    except OSError as e:
        raise CommandError(f"writing localserve config in {d}: {e}") from None
    config = _load(d / "mox.conf")
    _configure_logging(config, ctx)
    ls.ensure_account(config)
    if created:
        sys.stdout.write(f"moxpy localserve: wrote new configuration to {d}\n")
    if a.initonly:
        return 0
    ip = a.ip
    return run_server(config, localserve=True, announce=_localserve_announce(d, ip, config.static))


COMMANDS: list[Command] = [
    Command(
        ("serve",), cmd_serve, "Start moxpy, serving SMTP, submission and IMAP as configured in mox.conf."
    ),
    Command(
        ("localserve",),
        cmd_localserve,
        "Start a local mail server for testing software that sends email; accepts every message.",
        "[-dir DIR] [-ip IP] [-initonly]",
    ),
]
