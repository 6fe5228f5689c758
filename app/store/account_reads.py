"""The read side of an account (``Account`` inherits it): every method runs on a read
connection of its own from the account's pool (``readpool``), so readers never wait for the
writer or for each other (SQLite WAL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO, TypeVar, cast

import apsw

from app.message import Part
from app.store import analysis, blobs, counts, reads
from app.store.errors import StoreClosed
from app.store.model import Annotation, DeliveryFacts, Mailbox, MailboxStatus, MessageMeta
from app.store.readpool import ReaderPool
from app.store.reputation import Reputation
from app.store.reputation import reputation as reputation_of
from app.store.sqlq import q

T = TypeVar("T")
MessageRef = MessageMeta | int  # a message's metadata, or its data id


class AccountReads:
    name: str
    _closed: bool
    _pool: ReaderPool
    _quota: Callable[[], int]

    def _read(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run ``fn`` with a read connection of its own (see ``readpool``)."""
        if self._closed:
            raise StoreClosed(f"account {self.name!r} is closed")
        with self._pool.conn() as c:
            return fn(c)

    def mailbox(self, mailbox: int | str) -> Mailbox:
        return self._read(lambda c: reads.mailbox(c, mailbox))

    def list_mailboxes(self) -> list[Mailbox]:
        return self._read(reads.list_mailboxes)

    def subscriptions(self) -> list[str]:
        return self._read(lambda c: [r[0] for r in q(c, "SELECT name FROM subscription ORDER BY name")])

    def mailbox_status(self, mailbox: int | str) -> MailboxStatus:
        return self._read(lambda c: reads.status(c, mailbox))

    def uids_flags(self, mailbox: int | str) -> list[tuple[int, int, frozenset[str]]]:
        """(uid, modseq, flags) of every message, in UID order."""
        return self._read(lambda c: reads.uids_flags(c, reads.mbid(c, mailbox)))

    def uids(self, mailbox: int | str) -> list[int]:
        return self._read(lambda c: reads.uids(c, reads.mbid(c, mailbox)))

    def changed_since(self, mailbox: int | str, modseq: int) -> list[tuple[int, int, frozenset[str]]]:
        """(uid, modseq, flags) of messages changed (or added) after ``modseq`` (RFC 7162)."""
        return self._read(lambda c: reads.changed_since(c, reads.mbid(c, mailbox), modseq))

    def expunged_since(self, mailbox: int | str, modseq: int) -> list[int]:
        """UIDs expunged (tombstones) with a modseq above ``modseq`` (QRESYNC VANISHED)."""
        return self._read(lambda c: reads.expunged_since(c, reads.mbid(c, mailbox), modseq))

    def highest_modseq(self) -> int:
        return self._read(counts.highest_modseq)

    def message_meta(self, mailbox: int | str, uids: Iterable[int]) -> list[MessageMeta]:
        uid_list = list(uids)
        return self._read(lambda c: reads.message_meta(c, reads.mbid(c, mailbox), uid_list))

    def message_by_id(self, message_id: int) -> MessageMeta | None:
        return self._read(lambda c: reads.message_by_id(c, message_id))

    def list_messages(
        self, mailbox: int | str, limit: int = 100, before: tuple[float, int] | None = None
    ) -> list[MessageMeta]:
        """A page of messages, newest first; pass (received, id) of the last one for the next."""
        return self._read(lambda c: reads.list_messages(c, reads.mbid(c, mailbox), limit, before))

    def thread_messages(self, thread_id: int) -> list[MessageMeta]:
        return self._read(lambda c: reads.thread_messages(c, thread_id))

    def facts(self, message_id: int) -> DeliveryFacts | None:
        return self._read(lambda c: reads.facts(c, message_id))

    @staticmethod
    def _data_id(msg: MessageRef) -> int:
        return msg.data_id if isinstance(msg, MessageMeta) else msg

    def read(self, msg: MessageRef) -> bytes:
        """The whole message (raises MessageGone when it was expunged)."""
        return self._read(lambda c: blobs.read_all(c, self._data_id(msg)))

    def read_range(self, msg: MessageRef, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at the end), without loading the whole message."""
        return self._read(lambda c: blobs.read_range(c, self._data_id(msg), offset, length))

    def open_reader(self, msg: MessageRef) -> BinaryIO:
        """A seekable read-only file over the message bytes."""
        import io

        return cast(BinaryIO, io.BufferedReader(blobs.ChunkReader(self._read, self._data_id(msg))))

    def parsed(self, msg: MessageRef) -> Part:
        """The stored MIME structure (offsets into the message bytes)."""
        from app.store.errors import MessageGone

        rows = self._read(lambda c: q(c, "SELECT parsed FROM msgdata WHERE id = ?", (self._data_id(msg),)))
        if not rows:
            raise MessageGone("message is gone")
        return analysis.load_parsed(bytes(rows[0][0]))

    def search_text(self, mailbox: int | str, needle: str) -> set[int] | None:
        return self._read(lambda c: reads.search_text(c, reads.mbid(c, mailbox), needle))

    def annotations(self, mailbox: int | str | None) -> list[Annotation]:
        return self._read(
            lambda c: reads.list_annotations(c, None if mailbox is None else reads.mbid(c, mailbox))
        )

    def setting(self, key: str) -> str | None:
        return self._read(lambda c: reads.setting(c, key))

    def reputation(self, mailbox: int | str, facts: DeliveryFacts, now: float | None = None) -> Reputation:
        """What the account's history says about a message for ``mailbox`` (see ``reputation``)."""
        return self._read(lambda c: reputation_of(c, reads.mbid(c, mailbox), facts, now))

    def quota_usage(self) -> tuple[int, int]:
        """(bytes used, limit); a limit of 0 or less means unlimited."""
        return self._read(counts.disk_usage), self._quota()
