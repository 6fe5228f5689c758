"""The DATA reader: dot-unstuffing and SMTP smuggling detection (RFC 5321 sections 4.1.1.4, 4.5.2).

Only ``CRLF . CRLF`` ends the message. Sequences that other servers treat as the end of DATA
(and so allow a second, forged message to be "smuggled" inside the first, CVE-2023-51764 and
friends) are errors here, and the reader keeps consuming until the real end so the session
stays in sync and no second message can ever be read from one DATA:

- a bare CR anywhere (a CR not followed by LF);
- ``CRLF . LF`` and ``<non-CR> LF . LF`` (a dot line ended by a bare LF);
- ``<non-CR> LF . CRLF`` (a dot line after a bare LF).

Other bare LFs are accepted and stored as CRLF. Lines starting with a dot lose that dot
(dot-stuffing, section 4.5.2). The size limit is enforced while reading: once exceeded, no more
bytes are kept. The reader is a pure state machine: ``process(buffer)`` returns how many bytes
were consumed, the message bytes they produced and whether the end was reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERR_SMUGGLING = "smuggling"
ERR_TOO_LARGE = "toolarge"


@dataclass
class DataResult:
    consumed: int
    chunks: list[bytes] = field(default_factory=list)
    done: bool = False


class DataReader:
    """Reads one DATA payload. ``error`` is set (first error wins) when the payload is bad."""

    def __init__(self, max_size: int | None = None) -> None:
        self.max_size = max_size
        self.size = 0  # bytes of message produced (also counted after an error, for logging)
        self.error: str | None = None
        self.done = False
        self._bol = True  # at the beginning of a line
        self._prev_crlf = True  # the previous line ended in CRLF (the DATA command line did)

    def _fail(self, err: str) -> None:
        if self.error is None:
            self.error = err

    def _emit(self, out: list[bytes], b: bytes) -> None:
        self.size += len(b)
        if self.max_size is not None and self.size > self.max_size:
            self._fail(ERR_TOO_LARGE)
        if self.error is None and b:
            out.append(b)

    def process(self, buf: bytes) -> DataResult:
        """Consume as much of ``buf`` as can be decided; unconsumed bytes must be offered again."""
        out: list[bytes] = []
        i = 0
        n = len(buf)
        while i < n and not self.done:
            if self._bol:
                if buf[i] == 0x2E:  # "."
                    if n - i < 2:
                        break
                    nxt = buf[i + 1]
                    if nxt == 0x0A:  # ".\n": never an end, always suspicious
                        self._fail(ERR_SMUGGLING)
                        i += 2
                        self._prev_crlf = False
                        continue
                    if nxt == 0x0D:
                        if n - i < 3:
                            break
                        if buf[i + 2] == 0x0A:
                            i += 3
                            if self._prev_crlf:
                                self.done = True
                                break
                            self._fail(ERR_SMUGGLING)  # "\n.\r\n" after a bare LF
                            self._prev_crlf = True
                            continue
                    i += 1  # dot-stuffing: drop the leading dot
                self._bol = False
                # Fast path: a run of well-formed CRLF lines without dot lines is copied whole.
                last = buf.rfind(b"\n", i)
                if last > i:
                    block = buf[i : last + 1]
                    crs = block.count(b"\r")
                    if b"\n." not in block and crs == block.count(b"\n") and crs == block.count(b"\r\n"):
                        self._emit(out, block)
                        i = last + 1
                        self._bol = True
                        self._prev_crlf = True
                        continue
            j = buf.find(b"\n", i)
            if j < 0:
                end = n - 1 if buf[n - 1] == 0x0D else n  # a final CR may be followed by LF
                seg = buf[i:end]
                if b"\r" in seg:
                    self._fail(ERR_SMUGGLING)
                self._emit(out, seg)
                i = end
                break
            crlf = j > i and buf[j - 1] == 0x0D
            content = buf[i : j - 1] if crlf else buf[i:j]
            if b"\r" in content:
                self._fail(ERR_SMUGGLING)
            self._emit(out, content + b"\r\n")
            self._prev_crlf = crlf
            self._bol = True
            i = j + 1
        return DataResult(i, out, self.done)


def dot_stuff(data: bytes) -> bytes:
    """Dot-stuff a CRLF message for sending with DATA (RFC 5321 section 4.5.2), with the final
    ``CRLF.CRLF``. Bare CR or LF are refused: they could be taken as an end of data elsewhere."""
    if data.count(b"\r") != data.count(b"\r\n") or data.count(b"\n") != data.count(b"\r\n"):
        raise ValueError("message contains bare CR or LF")
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def normalize_chunked(data: bytes) -> bytes | None:
    """Check and normalize a message received with BDAT (RFC 3030): bare LF becomes CRLF; a bare
    CR makes the message invalid (None), for the same reasons as with DATA."""
    crlf = data.count(b"\r\n")
    if data.count(b"\r") != crlf:
        return None
    if data.count(b"\n") == crlf:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
