"""Pure SMTP wire format (layer 0): reply codes, replies and ``SMTPError``, command and
parameter parsing, the DATA reader with SMTP smuggling detection and the h11-style server wire
state machine. No sockets, no asyncio. RFC 5321, RFC 1870, RFC 2034/3463, RFC 3030, RFC 6531.

``app/smtp/address.py`` (RFC 5322 addresses) is part of the message library.
"""

from __future__ import annotations

from app.smtp.command import (
    Command,
    MailArgs,
    Path,
    RcptArgs,
    parse_command,
    parse_ehlo_domain,
    parse_mail,
    parse_rcpt,
)
from app.smtp.data import DataReader, dot_stuff, normalize_chunked
from app.smtp.reply import Reply, SMTPError, format_reply
from app.smtp.wire import NEED_DATA, ChunkEnd, DataChunk, DataEnd, Line, LineTooLong, ServerWire

__all__ = [
    "NEED_DATA",
    "ChunkEnd",
    "Command",
    "DataChunk",
    "DataEnd",
    "DataReader",
    "Line",
    "LineTooLong",
    "MailArgs",
    "Path",
    "RcptArgs",
    "Reply",
    "SMTPError",
    "ServerWire",
    "dot_stuff",
    "format_reply",
    "normalize_chunked",
    "parse_command",
    "parse_ehlo_domain",
    "parse_mail",
    "parse_rcpt",
]
