"""Conversions between the store's types and what the IMAP commands use."""

from __future__ import annotations

from typing import Any

from app import message, store
from app.imapserver.msginfo import MsgInfo

_ORDER = {"\\seen": 0, "\\answered": 1, "\\flagged": 2, "\\deleted": 3, "\\draft": 4}


def sorted_flags(flags: frozenset[str] | set[str] | list[str]) -> list[str]:
    return sorted(flags, key=lambda f: (_ORDER.get(f.lower(), 9), f.lower()))


def msg_info(m: store.MessageMeta) -> MsgInfo:
    return MsgInfo(
        uid=m.uid,
        flags=sorted_flags(m.flags),
        modseq=m.modseq,
        received=m.received,
        savedate=m.savedate,
        size=m.size,
        ref=m,
        email_id=email_id(m),
        thread_id=f"T{m.thread_id}" if m.thread_id else "",
    )


def email_id(m: store.MessageMeta) -> str:
    """RFC 8474 EMAILID: the message row and its creation modseq, so never reused."""
    return f"M{m.id}-{m.createseq}"


def mailbox_id(mb: store.Mailbox) -> str:
    """RFC 8474 MAILBOXID: mailbox row and creation modseq (row ids can be reused)."""
    return f"F{mb.id}-{mb.createseq}"


class MessageSource:
    """Reads stored messages for fetchrender/searcheval: whole (bytes and structure), or just
    the structure and a byte range (partial FETCH of a large message reads only that range)."""

    def __init__(self, account: Any) -> None:
        self.account = account

    def __call__(self, m: MsgInfo) -> tuple[bytes, message.Part]:
        return self.account.read(m.ref), self.account.parsed(m.ref)

    def part(self, m: MsgInfo) -> message.Part:
        p: message.Part = self.account.parsed(m.ref)
        return p

    def read_range(self, m: MsgInfo, offset: int, length: int) -> bytes:
        b: bytes = self.account.read_range(m.ref, offset, length)
        return b


def make_loader(account: Any) -> MessageSource:
    return MessageSource(account)
