"""The single writer thread of one account database, with group commit.

Producers call ``Writer.submit(fn)`` from any thread; ``fn(conn, tx)`` runs on the writer thread
inside a transaction. The writer takes every write queued so far, runs each in its own SAVEPOINT
(a failing write rolls back alone and its caller gets the exception), commits once with
``synchronous=FULL`` (one fsync for the whole group), publishes the changes the writes recorded
in ``tx``, and only then completes the callers' futures. So a completed future means the data is
durable, and subscribers never hear of a change before it is visible to readers.

The thread, the grouping and the transaction handling are ``app.store.groupcommit``'s; this
module adds the store's parts: full-text rows queued by the group's writes (``PendingText``) are
inserted just before the commit, and the changes are published after it.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any, TypeVar

import apsw

from app import mlog
from app.store.blobs import PendingText
from app.store.changes import Broadcaster, Change
from app.store.errors import StorageFailure, StoreClosed
from app.store.groupcommit import Batch, GroupCommitWriter, Job, Latch

T = TypeVar("T")
log = mlog.get("store")

MAX_GROUP = 2000  # writes per transaction; bounds the time readers' WAL snapshots grow


class Tx:
    """What one write records while it runs: changes to publish after the commit."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.origin: object | None = None
        self.after_commit: list[Callable[[], None]] = []
        # Full-text rows to insert at the end of the group (shared by the group's writes).
        self.fts: PendingText | None = None

    def add(self, c: Change) -> None:
        self.changes.append(c)


class Writer(GroupCommitWriter[Job[Tx, Any]]):
    """Owns the write connection of one database; started on construction."""

    max_group = MAX_GROUP
    # Deliveries and appends come from threads that analyse their next message before writing
    # again (slower than a queue insert): a wider gathering window lets more of them share a
    # commit (measured on a slowed host: +10-20% deliveries/s, +15% with a slow disk).
    GATHER_MAX = 0.003
    GATHER_GAP = 0.0008
    GATHER_BACKOFF = 4

    def __init__(self, conn: apsw.Connection, broadcaster: Broadcaster, name: str) -> None:
        self._b = broadcaster
        self._fts = PendingText()  # the current group's full-text rows (writer thread only)
        # Seconds to sleep after each commit: the benchmarks' stand-in for a slow disk.
        self.commit_delay = 0.0
        super().__init__(conn, f"store-writer-{name}", log, "store", lambda: StoreClosed("account is closed"))

    def submit(
        self,
        fn: Callable[[apsw.Connection, Tx], T],
        origin: object | None = None,
        batch: Batch | None = None,
        arg: Any = None,
    ) -> concurrent.futures.Future[T]:
        """Queue a write; the future completes after its transaction committed. ``batch`` and
        ``arg``: see ``groupcommit.Job``."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue_job(fn, origin, batch, arg, fut)
        return fut

    def run(
        self,
        fn: Callable[[apsw.Connection, Tx], T],
        origin: object | None = None,
        batch: Batch | None = None,
        arg: Any = None,
    ) -> T:
        """Queue a write and wait for it to commit."""
        self._check_thread()
        latch: Latch[T] = Latch()
        self._queue_job(fn, origin, batch, arg, latch)
        return latch.result()

    def _queue_job(
        self,
        fn: Callable[[apsw.Connection, Tx], T],
        origin: object | None,
        batch: Batch | None,
        arg: Any,
        future: concurrent.futures.Future[T] | Latch[T],
    ) -> None:
        tx = Tx()
        tx.origin = origin
        self._enqueue(Job(fn, tx, batch, arg, future))

    def _prepare(self, jobs: list[Job[Tx, Any]]) -> None:
        self._fts = fts = PendingText()
        for j in jobs:
            j.tx.fts = fts

    def _start_job(self, job: Job[Tx, Any]) -> int:
        return self._fts.mark()

    def _undo_job(self, job: Job[Tx, Any], mark: int) -> None:
        self._fts.undo(mark)

    def _reset_job(self, job: Job[Tx, Any]) -> None:
        job.tx.changes.clear()
        job.tx.after_commit.clear()

    def _before_commit(self, jobs: list[Job[Tx, Any]]) -> None:
        self._fts.flush(self._conn)

    def _after_commit(self, done: list[Job[Tx, Any]]) -> None:
        if self.commit_delay:
            time.sleep(self.commit_delay)
        for j in done:
            tx = j.tx
            if tx.changes:
                try:
                    self._b.publish(tx.changes, tx.origin)
                except Exception as e:
                    log.exception("publishing changes", e)
            for f in tx.after_commit:
                try:
                    f()
                except Exception as e:
                    log.exception("after-commit hook", e)

    def _map_error(self, e: BaseException) -> BaseException:
        if isinstance(e, apsw.Error):
            err = StorageFailure(f"database error: {e}")
            err.__cause__ = e
            return err
        if not isinstance(e, Exception):
            return StorageFailure(f"writer interrupted: {e!r}")
        return e
