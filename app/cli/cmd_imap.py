"""IMAP subcommands: ``admin imapserve ADDRESS`` serves a preauthenticated IMAP session for the
account of ADDRESS on stdin/stdout (for migrations over ssh)."""

from __future__ import annotations

from typing import Any

from app.cli.command import Command, CommandError, Context, UsageError


def imapserve(ctx: Context, args: list[str]) -> int:
    """Through the running server's control socket when it runs (so IDLE/NOTIFY sessions see
    the changes, as in mox); with the server stopped, on the store directly."""
    if len(args) != 1 or "@" not in args[0]:
        raise UsageError("admin imapserve address")
    import sys

    from app import config
    from app.ctl.client import pipe
    from app.ctl.protocol import CtlError

    try:
        cfg = config.load(ctx.config_path)
    except config.ConfigError as e:
        raise CommandError(f"loading config: {e}")
    localpart, _, domain = args[0].rpartition("@")
    match = cfg.lookup_address(localpart, domain)
    if match is None:
        raise CommandError(f"no account for address {args[0]}")
    sock = cfg.data_dir / "ctl"
    if sock.exists():
        try:
            pipe(sock, "imapserve", [args[0]], sys.stdin.buffer, sys.stdout.buffer)
            return 0
        except CtlError as e:
            if "cannot connect" not in str(e):
                raise CommandError(str(e)) from None
            # A stale socket of a server that is gone: serve from the store below.
    _serve_direct(cfg, match.account, args[0])
    return 0


def _serve_direct(cfg: Any, account: str, login: str) -> None:
    import sys

    from app import runtime
    from app.imapserver import IMAPDeps
    from app.imapserver.preauth import serve_pipes
    from app.store import Store

    store = Store(cfg.data_dir)
    deps = IMAPDeps(store=store, config=cfg, hostname=cfg.static.Hostname or "localhost")
    loop = runtime.new_event_loop()
    try:
        loop.run_until_complete(serve_pipes(deps, account, login, sys.stdin.buffer, sys.stdout.buffer))
    finally:
        loop.close()
        store.close()


COMMANDS: list[Command] = [
    Command(
        ("admin", "imapserve"),
        imapserve,
        "Serve a preauthenticated IMAP session for an account on stdin/stdout.",
        "admin imapserve address",
    ),
]
