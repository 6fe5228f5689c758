"""Parsing the arguments of one complete IMAP command (RFC 9051 section 9, formal syntax).

``Parser`` works on the bytes a ``CommandReader`` produced (literals inline in wire form) and
offers the grammar's building blocks; command handlers call them in the order their syntax
gives. Every syntax error raises ``ParseError``, which the server answers with tagged BAD.
"""

from __future__ import annotations

import datetime as dt

from app.imap.numset import NumSet, NumSetError

# RFC 9051 atom-specials: ( ) { SP CTL % * " \ ] ; ATOM-CHAR is any CHAR except those.
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
_ASTRING_EXTRA = frozenset(b"]")  # ASTRING-CHAR = ATOM-CHAR / resp-specials
_LIST_WILDCARDS = frozenset(b"%*")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


class ParseError(ValueError):
    """Syntax error in a command: answered with BAD. ``code`` is an optional response code."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def _is_atom_char(c: int) -> bool:
    return c > 0x20 and c != 0x7F and c not in _ATOM_SPECIALS


class Parser:
    """Cursor over a command's bytes. ``utf8`` allows UTF-8 in quoted strings and atoms."""

    def __init__(self, raw: bytes, utf8: bool = True) -> None:
        self.raw = raw
        self.pos = 0
        self.utf8 = utf8

    # Basics

    def error(self, msg: str) -> ParseError:
        return ParseError(f"{msg} at position {self.pos}")

    def at_end(self) -> bool:
        return self.pos >= len(self.raw)

    def end(self) -> None:
        if not self.at_end():
            raise self.error("unexpected data at end of command")

    def peek_byte(self) -> int:
        return self.raw[self.pos] if self.pos < len(self.raw) else -1

    def peek(self, s: bytes) -> bool:
        """Whether the input continues with s (case-insensitively)."""
        return self.raw[self.pos : self.pos + len(s)].upper() == s.upper()

    def take(self, s: bytes) -> bool:
        """Consume s (case-insensitively) if it is next."""
        if self.peek(s):
            self.pos += len(s)
            return True
        return False

    def expect(self, s: bytes) -> None:
        if not self.take(s):
            raise self.error(f"expected {s.decode()!r}")

    def sp(self) -> None:
        self.expect(b" ")

    def take_sp(self) -> bool:
        return self.take(b" ")

    # Tokens

    def tag(self) -> str:
        start = self.pos
        while self.pos < len(self.raw):
            c = self.raw[self.pos]
            if not (_is_atom_char(c) or c == 0x5D) or c == 0x2B:  # tag excludes "+"
                break
            self.pos += 1
        if self.pos == start:
            raise self.error("expected tag")
        return self.raw[start : self.pos].decode("ascii", "replace")

    def atom(self) -> str:
        start = self.pos
        while self.pos < len(self.raw) and _is_atom_char(self.raw[self.pos]):
            self.pos += 1
        if self.pos == start:
            raise self.error("expected atom")
        return self._decode(self.raw[start : self.pos])

    def atom_upper(self) -> str:
        return self.atom().upper()

    def _astring_atom(self) -> str:
        start = self.pos
        while self.pos < len(self.raw):
            c = self.raw[self.pos]
            if not (_is_atom_char(c) or c in _ASTRING_EXTRA):
                break
            self.pos += 1
        if self.pos == start:
            raise self.error("expected astring")
        return self._decode(self.raw[start : self.pos])

    def _decode(self, b: bytes) -> str:
        try:
            s = b.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("invalid UTF-8")
        if not self.utf8 and not s.isascii():
            raise self.error("non-ASCII data not allowed without UTF8=ACCEPT")
        return s

    def quoted_bytes(self) -> bytes:
        self.expect(b'"')
        out = bytearray()
        while True:
            if self.pos >= len(self.raw):
                raise self.error("unterminated quoted string")
            c = self.raw[self.pos]
            self.pos += 1
            if c == 0x22:
                return bytes(out)
            if c == 0x5C:
                if self.pos >= len(self.raw) or self.raw[self.pos] not in (0x22, 0x5C):
                    raise self.error("invalid escape in quoted string")
                c = self.raw[self.pos]
                self.pos += 1
            elif c in (0x00, 0x0D, 0x0A):
                raise self.error("NUL, CR or LF in quoted string")
            out.append(c)

    def literal(self, allow_binary: bool = False) -> tuple[bytes, bool]:
        """A literal's data and whether it was a literal8 (``~{n}``)."""
        binary = self.take(b"~")
        if binary and not allow_binary:
            raise self.error("literal8 not allowed here")
        self.expect(b"{")
        start = self.pos
        while self.pos < len(self.raw) and 0x30 <= self.raw[self.pos] <= 0x39:
            self.pos += 1
        if start == self.pos:
            raise self.error("expected literal size")
        size = int(self.raw[start : self.pos])
        self.take(b"+")
        self.expect(b"}\r\n")
        data = self.raw[self.pos : self.pos + size]
        if len(data) != size:
            raise self.error("short literal")
        self.pos += size
        if not binary and b"\x00" in data:
            raise self.error("NUL in literal")
        return data, binary

    def string_bytes(self) -> bytes:
        c = self.peek_byte()
        if c == 0x22:
            return self.quoted_bytes()
        if self._at_string():
            return self.literal()[0]
        raise self.error("expected string")

    def string(self) -> str:
        return self._decode(self.string_bytes())

    def _at_string(self) -> bool:
        c = self.peek_byte()
        return c in (0x22, 0x7B) or (c == 0x7E and self.raw[self.pos + 1 : self.pos + 2] == b"{")

    def astring(self) -> str:
        if self._at_string():
            return self.string()
        return self._astring_atom()

    def nstring(self) -> str | None:
        if self.take(b"NIL"):
            return None
        return self.string()

    def list_mailbox(self) -> str:
        """list-mailbox: like astring but with the wildcards % and * allowed in the atom form."""
        if self._at_string():
            return self.string()
        start = self.pos
        while self.pos < len(self.raw):
            c = self.raw[self.pos]
            if not (_is_atom_char(c) or c in _ASTRING_EXTRA or c in _LIST_WILDCARDS):
                break
            self.pos += 1
        if self.pos == start:
            raise self.error("expected mailbox pattern")
        return self._decode(self.raw[start : self.pos])

    def number(self, max_value: int = 0xFFFFFFFF) -> int:
        start = self.pos
        while self.pos < len(self.raw) and 0x30 <= self.raw[self.pos] <= 0x39:
            self.pos += 1
        if start == self.pos:
            raise self.error("expected number")
        v = int(self.raw[start : self.pos])
        if v > max_value:
            raise self.error("number too large")
        return v

    def number64(self) -> int:
        return self.number((1 << 63) - 1)

    def nz_number(self) -> int:
        v = self.number()
        if v == 0:
            raise self.error("expected non-zero number")
        return v

    def numset(self, allow_search_result: bool = True) -> NumSet:
        start = self.pos
        while self.pos < len(self.raw) and self.raw[self.pos] in b"0123456789:,*$":
            self.pos += 1
        text = self.raw[start : self.pos].decode("ascii")
        if text == "$" and not allow_search_result:
            raise self.error("search result reference not allowed")
        try:
            return NumSet.parse(text)
        except NumSetError as e:
            self.pos = start
            raise self.error(str(e))

    def paren_list(self, item: str = "atom") -> list[str]:
        """A parenthesized, space-separated list of atoms or astrings; empty allowed."""
        self.expect(b"(")
        out: list[str] = []
        if self.take(b")"):
            return out
        while True:
            out.append(self.astring() if item == "astring" else self.atom())
            if self.take(b")"):
                return out
            self.sp()

    def flag(self) -> str:
        """A flag: ``\\Atom`` or a keyword atom."""
        if self.take(b"\\"):
            return "\\" + self.atom()
        return self.atom()

    def flag_list(self) -> list[str]:
        self.expect(b"(")
        out: list[str] = []
        if self.take(b")"):
            return out
        while True:
            out.append(self.flag())
            if self.take(b")"):
                return out
            self.sp()

    def date(self) -> dt.date:
        """date = date-text / DQUOTE date-text DQUOTE, date-text = d[d]-Mon-yyyy."""
        quoted = self.take(b'"')
        start = self.pos
        while self.pos < len(self.raw) and self.raw[self.pos] not in b' )"':
            self.pos += 1
        text = self.raw[start : self.pos].decode("ascii", "replace")
        if quoted:
            self.expect(b'"')
        parts = text.split("-")
        if (
            len(parts) != 3
            or parts[1].upper() not in _MONTHS
            or not parts[0].isdigit()
            or not parts[2].isdigit()
        ):
            raise self.error("invalid date")
        if len(parts[0]) > 2 or len(parts[2]) != 4:
            raise self.error("invalid date")
        try:
            return dt.date(int(parts[2]), _MONTHS.index(parts[1].upper()) + 1, int(parts[0]))
        except ValueError:
            raise self.error("invalid date")

    def datetime(self) -> dt.datetime:
        """date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE."""
        raw = self.quoted_bytes().decode("ascii", "replace")
        text = raw[1:] if raw.startswith(" ") else raw
        try:
            day, rest = text.split("-", 1)
            mon, rest = rest.split("-", 1)
            year, clock, zone = rest.split(" ")
            hh, mm, ss = (int(x) for x in clock.split(":"))
            if len(zone) != 5 or zone[0] not in "+-" or not zone[1:].isdigit() or len(year) != 4:
                raise ValueError(zone)
            offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            tz = dt.timezone(offset if zone[0] == "+" else -offset)
            return dt.datetime(int(year), _MONTHS.index(mon.upper()) + 1, int(day), hh, mm, ss, tzinfo=tz)
        except ValueError:
            raise self.error("invalid date-time")

    def mod_sequence(self) -> int:
        """mod-sequence-value: 1*DIGIT up to 2^63-1 (RFC 7162)."""
        return self.number64()


def format_date(d: dt.date) -> str:
    return f"{d.day}-{_MONTHS[d.month - 1].capitalize()}-{d.year:04d}"


def format_datetime(t: dt.datetime) -> str:
    """An IMAP date-time, e.g. ``22-Nov-2026 05:20:00 +0000``."""
    off = t.utcoffset() or dt.timedelta(0)
    sign = "-" if off < dt.timedelta(0) else "+"
    mins = abs(int(off.total_seconds())) // 60
    mon = _MONTHS[t.month - 1].capitalize()
    return f"{t.day:02d}-{mon}-{t.year:04d} {t.hour:02d}:{t.minute:02d}:{t.second:02d} {sign}{mins // 60:02d}{mins % 60:02d}"
