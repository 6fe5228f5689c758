"""The command table: which commands are allowed in which session state (RFC 5321 section
4.1.4 ordering), and the handler for each. Client input is only ever used as a key into these
explicit tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.smtp import codes as c
from app.smtp.command import Command
from app.smtp.reply import SMTPError
from app.smtpserver import cmd_auth, cmd_mail, cmd_session, data
from app.smtpserver.session import Session

Handler = Callable[[Session, Command], Awaitable[None]]

_COMMON: dict[str, Handler] = {
    "EHLO": cmd_session.ehlo,
    "HELO": cmd_session.helo,
    "RSET": cmd_session.rset,
    "NOOP": cmd_session.noop,
    "QUIT": cmd_session.quit,
    "VRFY": cmd_session.vrfy,
    "EXPN": cmd_session.expn,
    "HELP": cmd_session.help_,
}

TABLE: dict[str, dict[str, Handler]] = {
    # BDAT is accepted everywhere so its chunk is always read (RFC 3030 section 4.2); the
    # handler itself answers 503 outside a transaction.
    "init": {**_COMMON, "BDAT": data.bdat},
    "ready": {
        **_COMMON,
        "STARTTLS": cmd_session.starttls,
        "AUTH": cmd_auth.auth,
        "MAIL": cmd_mail.mail,
        "BDAT": data.bdat,
    },
    "mail": {
        **_COMMON,
        "STARTTLS": cmd_session.starttls,
        "RCPT": cmd_mail.rcpt,
        "DATA": data.data,
        "BDAT": data.bdat,
    },
}

KNOWN = frozenset(v for table in TABLE.values() for v in table)

# Why a known command is not allowed in a state (RFC 5321 section 4.1.4: 503).
_SEQUENCE_TEXT: dict[tuple[str, str], str] = {
    ("init", "MAIL"): "no ehlo/helo yet",
    ("init", "AUTH"): "no ehlo/helo yet",
    ("init", "RCPT"): "no ehlo/helo yet",
    ("init", "DATA"): "no ehlo/helo yet",
    ("init", "STARTTLS"): "no ehlo/helo yet",
    ("ready", "RCPT"): "missing MAIL FROM",
    ("ready", "DATA"): "missing MAIL FROM",
    ("mail", "MAIL"): "already have MAIL",
    ("mail", "AUTH"): "authentication not allowed during mail transaction",
}


def handler_for(s: Session, cmd: Command) -> Handler:
    """The handler for a command in the session's state; raises 500/503 otherwise."""
    if cmd.verb not in KNOWN:
        raise SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_CMD1, "unknown command")
    h = TABLE[s.state].get(cmd.verb)
    if h is None:
        text = _SEQUENCE_TEXT.get((s.state, cmd.verb), "bad sequence of commands")
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, text)
    return h
