"""SMTP replies (RFC 5321 section 4.2): the error type handlers raise and the wire formatting.

A reply is a 3-digit code, an optional enhanced status code (RFC 2034, written after the code
when the ENHANCEDSTATUSCODES extension is in use, which moxpy always announces) and text lines.
Multiline replies use ``code-text`` for every line but the last (RFC 5321 section 4.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from app.smtp.codes import enhanced


class SMTPError(Exception):
    """A protocol-level failure to be answered with this reply.

    ``secode`` is the "subject.detail" part of the enhanced code (``"5.2"``) or a full code
    (``"5.5.2"``); the class digit is taken from ``code`` when only subject.detail is given.
    ``close`` asks the connection to be closed after writing the reply (421 always closes).
    """

    def __init__(
        self, code: int, secode: str, text: str, *, close: bool = False, permanent_log: bool = False
    ):
        super().__init__(f"{code} {secode} {text}")
        self.code = code
        self.secode = secode
        self.text = text
        self.close = close or code == 421
        self.permanent_log = permanent_log

    def reply(self) -> Reply:
        return Reply(self.code, self.secode, [self.text])


@dataclass
class Reply:
    """One reply: code, enhanced code ("x.y" or "x.y.z" or empty) and one or more text lines."""

    code: int
    secode: str = ""
    lines: list[str] = field(default_factory=lambda: [""])

    @property
    def ecode(self) -> str:
        if not self.secode:
            return ""
        if self.secode.count(".") == 2:
            return self.secode
        return enhanced(self.code, self.secode)

    def to_bytes(self) -> bytes:
        """The reply on the wire; CR/LF inside text are replaced so a reply can't be split."""
        ec = self.ecode
        lines = self.lines or [""]
        out: list[str] = []
        for i, text in enumerate(lines):
            text = text.replace("\r", " ").replace("\n", " ")
            sep = " " if i == len(lines) - 1 else "-"
            body = f"{ec} {text}" if ec and text else (ec or text)
            out.append(f"{self.code}{sep}{body}".rstrip(" ") + "\r\n")
        return "".join(out).encode("utf-8", "replace")


def format_reply(code: int, secode: str, *lines: str) -> bytes:
    """Shorthand for Reply(code, secode, list(lines)).to_bytes()."""
    return reply_bytes(code, secode, lines or ("",))


@lru_cache(maxsize=1024)
def reply_bytes(code: int, secode: str, lines: tuple[str, ...]) -> bytes:
    """``Reply(code, secode, list(lines)).to_bytes()``, remembered: a server sends the same
    few replies over and over."""
    return Reply(code, secode, list(lines)).to_bytes()
