"""Finding complete IMAP commands in a byte stream (RFC 9051 section 2.2, 4.3; RFC 7888
LITERAL+; RFC 3516 literal8), h11 style: feed bytes, ask for the next event, no I/O.

A command is its lines plus the literals they announce. The reader yields the whole command,
wire bytes included ("{5}\\r\\nhello"), for the parser; it asks the server to send a
continuation request when a synchronizing literal may be sent, and enforces the limits:

- a line (without literal data) is at most ``max_line`` bytes; the server lowers this before
  authentication;
- a command other than APPEND/REPLACE has at most 1000 literals and 1 MB of literal data in
  total (RFC 9051 section 7.1 TOOBIG);
- APPEND/REPLACE literals are each at most ``max_message`` bytes;
- before authentication (``authenticated`` false) every command's literals total at most 64 KB.

A synchronizing literal over a limit is refused (the command is dropped, the client gets
tagged NO [TOOBIG] and sends nothing more for it). A non-synchronizing literal over a limit
cannot be refused without losing track of the stream, so it ends the connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LITERALS = 1000
MAX_LITERAL_BYTES = 1 << 20
MAX_LITERAL_BYTES_NOTAUTH = 64 * 1024

_LITERAL_RE = re.compile(rb"(~?)\{(\d{1,19})(\+?)\}\r?\n\Z")


@dataclass(frozen=True)
class Command:
    """A complete command: ``raw`` is everything from the tag to before the final CRLF."""

    raw: bytes
    tag: str
    name: str


@dataclass(frozen=True)
class ContinuationNeeded:
    """The client announced a synchronizing literal and waits for "+"."""


@dataclass(frozen=True)
class TooBig:
    """A synchronizing literal over a limit: answer ``tag NO [TOOBIG] ...``; the command is gone."""

    tag: str
    message: str


@dataclass(frozen=True)
class Fatal:
    """A violation that ends the connection (answer ``* BYE`` with the message)."""

    message: str


Event = Command | ContinuationNeeded | TooBig | Fatal


def _head(line: bytes) -> tuple[str, str]:
    """Tag and upper-cased command name (with "UID " prefix) of a command's first line."""
    parts = line.rstrip(b"\r\n").split(b" ", 3)
    tag = parts[0].decode("ascii", "replace") if parts else ""
    name = parts[1].decode("ascii", "replace").upper() if len(parts) > 1 else ""
    if name == "UID" and len(parts) > 2:
        name = "UID " + parts[2].decode("ascii", "replace").upper()
    # Strip a literal announcement glued to the name, e.g. "APPEND{5}" is not a command.
    return tag, name.split("{", 1)[0]


class CommandReader:
    """Accumulates bytes and produces events; see the module docstring."""

    def __init__(
        self, max_line: int = 8 * 1024, max_message: int = 100 << 20, authenticated: bool = True
    ) -> None:
        self.max_line = max_line
        self.max_message = max_message
        # Before login no command may carry a message, and literals are capped lower, so an
        # unauthenticated client cannot make the server buffer much.
        self.authenticated = authenticated
        self._buf = bytearray()
        self._pos = 0  # start of unconsumed data in _buf
        self._cmd = bytearray()
        self._tag = ""
        self._name = ""
        self._literal_left = 0  # bytes of literal data still to copy into _cmd
        self._literals = 0
        self._literal_bytes = 0
        self._failed = False

    # Input

    def feed(self, data: bytes) -> None:
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def pending(self) -> int:
        """Buffered bytes not yet consumed (for the STARTTLS injection check)."""
        return len(self._buf) - self._pos + len(self._cmd)

    def take_pending(self) -> bytes:
        """Remove and return the unconsumed input (when the stream changes, e.g. COMPRESS)."""
        rest = bytes(self._buf[self._pos :])
        self._buf = bytearray()
        self._pos = 0
        return rest

    def in_command(self) -> bool:
        return bool(self._cmd) or self._literal_left > 0

    # Raw lines (IDLE's DONE, AUTHENTICATE responses)

    def next_line(self) -> bytes | Fatal | None:
        """A raw line without its line ending, None if incomplete, Fatal if too long."""
        nl = self._buf.find(b"\n", self._pos)
        if nl < 0:
            if len(self._buf) - self._pos > self.max_line:
                return Fatal("line too long")
            return None
        if nl - self._pos > self.max_line:
            return Fatal("line too long")
        line = bytes(self._buf[self._pos : nl])
        self._pos = nl + 1
        return line[:-1] if line.endswith(b"\r") else line

    # Commands

    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed."""
        if self._failed:
            return None
        while True:
            if self._literal_left:
                avail = len(self._buf) - self._pos
                if not avail:
                    return None
                n = min(avail, self._literal_left)
                self._cmd += self._buf[self._pos : self._pos + n]
                self._pos += n
                self._literal_left -= n
                if self._literal_left:
                    return None
                continue
            nl = self._buf.find(b"\n", self._pos)
            if nl < 0:
                if len(self._buf) - self._pos > self.max_line:
                    self._failed = True
                    return Fatal("line too long")
                return None
            line = bytes(self._buf[self._pos : nl + 1])
            self._pos = nl + 1
            if len(line) > self.max_line + 2:
                self._failed = True
                return Fatal("line too long")
            first = not self._cmd
            if first:
                self._tag, self._name = _head(line)
            m = _LITERAL_RE.search(line)
            if m is None:
                self._cmd += line[:-2] if line.endswith(b"\r\n") else line[:-1]
                raw = bytes(self._cmd)
                self._reset()
                return Command(raw, self._tag, self._name)
            size = int(m.group(2))
            sync = not m.group(3)
            problem = self._check_literal(size)
            if problem is not None:
                if sync:
                    tag = self._tag
                    self._reset()
                    return TooBig(tag, problem)
                self._failed = True
                return Fatal(problem)
            self._literals += 1
            self._literal_bytes += size
            # Keep the announcement with CRLF so the parser sees wire syntax.
            self._cmd += line[: m.start()] + m.group(1) + b"{" + m.group(2) + b"}\r\n"
            self._literal_left = size
            if sync:
                return ContinuationNeeded()

    def _check_literal(self, size: int) -> str | None:
        if not self.authenticated:
            if self._literal_bytes + size > MAX_LITERAL_BYTES_NOTAUTH:
                return "literals too large before authentication"
        elif self._name in ("APPEND", "REPLACE", "UID REPLACE"):
            if size > self.max_message:
                return "message too large"
            return None
        if self._literals + 1 > MAX_LITERALS:
            return "too many literals in command"
        if self._literal_bytes + size > MAX_LITERAL_BYTES:
            return "literals in command too large"
        return None

    def _reset(self) -> None:
        self._cmd = bytearray()
        self._literal_left = 0
        self._literals = 0
        self._literal_bytes = 0
