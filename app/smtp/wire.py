"""The server side of the SMTP wire as a state machine in the style of h11: bytes go in with
``receive()``, events come out of ``next_event()``; no sockets (RFC 5321 section 2.3.8 lines,
section 4.5.3.1.4 line length, RFC 3030 BDAT chunks).

Modes: reading command lines (the default), reading a DATA payload after ``start_data()``
(see ``app.smtp.data``), and reading a BDAT chunk of a known size after ``start_bdat()``.
A command line longer than ``max_line`` produces ``LineTooLong`` once, after which the rest of that
line is discarded up to its LF so the stream stays in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.smtp.data import DataReader


@dataclass(frozen=True)
class Line:
    """A command line without its line ending; ``crlf`` is False for a bare-LF ending."""

    text: bytes
    crlf: bool


@dataclass(frozen=True)
class LineTooLong:
    """A command line exceeded the limit; its remainder is skipped."""


@dataclass(frozen=True)
class DataChunk:
    """Message bytes (DATA: unstuffed, CRLF-normalized; BDAT: raw)."""

    data: bytes


@dataclass(frozen=True)
class DataEnd:
    """The end of a DATA payload; ``error`` is None, ``"smuggling"`` or ``"toolarge"``;
    ``size`` counts the payload bytes (also past the limit)."""

    error: str | None
    size: int


@dataclass(frozen=True)
class ChunkEnd:
    """The end of one BDAT chunk."""

    size: int


class NeedData:
    """Sentinel: more bytes are needed to produce the next event."""


NEED_DATA = NeedData()

Event = Line | LineTooLong | DataChunk | DataEnd | ChunkEnd


class ServerWire:
    """Turns received bytes into command lines, DATA payloads and BDAT chunks."""

    def __init__(self, max_line: int = 2048) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._skipping = False  # discarding the rest of an over-long line
        self._data: DataReader | None = None
        self._bdat_left = -1
        self._bdat_size = 0
        self._pending: DataEnd | None = None

    @property
    def mode(self) -> str:
        if self._data is not None or self._pending is not None:
            return "data"
        if self._bdat_left >= 0:
            return "bdat"
        return "command"

    def receive(self, data: bytes) -> None:
        self._buf += data

    def buffered(self) -> int:
        """Bytes received and not yet turned into events (pipelined input)."""
        return len(self._buf)

    def has_line(self) -> bool:
        """Whether a complete command line is already buffered (mox flushes replies otherwise)."""
        return self.mode == "command" and b"\n" in self._buf

    def clear(self) -> None:
        """Drop buffered input (after STARTTLS: plaintext must not be interpreted as TLS data)."""
        self._buf.clear()
        self._skipping = False

    def start_data(self, max_size: int | None) -> None:
        """Read a DATA payload next (after the 354 reply)."""
        self._data = DataReader(max_size)

    def start_bdat(self, size: int) -> None:
        """Read a BDAT chunk of ``size`` bytes next."""
        self._bdat_left = size
        self._bdat_size = size

    def next_event(self) -> Event | NeedData:
        if self._pending is not None:
            ev, self._pending = self._pending, None
            return ev
        if self._data is not None:
            return self._next_data(self._data)
        if self._bdat_left >= 0:
            return self._next_bdat()
        return self._next_line()

    def _next_line(self) -> Event | NeedData:
        while True:
            nl = self._buf.find(b"\n")
            if self._skipping:
                if nl < 0:
                    self._buf.clear()
                    return NEED_DATA
                del self._buf[: nl + 1]
                self._skipping = False
                continue
            if nl < 0:
                if len(self._buf) > self.max_line:
                    self._buf.clear()
                    self._skipping = True
                    return LineTooLong()
                return NEED_DATA
            if nl > self.max_line:
                del self._buf[: nl + 1]
                return LineTooLong()
            crlf = nl > 0 and self._buf[nl - 1] == 0x0D
            text = bytes(self._buf[: nl - 1 if crlf else nl])
            del self._buf[: nl + 1]
            return Line(text, crlf)

    def _next_data(self, dr: DataReader) -> Event | NeedData:
        if not self._buf:
            return NEED_DATA
        res = dr.process(bytes(self._buf))
        del self._buf[: res.consumed]
        data = b"".join(res.chunks)
        if res.done:
            self._data = None
            end = DataEnd(dr.error, dr.size)
            if data:
                self._pending = end
                return DataChunk(data)
            return end
        if data:
            return DataChunk(data)
        return NEED_DATA

    def _next_bdat(self) -> Event | NeedData:
        if self._bdat_left == 0:
            self._bdat_left = -1
            return ChunkEnd(self._bdat_size)
        if not self._buf:
            return NEED_DATA
        take = min(self._bdat_left, len(self._buf))
        chunk = bytes(self._buf[:take])
        del self._buf[:take]
        self._bdat_left -= take
        return DataChunk(chunk)
