"""Encoding IMAP response data (RFC 9051 section 4 and 9): atoms, quoted strings, literals,
NIL and parenthesized lists, choosing the smallest correct form.

All functions return bytes ready to write. ``utf8`` says whether the client may receive UTF-8
in quoted strings (IMAP4rev2 or UTF8=ACCEPT enabled); otherwise non-ASCII text is sent as a
literal.
"""

from __future__ import annotations

from collections.abc import Iterable

_ATOM_SAFE = frozenset(
    b"!#&'+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[^_`abcdefghijklmnopqrstuvwxyz|}~"
)
_QUOTE_MAX = 1024


def literal(data: bytes, binary: bool = False) -> bytes:
    """``{n}CRLF`` followed by the data (``~{n}`` for BINARY data with NUL bytes, RFC 3516).

    A plain literal cannot carry NUL (RFC 9051 section 9: ``literal = ... *CHAR8``, CHAR8
    excludes %x00), so outside literal8 a NUL octet is sent as 0x80, as Dovecot does; the size
    stays the same. Clients wanting the exact octets of binary content use FETCH BINARY.
    """
    if binary:
        return b"~{" + str(len(data)).encode() + b"}\r\n" + data
    if b"\x00" in data:
        data = data.replace(b"\x00", b"\x80")
    return b"{" + str(len(data)).encode() + b"}\r\n" + data


def _quotable(data: bytes, utf8: bool) -> bool:
    if len(data) > _QUOTE_MAX:
        return False
    for c in data:
        if c in (0x00, 0x0A, 0x0D):
            return False
        if c >= 0x80 and not utf8:
            return False
    return True


def quoted(data: bytes) -> bytes:
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def string(value: str | bytes, utf8: bool = True) -> bytes:
    """A string: quoted when possible, otherwise a literal."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if _quotable(data, utf8):
        return quoted(data)
    return literal(data)


def nstring(value: str | bytes | None, utf8: bool = True) -> bytes:
    return b"NIL" if value is None else string(value, utf8)


def astring(value: str | bytes, utf8: bool = True) -> bytes:
    """An atom when the value is a safe non-empty atom (and not NIL), else a string."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if data and data.upper() != b"NIL" and all(c in _ATOM_SAFE for c in data):
        return data
    return string(data, utf8)


def number(n: int) -> bytes:
    return str(n).encode()


def plist(items: Iterable[bytes]) -> bytes:
    """A parenthesized list of already encoded items."""
    return b"(" + b" ".join(items) + b")"


def atoms(items: Iterable[str]) -> bytes:
    """A parenthesized list of atoms such as flags."""
    return plist(s.encode("utf-8") for s in items)
