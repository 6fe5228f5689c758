"""The three ways an IMAP command fails (RFC 9051 section 7.1): NO (the command was understood
but could not be done), BAD (protocol or syntax error) and BYE (the server ends the
connection). Handlers raise them; the connection loop turns them into responses in one place.
"""

from __future__ import annotations


class IMAPError(Exception):
    """Base: ``code`` is a response code without brackets (e.g. "TRYCREATE"), may be empty."""

    kind = "NO"

    def __init__(self, text: str, code: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.code = code

    def line(self, tag: str) -> bytes:
        code = f"[{self.code}] " if self.code else ""
        return f"{tag} {self.kind} {code}{self.text}".encode()


class No(IMAPError):
    kind = "NO"


class Bad(IMAPError):
    kind = "BAD"


class Bye(IMAPError):
    """Ends the connection after ``* BYE text``."""

    kind = "BYE"
