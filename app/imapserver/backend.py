"""Conversions between the store's types and what the IMAP commands use, and the read path
of the hot commands (SELECT, FETCH) onto the store's read helpers (``app.store.reads``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import apsw

from app import message, store
from app.imapserver.msginfo import MsgInfo
from app.store.analysis import load_parsed
from app.store.messages import flags_of_mask
from app.store.reads import message_bytes_and_parsed

T = TypeVar("T")

_ORDER = {"\\seen": 0, "\\answered": 1, "\\flagged": 2, "\\deleted": 3, "\\draft": 4}


def sorted_flags(flags: frozenset[str] | set[str] | list[str]) -> list[str]:
    return sorted(flags, key=_flag_key)


def _flag_key(f: str) -> tuple[int, str]:
    low = f.lower()
    return (_ORDER.get(low, 9), low)


_mask_flags: dict[tuple[int, str], tuple[str, ...]] = {}


def flags_of_row(mask: int, keywords: str) -> tuple[str, ...]:
    """Sorted IMAP flags of a packed flag mask and keyword text (memoized: few combinations)."""
    key = (mask, keywords)
    fl = _mask_flags.get(key)
    if fl is None:
        fl = tuple(sorted_flags(flags_of_mask(mask, keywords)))
        if len(_mask_flags) < 100_000:
            _mask_flags[key] = fl
    return fl


def store_read(account: store.Account, fn: Callable[[apsw.Connection], T]) -> T:
    """Run a read helper of ``app.store.reads`` on one of the account's read connections (the
    store's own read plumbing), so a command needs one checkout for several statements."""
    return account.run_read(fn)


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
        data_id=m.data_id,
    )


def msg_info_row(r: Any) -> MsgInfo:
    """MsgInfo of a ``reads.FETCH_COLUMNS`` row; its store handle is the data id."""
    uid, mid, createseq, modseq, mask, keywords, size, received, savedate, data_id, thread_id = r
    return MsgInfo(
        uid, list(flags_of_row(mask, keywords)), modseq, received, savedate, size, data_id,
        f"M{mid}-{createseq}", f"T{thread_id}" if thread_id else "", data_id,
    )  # fmt: skip


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
        if not m.data_id:
            return self.account.read(m.ref), self.account.parsed(m.ref)
        # Bytes and structure in one read transaction.
        got = store_read(self.account, lambda c: message_bytes_and_parsed(c, m.data_id))
        if got is None:
            raise store.MessageGone("message is gone")
        return got[0], load_parsed(got[1])

    def part(self, m: MsgInfo) -> message.Part:
        p: message.Part = self.account.parsed(m.ref)
        return p

    def read_range(self, m: MsgInfo, offset: int, length: int) -> bytes:
        b: bytes = self.account.read_range(m.ref, offset, length)
        return b


def make_loader(account: Any) -> MessageSource:
    return MessageSource(account)
