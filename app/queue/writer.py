"""Connections of the queue database: one writer thread with group commit, and pooled readers.

The same design as the message store's writer (``app.store.writer``, DESIGN.md "Storage"):
producers (asyncio code through the pool, waitress threads, the delivery loop) call
``QueueWriter.run(fn, durable)``; ``fn(conn)`` runs on the writer thread. The writer takes every
write queued so far, runs each in its own SAVEPOINT (a failing write rolls back alone and its
caller gets the exception), commits once, runs the group's after-commit hooks and only then
wakes the callers. A group with a durable write commits with ``synchronous=FULL`` (one fsync for
the whole group), so a returned durable write is on disk; delivery bookkeeping alone commits
with ``synchronous=NORMAL`` (see ``QueueDB``).

Readers check a read-only connection out of a small pool for each query: in WAL mode they never
wait for the writer or for each other.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

import apsw

from app import mlog

T = TypeVar("T")
log = mlog.get("queue")

MAX_GROUP = 1000  # writes per transaction
MAX_IDLE_READERS = 4


class QueueClosed(Exception):
    """The queue database was closed."""


class Tx:
    """What one write records while it runs: hooks to call after its group committed."""

    __slots__ = ("after_commit",)

    def __init__(self) -> None:
        self.after_commit: list[Callable[[apsw.Connection], None]] = []


class _Job(Generic[T]):
    __slots__ = ("durable", "fn", "future", "tx")

    def __init__(self, fn: Callable[[apsw.Connection, Tx], T], durable: bool) -> None:
        self.fn = fn
        self.durable = durable
        self.future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.tx = Tx()


_STOP = object()


class QueueWriter:
    """Owns the write connection; its thread starts on construction."""

    def __init__(self, conn: apsw.Connection, name: str = "queue") -> None:
        self._conn = conn
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._durable: bool | None = None  # the connection's current synchronous setting
        self.commits = 0  # transactions committed (tests, benchmarks)
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[apsw.Connection, Tx], T], durable: bool = True) -> concurrent.futures.Future[T]:
        job: _Job[T] = _Job(fn, durable)
        with self._lock:
            if self._closed:
                raise QueueClosed("queue database is closed")
            self._q.put(job)
        return job.future

    def run(self, fn: Callable[[apsw.Connection, Tx], T], durable: bool = True) -> T:
        """Queue a write and wait until its transaction committed."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("queue write called from the writer thread")
        return self.submit(fn, durable).result()

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
                log.exception("queue writer", e)
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except apsw.Error:
                    pass
                _fail(jobs, e if isinstance(e, Exception) else RuntimeError(f"writer interrupted: {e!r}"))

    def _set_durable(self, durable: bool) -> None:
        if durable != self._durable:
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._durable = durable

    def _group(self, jobs: list[_Job[Any]]) -> None:
        conn = self._conn
        results: list[tuple[_Job[Any], bool, Any]] = []
        try:
            self._set_durable(any(j.durable for j in jobs))
            conn.execute("BEGIN IMMEDIATE")
        except apsw.Error as e:
            _fail(jobs, e)
            return
        for n, j in enumerate(jobs):
            try:
                conn.execute("SAVEPOINT w")
                r = j.fn(conn, j.tx)
                conn.execute("RELEASE w")
                results.append((j, True, r))
            except Exception as e:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK TO w")
                        conn.execute("RELEASE w")
                    except apsw.Error as e2:
                        log.error("rollback to savepoint failed", err=e2)
                if not conn.in_transaction:
                    # SQLite rolled back the whole transaction (disk full, I/O error): the writes
                    # before this one are gone too.
                    _fail([x for x, _, _ in results] + jobs[n:], e)
                    return
                j.tx.after_commit.clear()
                results.append((j, False, e))
        try:
            conn.execute("COMMIT")
        except apsw.Error as e:
            log.error("queue commit failed", err=e)
            try:
                conn.execute("ROLLBACK")
            except apsw.Error:
                pass
            _fail(jobs, e)
            return
        self.commits += 1
        for j, ok, _r in results:
            for f in j.tx.after_commit if ok else ():
                try:
                    f(conn)
                except Exception as e:
                    log.exception("queue after-commit hook", e)
        for j, ok, r in results:
            if ok:
                j.future.set_result(r)
            else:
                j.future.set_exception(r)


def _fail(jobs: list[_Job[Any]], e: BaseException) -> None:
    for j in jobs:
        if not j.future.done():
            j.future.set_exception(e)


class ReaderPool:
    """Read-only connections, one per concurrent reader, a few kept idle."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._idle: list[apsw.Connection] = []
        self._closed = False

    @contextmanager
    def conn(self) -> Iterator[apsw.Connection]:
        with self._lock:
            if self._closed:
                raise QueueClosed("queue database is closed")
            c = self._idle.pop() if self._idle else None
        if c is None:
            c = apsw.Connection(str(self._path), flags=apsw.SQLITE_OPEN_READONLY)
            c.set_busy_timeout(10_000)
        ok = False
        try:
            yield c
            ok = True
        finally:
            keep = ok and not c.in_transaction
            with self._lock:
                if keep and not self._closed and len(self._idle) < MAX_IDLE_READERS:
                    self._idle.append(c)
                    c = None
            if c is not None:
                try:
                    c.close()
                except apsw.Error:
                    pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for c in idle:
            try:
                c.close()
            except apsw.Error:
                pass
