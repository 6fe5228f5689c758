"""The single writer thread of one account database, with group commit.

Producers call ``Writer.submit(fn)`` from any thread; ``fn(conn, tx)`` runs on the writer thread
inside a transaction. The writer takes every write queued so far, runs each in its own SAVEPOINT
(a failing write rolls back alone and its caller gets the exception), commits once with
``synchronous=FULL`` (one fsync for the whole group), publishes the changes the writes recorded
in ``tx``, and only then completes the callers' futures. So a completed future means the data is
durable, and subscribers never hear of a change before it is visible to readers.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import apsw

from app import mlog
from app.store.blobs import PendingText
from app.store.changes import Broadcaster, Change
from app.store.errors import StorageFailure, StoreClosed

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


class _Job(Generic[T]):
    __slots__ = ("fn", "future", "origin", "tx")

    def __init__(self, fn: Callable[[apsw.Connection, Tx], T], origin: object | None) -> None:
        self.fn = fn
        self.future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.origin = origin
        self.tx = Tx()


_STOP = object()


class Writer:
    """Owns the write connection of one database; started on construction."""

    def __init__(self, conn: apsw.Connection, broadcaster: Broadcaster, name: str) -> None:
        self._conn = conn
        self._b = broadcaster
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.commits = 0  # number of transactions committed (for tests and benchmarks)
        # Seconds to sleep after each commit: the benchmarks' stand-in for a slow disk.
        self.commit_delay = 0.0
        self._thread = threading.Thread(target=self._run, name=f"store-writer-{name}", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[apsw.Connection, Tx], T], origin: object | None = None) -> concurrent.futures.Future[T]:
        """Queue a write; the future completes after its transaction committed."""
        job: _Job[T] = _Job(fn, origin)
        with self._lock:
            if self._closed:
                raise StoreClosed("account is closed")
            self._q.put(job)
        return job.future

    def run(self, fn: Callable[[apsw.Connection, Tx], T], origin: object | None = None) -> T:
        """Queue a write and wait for it to commit."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("store write called from the writer thread")
        return self.submit(fn, origin).result()

    def _rollback_savepoint(self) -> bool:
        """Undo the failed write; False when no transaction is left to continue in."""
        conn = self._conn
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK TO w")
                conn.execute("RELEASE w")
            except apsw.Error as e:
                log.error("rollback to savepoint failed", err=e)
        return bool(conn.in_transaction)

    @staticmethod
    def _fail(jobs: list[_Job[Any]], e: BaseException) -> None:
        err: BaseException = e
        if isinstance(e, apsw.Error):
            err = StorageFailure(f"database error: {e}")
            err.__cause__ = e
        for j in jobs:
            if not j.future.done():
                j.future.set_exception(err)

    def close(self) -> None:
        """Finish the queued writes, stop the thread and close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._q.put(_STOP)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._q.get()
            if first is _STOP:
                break
            jobs: list[_Job[Any]] = [first]
            while len(jobs) < MAX_GROUP:
                try:
                    j = self._q.get_nowait()
                except queue.Empty:
                    break
                if j is _STOP:
                    stop = True
                    break
                jobs.append(j)
            try:
                self._group(jobs)
            except BaseException as e:
                # Never let the writer thread die with callers waiting on it.
                log.exception("store writer", e)
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except apsw.Error:
                    pass
                self._fail(jobs, e if isinstance(e, Exception) else StorageFailure(f"writer interrupted: {e!r}"))

    def _group(self, jobs: list[_Job[Any]]) -> None:
        conn = self._conn
        results: list[tuple[_Job[Any], bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except apsw.Error as e:
            self._fail(jobs, e)
            return
        fts = PendingText()
        for n, j in enumerate(jobs):
            j.tx.origin = j.origin
            j.tx.fts = fts
            mark = fts.mark()
            try:
                conn.execute("SAVEPOINT w")
                r = j.fn(conn, j.tx)
                conn.execute("RELEASE w")
                results.append((j, True, r))
            except Exception as e:
                fts.undo(mark)
                if not self._rollback_savepoint():
                    # SQLite rolled back the whole transaction (disk full, I/O error): the
                    # writes before this one are gone too, and later ones must not run outside
                    # a transaction.
                    self._fail([x for x, _, _ in results] + jobs[n:], e)
                    return
                results.append((j, False, e))
        try:
            fts.flush(conn)
            conn.execute("COMMIT")
        except apsw.Error as e:
            log.error("commit failed", err=e)
            try:
                conn.execute("ROLLBACK")
            except apsw.Error:
                pass
            self._fail(jobs, e)
            return
        self.commits += 1
        if self.commit_delay:
            time.sleep(self.commit_delay)
        for j, ok, _r in results:
            if ok and j.tx.changes:
                try:
                    self._b.publish(j.tx.changes, j.origin)
                except Exception as e:
                    log.exception("publishing changes", e)
            if ok:
                for f in j.tx.after_commit:
                    try:
                        f()
                    except Exception as e:
                        log.exception("after-commit hook", e)
        for j, ok, r in results:
            if ok:
                j.future.set_result(r)
            elif isinstance(r, apsw.Error):
                self._fail([j], r)
            else:
                j.future.set_exception(r)
