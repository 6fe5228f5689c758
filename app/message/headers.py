"""Header fields on raw message bytes: iteration, lookup, unfolding and folding (RFC 5322 2.2).

Lookups work directly on the message buffer between two offsets (a part's header section), with
compiled regular expressions given ``pos``/``endpos``, so a 10 MB header is never copied whole
except for the field asked for. Names compare case-insensitively. Values come back undecoded
(no RFC 2047); use ``app.message.encoded`` for that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.message.encoded import header_text
from app.message.part import Buffer, Part

# One field: name, optional WSP (obsolete syntax), colon, value with continuation lines.
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:([^\n]*+(?:\n[ \t][^\n]*+)*+)(?:\n|\Z)", re.M)
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def raw_fields(data: Buffer, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(lower-case name, field start, field end including the line ending) for each field."""
    for m in _FIELD.finditer(data, start, end):
        yield m.group(1).decode("ascii").lower(), m.start(), m.end()


def iter_fields(data: Buffer, start: int, end: int) -> Iterator[tuple[str, bytes]]:
    """(name as written, raw value bytes after the colon, folding kept, no final CRLF)."""
    for m in _FIELD.finditer(data, start, end):
        v: bytes = m.group(2)
        if v.endswith(b"\r"):
            v = v[:-1]
        yield m.group(1).decode("ascii"), v


def unfold(s: str) -> str:
    """Remove the CRLF of folded lines (RFC 5322 2.2.3), keeping the whitespace after them."""
    return _FOLD.sub("", s) if "\n" in s else s


def header_values(data: Buffer, part: Part, name: str) -> list[str]:
    """Unfolded, stripped values of every field ``name`` in the part's header, in order."""
    want = name.lower().encode("ascii")
    out: list[str] = []
    for n, v in iter_fields(data, part.header_start, part.body_start):
        if n.lower().encode("ascii") == want:
            out.append(unfold(header_text(v)).strip())
    return out


def first_values(data: Buffer, part: Part, names: set[str]) -> dict[str, str]:
    """The first value of each of the (lower-case) ``names`` present, in one pass over the header."""
    out: dict[str, str] = {}
    for m in _FIELD.finditer(data, part.header_start, part.body_start):
        n = m.group(1).decode("ascii").lower()
        if n in names and n not in out:
            v: bytes = m.group(2)
            out[n] = unfold(header_text(v.removesuffix(b"\r"))).strip()
    return out


def header_value(data: Buffer, part: Part, name: str) -> str | None:
    """The first value of field ``name``, unfolded and stripped, or None."""
    vals = header_values(data, part, name)
    return vals[0] if vals else None


class HeaderInjection(ValueError):
    """A header name or value given by a caller contains CR or LF (or NUL)."""


def fold(name: str, value: str, maxlen: int = 78) -> str:
    """``Name: value\\r\\n`` folded at spaces so that lines stay within ``maxlen`` when possible.

    Raises HeaderInjection when the name or value holds CR, LF or NUL.
    """
    for s in (name, value):
        if "\r" in s or "\n" in s or "\0" in s:
            raise HeaderInjection(f"line break in header {name[:40]!r}")
    words = value.split(" ")
    lines: list[str] = []
    cur = name + ":"
    for w in words:
        if w and len(cur) + 1 + len(w) > maxlen and cur != name + ":":
            lines.append(cur)
            cur = " " + w
        else:
            cur += " " + w
    lines.append(cur)
    return "\r\n".join(lines) + "\r\n"


def needs_smtputf8(data: Buffer, part: Part) -> bool:
    """Whether any header section of the message holds non-ASCII (RFC 6532 UTF-8 headers), so it
    can only be sent with SMTPUTF8 (RFC 6531)."""
    return any(not bytes(data[p.header_start : p.body_start]).isascii() for p in part.walk())
