"""Pure IMAP wire format (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1 and extensions): no sockets.

- ``CommandReader``: feed bytes, get complete commands, continuation requests and limit events.
- ``Parser``: the grammar's building blocks for command arguments (``ParseError`` → BAD).
- ``NumSet``: sequence sets with "*" and "$".
- ``utf7``: modified UTF-7 mailbox names.
- ``search``: search-key tree; ``fetchatt``: FETCH data items and sections.
- ``writer``: encoding of strings, literals, NIL and lists in responses.
"""

from app.imap import fetchatt, search, utf7, writer
from app.imap.numset import NumSet, NumSetError, format_numbers
from app.imap.parser import ParseError, Parser, format_date, format_datetime
from app.imap.reader import Command, CommandReader, ContinuationNeeded, Event, Fatal, TooBig

__all__ = [
    "Command",
    "CommandReader",
    "ContinuationNeeded",
    "Event",
    "Fatal",
    "NumSet",
    "NumSetError",
    "ParseError",
    "Parser",
    "TooBig",
    "fetchatt",
    "format_date",
    "format_datetime",
    "format_numbers",
    "search",
    "utf7",
    "writer",
]
