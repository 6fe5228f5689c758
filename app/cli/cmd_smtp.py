"""SMTP subcommands: ``moxpy cid ID`` turns the id of a Received header back into the
connection id that the server's log lines carry (``cid=...``)."""

from __future__ import annotations

from app.cli.command import Command, CommandError, Context, UsageError


def cmd_cid(ctx: Context, args: list[str]) -> int:
    if len(args) != 1:
        raise UsageError("")
    from pathlib import Path

    from app.config import ConfigError, load
    from app.smtpserver.recvid import KEY_FILE, RecvID, RecvIDError

    try:
        cfg = load(ctx.config_path)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    key_path = Path(cfg.data_dir) / KEY_FILE
    try:
        key = key_path.read_bytes()
    except OSError as e:
        raise CommandError(f"reading {key_path}: {e.strerror or e}") from None
    if len(key) != 16:
        raise CommandError(f"{key_path}: bad key length {len(key)}")
    try:
        cid = RecvID(key).decode(args[0])
    except RecvIDError as e:
        raise CommandError(f"decoding id: {e}") from None
    ctx.stdout.write(f"{cid:x}\n")
    return 0


COMMANDS: list[Command] = [
    Command(
        ("cid",),
        cmd_cid,
        "Turn the id of a Received header into the connection id (cid) of the log lines.",
        "ID",
    ),
]
