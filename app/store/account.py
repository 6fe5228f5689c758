"""One account's message store: the writer (group commit), reader connections, the broadcaster.

Write methods analyze message bytes (parse, preview, FTS text) in the calling thread, then queue
a function for the writer thread and block until its transaction committed (see ``writer``).
Read methods (``account_reads``) use a connection private to the calling thread. See the package docstring for the
API overview.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import apsw

from app.store import analysis, counts, mailboxes, messages, metadata, schema
from app.store.account_reads import AccountReads
from app.store.changes import DEFAULT_LIMIT, Broadcaster, LoopLike, Subscription
from app.store.errors import MailboxExists, MailboxNotFound
from app.store.groupcommit import Job
from app.store.model import (
    AppendItem,
    CopyResult,
    DeliveredMessage,
    DeliveryFacts,
    ExpungeResult,
    InitialMailboxes,
    Mailbox,
    SetFlagsResult,
    normalize_flags,
)
from app.store.readpool import ReaderPool
from app.store.sqlq import q
from app.store.writer import Tx, Writer

T = TypeVar("T")


@dataclass(frozen=True)
class _Delivery:
    """One queued delivery: what ``_deliver_many`` needs of it."""

    mailbox: int | str
    prepared: messages.Prepared
    facts: DeliveryFacts | None
    quota: int  # bytes, <= 0: none


def _deliver_many(conn: apsw.Connection, items: list[tuple[_Delivery, Tx]]) -> list[DeliveredMessage]:
    """Store deliveries to one mailbox in one go: one counter update, mailbox lookup and count
    update for all (they share a modseq, as changes made in one operation may, RFC 7162 3.1)."""
    first = items[0][0]
    total = sum(len(d.prepared.data) for d, _ in items)
    counts.check_quota(conn, max(d.quota for d, _ in items), total)
    modseq, first_id = counts.reserve(conn, len(items), total)
    try:
        mb = mailboxes.get(conn, first.mailbox)
    except MailboxNotFound:
        if not isinstance(first.mailbox, str):
            raise
        mb = mailboxes.create(conn, items[0][1], first.mailbox, modseq)
    txs = [tx for _, tx in items]
    added = messages.add(
        conn, txs, mb, [d.prepared for d, _ in items], modseq, [d.facts for d, _ in items], first_id
    )
    return [
        DeliveredMessage(mid, mb.id, mb.name, uid, modseq, len(d.prepared.data), th.thread_id)
        for (mid, uid, th), (d, _) in zip(added, items, strict=True)
    ]


def _deliver_batch(conn: apsw.Connection, jobs: list[Job[Tx, Any]]) -> list[DeliveredMessage]:
    return _deliver_many(conn, [(j.arg, j.tx) for j in jobs])


class Account(AccountReads):
    """The store of one account. Obtain from ``Store.account``; thread-safe."""

    def __init__(
        self,
        name: str,
        path: Path,
        create: bool = False,
        initial_mailboxes: InitialMailboxes | None = None,
        quota: Callable[[], int] = lambda: 0,
    ) -> None:
        self.name = name
        self.path = path
        self._quota = quota
        conn = schema.open_writer(name, path, create)
        try:
            _ensure_initial(conn, initial_mailboxes or InitialMailboxes())
        except BaseException:
            conn.close()
            raise
        self._broadcaster = Broadcaster()
        self._writer = Writer(conn, self._broadcaster, name)
        self._pool = ReaderPool(path, name)
        self._closed = False

    # --- plumbing ---

    def _write(self, fn: Callable[[apsw.Connection, Tx], T], origin: object | None = None) -> T:
        return self._writer.run(fn, origin)

    def close(self) -> None:
        """Finish pending writes and close every connection."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        self._pool.close()

    @property
    def commits(self) -> int:
        """Transactions committed by the writer so far (group commit makes this < writes)."""
        return self._writer.commits

    def subscribe(
        self,
        notify: Callable[[], object] | None = None,
        loop: LoopLike | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Subscription:
        """Receive the account's changes. With ``loop``, ``notify`` runs on that event loop."""
        return self._broadcaster.subscribe(notify, loop, limit)

    # --- message writes ---

    def deliver(
        self,
        mailbox: int | str,
        data: bytes,
        flags: Iterable[str] = (),
        received: float | None = None,
        facts: DeliveryFacts | None = None,
        origin: object | None = None,
    ) -> DeliveredMessage:
        """Store one incoming message durably (a missing mailbox given by name is created).

        Raises QuotaExceeded (nothing stored) when the account quota would be exceeded.
        """
        p = messages.Prepared(data, analysis.analyze(data), normalize_flags(flags), received or time.time())
        arg = _Delivery(mailbox, p, facts, self._quota())

        def op(conn: apsw.Connection, tx: Tx) -> DeliveredMessage:
            return _deliver_many(conn, [(arg, tx)])[0]

        # Deliveries to one mailbox queued together run as one batch (see groupcommit.Job).
        return self._writer.run(op, origin, (_deliver_batch, mailbox), arg)

    def append(
        self, mailbox: int | str, items: Sequence[AppendItem], origin: object | None = None
    ) -> tuple[int, list[int]]:
        """Add messages atomically (IMAP APPEND/MULTIAPPEND, imports); return (uidvalidity, uids)."""
        now = time.time()
        prepared = [
            messages.Prepared(
                it.data,
                analysis.analyze(it.data),
                normalize_flags(it.flags),
                it.received if it.received else now,
            )
            for it in items
        ]
        return self.append_prepared(mailbox, prepared, origin)

    def append_prepared(
        self, mailbox: int | str, prepared: Sequence[messages.Prepared], origin: object | None = None
    ) -> tuple[int, list[int]]:
        """``append`` for messages analysed already (imports analyse in worker processes): one
        transaction, quota-checked; return (uidvalidity, uids)."""
        limit = self._quota()
        total = sum(len(p.data) for p in prepared)

        def op(conn: apsw.Connection, tx: Tx) -> tuple[int, list[int]]:
            mb = mailboxes.get(conn, mailbox)
            if not prepared:
                return mb.uidvalidity, []
            counts.check_quota(conn, limit, total)
            modseq, first_id = counts.reserve(conn, len(prepared), total)
            out = messages.add(conn, tx, mb, prepared, modseq, None, first_id)
            return mb.uidvalidity, [uid for _, uid, _ in out]

        return self._write(op, origin)

    def run_read(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run a read helper (``app.store.reads``) on a read connection of its own, so several
        statements see one snapshot with one checkout."""
        return self._read(fn)

    def set_flags(
        self,
        mailbox: int | str,
        uids: Iterable[int],
        mode: str,
        flags: Iterable[str],
        unchanged_since: int | None = None,
        origin: object | None = None,
    ) -> SetFlagsResult:
        """Add, remove or replace flags (RFC 9051 STORE; UNCHANGEDSINCE per RFC 7162 3.1.3)."""
        fl = normalize_flags(flags)
        uid_list = list(uids)

        def op(conn: apsw.Connection, tx: Tx) -> SetFlagsResult:
            mb = mailboxes.get(conn, mailbox)
            return messages.set_flags(
                conn, tx, mb, uid_list, mode, fl, unchanged_since, lambda: counts.next_modseq(conn)
            )

        return self._write(op, origin)

    def copy(
        self, src: int | str, uids: Iterable[int], dst: int | str, origin: object | None = None
    ) -> CopyResult:
        """Copy messages (RFC 9051 COPY, RFC 4315 COPYUID data in the result); quota-checked."""
        uid_list = list(uids)
        limit = self._quota()

        def op(conn: apsw.Connection, tx: Tx) -> CopyResult:
            s, d = mailboxes.get(conn, src), mailboxes.get(conn, dst)
            modseq = counts.next_modseq(conn)
            su, du = messages.copy(conn, tx, s, uid_list, d, modseq, limit)
            return CopyResult(d.uidvalidity, tuple(su), tuple(du), modseq)

        return self._write(op, origin)

    def move(
        self, src: int | str, uids: Iterable[int], dst: int | str, origin: object | None = None
    ) -> CopyResult:
        """Move messages (RFC 6851): new UIDs in ``dst``, expunged from ``src``."""
        uid_list = list(uids)

        def op(conn: apsw.Connection, tx: Tx) -> CopyResult:
            s, d = mailboxes.get(conn, src), mailboxes.get(conn, dst)
            if s.id == d.id:
                raise ValueError("source and destination mailbox are the same")
            modseq = counts.next_modseq(conn)
            su, du = messages.move(conn, tx, s, uid_list, d, modseq)
            return CopyResult(d.uidvalidity, tuple(su), tuple(du), modseq)

        return self._write(op, origin)

    def expunge(
        self,
        mailbox: int | str,
        uids: Iterable[int] | None = None,
        only_deleted: bool = True,
        origin: object | None = None,
    ) -> ExpungeResult:
        """Remove messages: by default those with \\Deleted (among ``uids`` when given, as UID
        EXPUNGE, RFC 4315); with ``only_deleted=False`` the given messages regardless."""
        uid_list = None if uids is None else list(uids)

        def op(conn: apsw.Connection, tx: Tx) -> ExpungeResult:
            mb = mailboxes.get(conn, mailbox)
            removed, modseq = messages.expunge(
                conn, tx, mb, uid_list, only_deleted, lambda: counts.next_modseq(conn)
            )
            return ExpungeResult(tuple(removed), modseq)

        return self._write(op, origin)

    def tidy_rejects(
        self, mailbox: int | str, max_age: float = 14 * 86400, max_messages: int = 1000
    ) -> ExpungeResult:
        """Remove messages from a rejects mailbox older than ``max_age`` seconds, and the oldest
        beyond ``max_messages`` (mox's TidyRejectsMailbox); a missing mailbox is left alone."""

        def op(conn: apsw.Connection, tx: Tx) -> ExpungeResult:
            try:
                mb = mailboxes.get(conn, mailbox)
            except MailboxNotFound:
                return ExpungeResult((), 0)
            old = q(
                conn,
                "SELECT uid FROM message WHERE mailbox_id = ? AND (received < ? OR id NOT IN"
                " (SELECT id FROM message WHERE mailbox_id = ? ORDER BY received DESC, id DESC LIMIT ?))",
                (mb.id, time.time() - max_age, mb.id, max_messages),
            )
            removed, modseq = messages.expunge(
                conn, tx, mb, [r[0] for r in old], False, lambda: counts.next_modseq(conn)
            )
            return ExpungeResult(tuple(removed), modseq)

        return self._write(op)

    def remove_by_message_id(self, mailbox: int | str, message_id: str) -> ExpungeResult:
        """Remove the messages with this Message-ID from a mailbox (a rejected message that was
        later accepted, as mox does with its Rejects mailbox); no-op for an unknown mailbox."""
        mid = message_id.strip().strip("<>").lower()

        def op(conn: apsw.Connection, tx: Tx) -> ExpungeResult:
            try:
                mb = mailboxes.get(conn, mailbox)
            except MailboxNotFound:
                return ExpungeResult((), 0)
            uids = [
                r[0]
                for r in q(
                    conn, "SELECT uid FROM message WHERE mailbox_id = ? AND message_id = ?", (mb.id, mid)
                )
            ]
            removed, modseq = messages.expunge(conn, tx, mb, uids, False, lambda: counts.next_modseq(conn))
            return ExpungeResult(tuple(removed), modseq)

        if not mid:
            return ExpungeResult((), 0)
        return self._write(op)

    def set_thread(
        self,
        message_ids: Iterable[int],
        muted: bool | None = None,
        collapsed: bool | None = None,
        origin: object | None = None,
    ) -> int:
        """Mute/collapse the threads of the given messages (muting also marks them read)."""
        ids = list(message_ids)
        return self._write(lambda conn, tx: metadata.set_thread(conn, tx, ids, muted, collapsed), origin)

    # --- mailbox writes ---

    def create_mailbox(
        self, name: str, special_use: str = "", subscribe: bool = True, origin: object | None = None
    ) -> Mailbox:
        return self._write(
            lambda conn, tx: mailboxes.create(
                conn, tx, name, counts.next_modseq(conn), special_use, subscribe
            ),
            origin,
        )

    def rename_mailbox(self, old: int | str, new: str, origin: object | None = None) -> Mailbox:
        return self._write(
            lambda conn, tx: mailboxes.rename(conn, tx, old, new, counts.next_modseq(conn)), origin
        )

    def delete_mailbox(self, mailbox: int | str, origin: object | None = None) -> Mailbox:
        return self._write(
            lambda conn, tx: mailboxes.delete(conn, tx, mailbox, counts.next_modseq(conn)), origin
        )

    def set_subscribed(self, name: str, on: bool, origin: object | None = None) -> None:
        self._write(lambda conn, tx: mailboxes.set_subscribed(conn, tx, name, on), origin)

    def set_special_use(self, mailbox: int | str, use: str, origin: object | None = None) -> Mailbox:
        return self._write(
            lambda conn, tx: mailboxes.set_special_use(conn, tx, mailbox, use, counts.next_modseq(conn)),
            origin,
        )

    def set_annotation(
        self,
        mailbox: int | str | None,
        key: str,
        value: bytes | None,
        is_string: bool = True,
        origin: object | None = None,
    ) -> int:
        """Set (or with None delete) a METADATA entry; returns the modseq."""
        return self._write(
            lambda conn, tx: metadata.set_annotation(conn, tx, mailbox, key, value, is_string), origin
        )

    def set_setting(self, key: str, value: str | None) -> None:
        def op(conn: apsw.Connection, tx: Tx) -> None:
            if value is None:
                conn.execute("DELETE FROM setting WHERE key = ?", (key,))
            else:
                conn.execute("INSERT OR REPLACE INTO setting(key, value) VALUES (?, ?)", (key, value))

        self._write(op)

    def set_setting_later(self, key: str, value: Callable[[], str]) -> concurrent.futures.Future[None]:
        """Queue a setting write without waiting for its commit; ``value()`` is called on the
        writer thread when the write runs, so a burst of updates can share one write of the
        latest value. The future reports the outcome (nobody need wait for it)."""

        def op(conn: apsw.Connection, tx: Tx) -> None:
            conn.execute("INSERT OR REPLACE INTO setting(key, value) VALUES (?, ?)", (key, value()))

        return self._writer.submit(op)

    def add_recipients(self, addresses: Iterable[tuple[str, str, str]], sent: float | None = None) -> None:
        """Record (localpart, domain, organizational domain) the account sent a message to."""
        rows = [(lp, d.lower(), (od or d).lower(), sent or time.time()) for lp, d, od in addresses]

        def op(conn: apsw.Connection, tx: Tx) -> None:
            conn.executemany(
                "INSERT INTO recipient(localpart, domain, org_domain, sent) VALUES (?, ?, ?, ?)", rows
            )

        if rows:
            self._write(op)

    # --- consistency ---

    def verify(self) -> list[str]:
        """Check every invariant; return the problems found (empty when consistent)."""
        from app.store import maintenance

        def run(conn: apsw.Connection) -> list[str]:
            conn.execute("BEGIN")
            try:
                return maintenance.verify(conn)
            finally:
                conn.execute("COMMIT")

        return self._read(run)

    def recalculate_counts(self) -> int:
        from app.store import maintenance

        return self._write(maintenance.recalculate_counts)

    def bump_uidvalidity(self, mailbox: int | str | None = None) -> int:
        from app.store import maintenance

        return self._write(lambda conn, tx: maintenance.bump_uidvalidity(conn, tx, mailbox))

    def reassign_uids(self, mailbox: int | str | None = None) -> int:
        from app.store import maintenance

        return self._write(lambda conn, tx: maintenance.reassign_uids(conn, tx, mailbox))

    def fix_uid_meta(self) -> int:
        from app.store import maintenance

        return self._write(maintenance.fix_uid_meta)

    def reassign_threads(self) -> int:
        from app.store import maintenance

        return self._write(maintenance.reassign_threads)


def _ensure_initial(conn: apsw.Connection, initial: InitialMailboxes) -> None:
    """Create Inbox and the initial mailboxes in a new database (run before the writer starts)."""
    if q(conn, "SELECT 1 FROM mailbox WHERE name = 'Inbox'"):
        return
    tx = Tx()
    with conn:
        modseq = counts.next_modseq(conn)
        mailboxes.create(conn, tx, "Inbox", modseq)
        wanted = [(name, use) for use, name in initial.special_use.items()] + [
            (n, "") for n in initial.regular
        ]
        for name, use in wanted:
            try:
                mailboxes.create(conn, tx, name, modseq, use)
            except MailboxExists:
                pass
