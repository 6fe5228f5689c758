"""Subcommands for the outgoing queue (``queue ...``, talking to the running server over the
control socket), ``sendmail`` (submitting a message from a local program to the configured
server) and ``config describe-sendmail``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any, NoReturn

from app.cli.command import Command, CommandError, Context, UsageError

FILTER_HELP = (
    "[-ids 1,2] [-account name] [-from addr|@domain] [-to addr|@domain] [-hold true|false] "
    "[-submitted <D|>D] [-nextattempt <D|>D] [-transport name] [-n max]"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser(filters: bool = True) -> _Parser:
    p = _Parser(add_help=False, prog="moxpy queue")
    if filters:
        p.add_argument("-ids", default="")
        p.add_argument("-account", default="")
        p.add_argument("-from", dest="from_", default="")
        p.add_argument("-to", default="")
        p.add_argument("-hold", default=None, choices=["true", "false"])
        p.add_argument("-submitted", default="")
        p.add_argument("-nextattempt", default="")
        p.add_argument("-transport", default=None)
        p.add_argument("-n", type=int, default=0)
    return p


def _filter(ns: argparse.Namespace) -> dict[str, Any]:
    try:
        ids = [int(x) for x in ns.ids.split(",") if x.strip()]
    except ValueError:
        raise UsageError("-ids takes comma-separated numbers") from None
    return {
        "ids": ids,
        "account": ns.account,
        "from": ns.from_,
        "to": ns.to,
        "hold": None if ns.hold is None else ns.hold == "true",
        "submitted": ns.submitted,
        "nextattempt": ns.nextattempt,
        "transport": ns.transport,
        "n": ns.n,
    }


def _ctl(ctx: Context, cmd: str, args: list[Any], out: IO[str] | None = None) -> Any:
    from app.config import ConfigError, load
    from app.ctl.client import call
    from app.ctl.protocol import CtlError

    try:
        cfg = load(ctx.config_path)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    try:
        return call(cfg.data_dir / "ctl", cmd, args, out or ctx.stdout)
    except (CtlError, OSError) as e:
        raise CommandError(str(e)) from None


def _filter_cmd(ctl_cmd: str, extra: list[str] | None = None) -> Any:
    def run(ctx: Context, args: list[str]) -> int:
        p = _parser()
        for name in extra or []:
            p.add_argument(name)
        ns = p.parse_args(args)
        rest = [getattr(ns, n) for n in extra or []]
        n = _ctl(ctx, ctl_cmd, [_filter(ns), *rest])
        ctx.stdout.write(f"{n} message(s) updated\n")
        return 0

    return run


def cmd_list(ctx: Context, args: list[str]) -> int:
    p = _parser()
    p.add_argument("-sort", default="nextattempt", choices=["nextattempt", "queued"])
    p.add_argument("-asc", action="store_true")
    ns = p.parse_args(args)
    _ctl(ctx, "queue.list", [_filter(ns), ns.sort, ns.asc])
    return 0


def cmd_schedule(ctx: Context, args: list[str]) -> int:
    p = _parser()
    p.add_argument("-now", action="store_true")
    p.add_argument("duration")
    ns = p.parse_args(args)
    n = _ctl(ctx, "queue.schedule", [_filter(ns), ns.duration, ns.now])
    ctx.stdout.write(f"{n} message(s) rescheduled\n")
    return 0


def cmd_dump(ctx: Context, args: list[str]) -> int:
    import base64
    import io

    if len(args) != 1 or not args[0].isdigit():
        raise UsageError("need one message id")
    collected = io.StringIO()
    _ctl(ctx, "queue.dump", [int(args[0])], collected)
    data = base64.b64decode(collected.getvalue())
    out = getattr(ctx.stdout, "buffer", None)
    if out is not None:
        ctx.stdout.flush()
        out.write(data)
        out.flush()
    else:
        ctx.stdout.write(data.decode("utf-8", "replace"))
    return 0


def cmd_holdrules_list(ctx: Context, args: list[str]) -> int:
    if args:
        raise UsageError("")
    rules = _ctl(ctx, "queue.holdrules.list", [])
    if not rules:
        ctx.stdout.write("(none)\n")
    for r in rules:
        parts = [f"{k}:{r[k]}" for k in ("account", "sender_domain", "recipient_domain") if r[k]]
        ctx.stdout.write(f"{r['id']} {' '.join(parts) or '(all messages)'}\n")
    return 0


def cmd_holdrules_add(ctx: Context, args: list[str]) -> int:
    p = _parser(False)
    p.add_argument("-account", default="")
    p.add_argument("-senderdom", default="")
    p.add_argument("-recipientdom", default="")
    ns = p.parse_args(args)
    r = _ctl(ctx, "queue.holdrules.add", [ns.account, ns.senderdom, ns.recipientdom])
    ctx.stdout.write(f"hold rule {r['id']} added\n")
    return 0


def cmd_holdrules_remove(ctx: Context, args: list[str]) -> int:
    if len(args) != 1 or not args[0].isdigit():
        raise UsageError("need one rule id")
    _ctl(ctx, "queue.holdrules.remove", [int(args[0])])
    return 0


def cmd_retired_list(ctx: Context, args: list[str]) -> int:
    p = _parser()
    p.add_argument("-asc", action="store_true")
    ns = p.parse_args(args)
    _ctl(ctx, "queue.retired.list", [_filter(ns), ns.asc])
    return 0


def cmd_retired_print(ctx: Context, args: list[str]) -> int:
    if len(args) != 1 or not args[0].isdigit():
        raise UsageError("need one message id")
    ctx.stdout.write(json.dumps(_ctl(ctx, "queue.retired.print", [int(args[0])]), indent="\t") + "\n")
    return 0


def cmd_suppress_list(ctx: Context, args: list[str]) -> int:
    p = _parser(False)
    p.add_argument("-account", default="")
    ns = p.parse_args(args)
    rows = _ctl(ctx, "queue.suppress.list", [ns.account])
    if not rows:
        ctx.stdout.write("(none)\n")
    for s in rows:
        manual = "manual" if s["manual"] else "automatic"
        ctx.stdout.write(
            f"{s['account']} {s['base_address']} ({s['original_address']}) {manual} {json.dumps(s['reason'])}\n"
        )
    return 0


def cmd_suppress_add(ctx: Context, args: list[str]) -> int:
    if len(args) != 2:
        raise UsageError("need account and address")
    _ctl(ctx, "queue.suppress.add", args)
    return 0


def cmd_suppress_remove(ctx: Context, args: list[str]) -> int:
    if len(args) != 2:
        raise UsageError("need account and address")
    _ctl(ctx, "queue.suppress.remove", args)
    return 0


def cmd_suppress_lookup(ctx: Context, args: list[str]) -> int:
    p = _parser(False)
    p.add_argument("-account", default="")
    p.add_argument("address")
    ns = p.parse_args(args)
    s = _ctl(ctx, "queue.suppress.lookup", [ns.account, ns.address])
    if s is None:
        ctx.stdout.write("not present\n")
    else:
        ctx.stdout.write(f"present in account {s['account']}: {json.dumps(s['reason'])}\n")
    return 0


def cmd_describe_sendmail(ctx: Context, args: list[str]) -> int:
    from app.smtpclient.submit import describe_sendmail

    if args:
        raise UsageError("")
    ctx.stdout.write(describe_sendmail())
    return 0


SUBMIT_CONF = Path("/etc/moxsubmit.conf")


def cmd_sendmail(ctx: Context, args: list[str]) -> int:
    """Like /usr/sbin/sendmail: message on stdin, recipients as arguments or with -t from the
    headers; unknown sendmail flags are ignored, as mox does."""
    import asyncio
    import os

    from app.config import ConfigError
    from app.smtpclient.reply import SMTPClientError
    from app.smtpclient.submit import load_conf, prepare, submit

    read_headers = False
    mail_from = ""
    full_name = ""
    rcpts: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-t":
            read_headers = True
        elif a.startswith("-f") or a.startswith("-F"):
            v = a[2:]
            if not v:
                i += 1
                v = args[i] if i < len(args) else ""
            if a.startswith("-f"):
                mail_from = v
            else:
                full_name = v
        elif a in ("-o", "-O", "-B", "-N", "-R", "-V", "-X", "-p", "-q", "-L", "-C"):
            i += 1  # flags with a value we ignore
        elif a.startswith("-"):
            pass  # -i, -oi, -odb, -bm, ... ignored
        else:
            rcpts.append(a)
        i += 1
    conf_path = Path(os.environ.get("MOXSUBMITCONF") or SUBMIT_CONF)
    try:
        conf = load_conf(conf_path.read_text(), str(conf_path))
    except (OSError, ConfigError) as e:
        raise CommandError(f"reading {conf_path}: {e}") from None
    stdin = getattr(ctx.stdin, "buffer", None)
    data = stdin.read() if stdin is not None else ctx.stdin.read().encode()
    if data.startswith(b"From ") and not data.startswith(b"From: "):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""  # mbox separator line
    try:
        sender, to, msg = prepare(conf, data, rcpts, read_headers, mail_from, full_name)
        asyncio.run(submit(conf, sender, to, msg))
    except SMTPClientError as e:
        _save_failure(data)
        raise CommandError(f"submitting message: {e}") from None
    return 0


def _save_failure(data: bytes) -> None:
    """Keep an undeliverable message in ~/moxsubmit.failures (mbox style), as mox does."""
    import time

    try:
        path = Path.home() / "moxsubmit.failures"
        with open(path, "ab") as f:
            f.write(
                b"From MAILER-DAEMON "
                + time.asctime().encode()
                + b"\n"
                + data.replace(b"\r\n", b"\n")
                + b"\n"
            )
        sys.stderr.write(f"message saved to {path}\n")
    except OSError:
        pass


COMMANDS: list[Command] = [
    Command(
        ("queue", "list"),
        cmd_list,
        "List matching messages in the delivery queue.",
        FILTER_HELP + " [-sort nextattempt|queued] [-asc]",
    ),
    Command(("queue", "hold"), _filter_cmd("queue.hold"), "Mark matching messages on hold.", FILTER_HELP),
    Command(
        ("queue", "unhold"), _filter_cmd("queue.unhold"), "Mark matching messages off hold.", FILTER_HELP
    ),
    Command(
        ("queue", "schedule"),
        cmd_schedule,
        "Change next delivery attempt for matching messages.",
        FILTER_HELP + " [-now] duration",
    ),
    Command(
        ("queue", "transport"),
        _filter_cmd("queue.transport", ["transport"]),
        "Set transport for matching messages.",
        FILTER_HELP + " transport",
    ),
    Command(
        ("queue", "requiretls"),
        _filter_cmd("queue.requiretls", ["requiretls"]),
        "Set TLS requirements for delivery of matching messages.",
        FILTER_HELP + " yes|no|default",
    ),
    Command(
        ("queue", "fail"),
        _filter_cmd("queue.fail"),
        "Fail delivery of matching messages, delivering DSNs.",
        FILTER_HELP,
    ),
    Command(
        ("queue", "drop"), _filter_cmd("queue.drop"), "Remove matching messages from the queue.", FILTER_HELP
    ),
    Command(("queue", "dump"), cmd_dump, "Dump a message from the queue.", "id"),
    Command(("queue", "holdrules", "list"), cmd_holdrules_list, "List hold rules for the delivery queue."),
    Command(
        ("queue", "holdrules", "add"),
        cmd_holdrules_add,
        "Add hold rule for the delivery queue.",
        "[-account name] [-senderdom domain] [-recipientdom domain]",
    ),
    Command(
        ("queue", "holdrules", "remove"),
        cmd_holdrules_remove,
        "Remove hold rule for the delivery queue.",
        "ruleid",
    ),
    Command(
        ("queue", "retired", "list"),
        cmd_retired_list,
        "List matching messages in the retired queue.",
        FILTER_HELP + " [-asc]",
    ),
    Command(
        ("queue", "retired", "print"), cmd_retired_print, "Print a message from the retired queue.", "id"
    ),
    Command(
        ("queue", "suppress", "list"),
        cmd_suppress_list,
        "Print addresses in suppression list.",
        "[-account name]",
    ),
    Command(
        ("queue", "suppress", "add"),
        cmd_suppress_add,
        "Add address to suppression list for account.",
        "account address",
    ),
    Command(
        ("queue", "suppress", "remove"),
        cmd_suppress_remove,
        "Remove address from suppression list for account.",
        "account address",
    ),
    Command(
        ("queue", "suppress", "lookup"),
        cmd_suppress_lookup,
        "Check if address is present in suppression list, for any or specific account.",
        "[-account name] address",
    ),
    Command(
        ("sendmail",),
        cmd_sendmail,
        "Drop-in for /usr/sbin/sendmail: submit a message from stdin to the configured server (/etc/moxsubmit.conf).",
        "[-t] [-f from] [-F name] [ignoredflags] [recipient ...]",
    ),
    Command(
        ("config", "describe-sendmail"),
        cmd_describe_sendmail,
        "Describe configuration for moxpy when invoked as sendmail (>/etc/moxsubmit.conf).",
    ),
]
