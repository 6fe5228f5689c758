"""Connections of the queue database: one writer thread with group commit, and pooled readers.

The same design as the message store's writer (``app.store.writer``, DESIGN.md "Storage"):
producers (asyncio code through the pool, waitress threads, the delivery loop) call
``QueueWriter.run(fn, durable)``; ``fn(conn)`` runs on the writer thread. The writer takes every
write queued so far, runs each in its own SAVEPOINT (a failing write rolls back alone and its
caller gets the exception), commits once, runs the group's after-commit hooks and only then
wakes the callers. A group with a durable write commits with ``synchronous=FULL`` (one fsync for
the whole group), so a returned durable write is on disk; delivery bookkeeping alone commits
with ``synchronous=NORMAL`` (see ``QueueDB``). The thread, the grouping and the transaction
handling are ``app.store.groupcommit``'s; this module adds the durability choice per group and
the after-commit hooks, which get the write connection.

Readers check a read-only connection out of a small pool for each query: in WAL mode they never
wait for the writer or for each other.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import apsw

from app import mlog
from app.store.groupcommit import GroupCommitWriter, Job, Latch
from app.store.readpool import ReaderPool

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


class _Job(Job[Tx, T]):
    __slots__ = ("durable",)

    def __init__(
        self,
        fn: Callable[[apsw.Connection, Tx], T],
        durable: bool,
        future: concurrent.futures.Future[T] | Latch[T],
    ) -> None:
        super().__init__(fn, Tx(), future=future)
        self.durable = durable


class QueueWriter(GroupCommitWriter[_Job[Any]]):
    """Owns the write connection; its thread starts on construction."""

    max_group = MAX_GROUP

    def __init__(self, conn: apsw.Connection, name: str = "queue") -> None:
        self._durable: bool | None = None  # the connection's current synchronous setting
        super().__init__(
            conn, f"{name}-writer", log, "queue", lambda: QueueClosed("queue database is closed")
        )

    def submit(
        self, fn: Callable[[apsw.Connection, Tx], T], durable: bool = True
    ) -> concurrent.futures.Future[T]:
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._enqueue(_Job(fn, durable, fut))
        return fut

    def run(self, fn: Callable[[apsw.Connection, Tx], T], durable: bool = True) -> T:
        """Queue a write and wait until its transaction committed."""
        self._check_thread()
        latch: Latch[T] = Latch()
        self._enqueue(_Job(fn, durable, latch))
        return latch.result()

    def _prepare(self, jobs: list[_Job[Any]]) -> None:
        # One fsync at commit when any write of the group must be durable.
        durable = any(j.durable for j in jobs)
        if durable != self._durable:
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._durable = durable

    def _undo_job(self, job: _Job[Any], mark: Any) -> None:
        job.tx.after_commit.clear()

    def _after_commit(self, done: list[_Job[Any]]) -> None:
        conn = self._conn
        for j in done:
            for f in j.tx.after_commit:
                try:
                    f(conn)
                except Exception as e:
                    log.exception("queue after-commit hook", e)


def _open_reader(path: Path) -> apsw.Connection:
    c = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    c.set_busy_timeout(10_000)
    return c


def reader_pool(path: Path) -> ReaderPool:
    """Read-only connections of the queue database, a few kept idle (the store's pool)."""
    return ReaderPool(path, "queue", 4, _open_reader, lambda: QueueClosed("queue database is closed"))
