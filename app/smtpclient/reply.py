"""Strict parsing of SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463,
RFC 2034), and the error type of the SMTP client.

A reply line is three digits (2-5, 0-5, 0-9), then ``-`` (more lines follow), a space, or the end
of the line, terminated by CRLF. Every line of a multi-line reply carries the same code. Anything
else (bare LF, bare CR, other codes, over-long lines) is a protocol error: a server that does
not follow the syntax is not guessed at.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

MAX_LINE = 2048  # RFC 5321 §4.5.3.1.5 says 512; real servers send longer text lines.
MAX_LINES = 256

_ECODE_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")


class SMTPClientError(Exception):
    """A delivery attempt failed.

    ``permanent``: a 5xx reply or a condition that will not change by retrying.
    ``kind``: "dial", "tls", "protocol", "timeout", "reply", "policy", "auth".
    ``code``/``secode``/``line``: the remote reply, when there was one.
    """

    def __init__(
        self,
        permanent: bool,
        kind: str,
        text: str,
        code: int = 0,
        secode: str = "",
        line: str = "",
    ) -> None:
        super().__init__(text)
        self.permanent = permanent
        self.kind = kind
        self.text = text
        self.code = code
        self.secode = secode
        self.line = line

    def __str__(self) -> str:
        if self.code:
            return f"{self.text}: {self.line or self.code}"
        return self.text


@dataclass(frozen=True)
class Reply:
    code: int
    lines: tuple[str, ...]  # text after the code and separator, one per line
    secode: str = ""  # enhanced status code, e.g. "5.1.1", when the server sent one

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def first_line(self) -> str:
        return f"{self.code} {self.lines[0] if self.lines else ''}".rstrip()

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def error(self, what: str) -> SMTPClientError:
        return SMTPClientError(
            self.code >= 500, "reply", what, code=self.code, secode=self.secode, line=self.first_line
        )


def parse_line(raw: bytes) -> tuple[int, bool, str]:
    """Parse one reply line (with its CRLF). Returns (code, last, text). Raises SMTPClientError."""
    if not raw.endswith(b"\r\n"):
        raise SMTPClientError(False, "protocol", "reply line not terminated by CRLF")
    body = raw[:-2]
    if b"\r" in body or b"\n" in body:
        raise SMTPClientError(False, "protocol", "bare CR or LF in reply line")
    if len(body) < 3 or not body[:3].isdigit():
        raise SMTPClientError(False, "protocol", "malformed reply code")
    c0, c1 = body[0] - 48, body[1] - 48
    if not 2 <= c0 <= 5 or c1 > 5:
        raise SMTPClientError(False, "protocol", "reply code out of range")
    code = int(body[:3])
    sep = body[3:4]
    if sep == b"":
        return code, True, ""
    if sep not in (b" ", b"-"):
        raise SMTPClientError(False, "protocol", "malformed reply separator")
    text = body[4:].decode("utf-8", "replace")
    return code, sep == b" ", text


def enhanced_code(code: int, text: str) -> tuple[str, str]:
    """Split an enhanced status code off the text if its class matches the reply code."""
    m = _ECODE_RE.match(text)
    if m is None or int(m.group(1)) != code // 100:
        return "", text
    return f"{m.group(1)}.{m.group(2)}.{m.group(3)}", text[m.end() :]


async def read_reply(reader: asyncio.StreamReader, timeout: float, ecodes: bool = True) -> Reply:
    """Read one complete reply."""
    lines: list[str] = []
    code = 0
    while True:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\n"), timeout)
        except TimeoutError:
            raise SMTPClientError(False, "timeout", "timeout waiting for reply") from None
        except asyncio.IncompleteReadError:
            raise SMTPClientError(False, "protocol", "connection closed by remote") from None
        except asyncio.LimitOverrunError:
            raise SMTPClientError(False, "protocol", "reply line too long") from None
        except (OSError, ConnectionError) as e:
            raise SMTPClientError(False, "protocol", f"reading reply: {e}") from None
        if len(raw) > MAX_LINE:
            raise SMTPClientError(False, "protocol", "reply line too long")
        c, last, text = parse_line(raw)
        if lines and c != code:
            raise SMTPClientError(False, "protocol", "different codes in multi-line reply")
        code = c
        lines.append(text)
        if last:
            break
        if len(lines) > MAX_LINES:
            raise SMTPClientError(False, "protocol", "too many reply lines")
    secode = ""
    if ecodes and lines:
        secode, first = enhanced_code(code, lines[0])
        if secode:
            lines[0] = first
    return Reply(code, tuple(lines), secode)
