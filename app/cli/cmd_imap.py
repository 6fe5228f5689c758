"""IMAP subcommands: ``admin imapserve ADDRESS`` serves a preauthenticated IMAP session for the
account of ADDRESS on stdin/stdout (for migrations over ssh)."""

from __future__ import annotations

from app.cli.command import Command, CommandError, Context, UsageError


def imapserve(ctx: Context, args: list[str]) -> int:
    if len(args) != 1 or "@" not in args[0]:
        raise UsageError("admin imapserve address")
    import sys

    from app import config, runtime
    from app.imapserver import IMAPDeps
    from app.imapserver.preauth import serve_pipes
    from app.store import Store

    try:
        cfg = config.load(ctx.config_path)
    except config.ConfigError as e:
        raise CommandError(f"loading config: {e}")
    localpart, _, domain = args[0].rpartition("@")
    match = cfg.lookup_address(localpart, domain)
    if match is None:
        raise CommandError(f"no account for address {args[0]}")
    store = Store(cfg.data_dir)
    deps = IMAPDeps(store=store, config=cfg, hostname=cfg.static.Hostname or "localhost")
    loop = runtime.new_event_loop()
    try:
        loop.run_until_complete(
            serve_pipes(deps, match.account, args[0], sys.stdin.buffer, sys.stdout.buffer)
        )
    finally:
        loop.close()
        store.close()
    return 0


COMMANDS: list[Command] = [
    Command(
        ("admin", "imapserve"),
        imapserve,
        "Serve a preauthenticated IMAP session for an account on stdin/stdout.",
        "admin imapserve address",
    ),
]
