"""The table of subcommand modules. Each module exports ``COMMANDS: list[Command]``.

Modules are imported when the CLI looks up a command; they keep heavy imports inside
their functions, so importing all of them stays cheap.
"""

from __future__ import annotations

import importlib

from app.cli.command import Command

MODULES = [
    "app.cli.cmd_base",  # help, version
    "app.cli.cmd_serve",  # serve, localserve
    "app.cli.cmd_config",  # config test/describe-*, config account/address/domain/alias/tlspubkey
    "app.cli.cmd_message",  # message parse
    "app.cli.cmd_store",  # import, export, backup, verifydata, setaccountpassword, mailbox maintenance
    "app.cli.cmd_auth",  # spf, dkim, dmarc, dnsbl, dns, mtasts, tlsrpt
    "app.cli.cmd_queue",  # queue ..., sendmail
    "app.cli.cmd_smtp",  # cid, smtp dial
    "app.cli.cmd_imap",  # admin imapserve
    "app.cli.cmd_accounts",  # config account/address/domain/alias/tlspubkey, setaccountpassword
]


def all_commands() -> list[Command]:
    """Every registered command, in table order."""
    out: list[Command] = []
    for name in MODULES:
        mod = importlib.import_module(name)
        out.extend(getattr(mod, "COMMANDS", []))
    return out


def find(args: list[str]) -> tuple[Command, list[str]] | None:
    """The command whose words are the longest prefix of args, and the remaining args."""
    best: Command | None = None
    for cmd in all_commands():
        n = len(cmd.words)
        if tuple(args[:n]) == cmd.words and (best is None or n > len(best.words)):
            best = cmd
    if best is None:
        return None
    return best, args[len(best.words) :]
