"""Group commit: the single writer thread of one SQLite database (DESIGN.md "Storage").

Producers call ``submit`` from any thread; the job's ``fn(conn, tx)`` runs on the writer thread
inside a transaction. The writer takes every job queued so far (up to ``max_group``), runs each in
its own SAVEPOINT (a failing job rolls back alone and its caller gets the exception), commits once
(one fsync for the whole group), runs the subclass's after-commit work (publishing changes,
hooks) and only then completes the callers' futures. So a completed future means the data is
durable, and whatever the after-commit work announces is already visible to readers.

``GroupCommitWriter`` holds that machinery; the message store's ``Writer`` and the queue's
``QueueWriter`` subclass it and override a few hooks:

- ``_prepare(jobs)``: before BEGIN (an ``apsw.Error`` here fails the whole group);
- ``_start_job(job)`` / ``_undo_job(job, mark)``: per-job state next to the SAVEPOINT, undone
  when the job fails (``mark`` is what ``_start_job`` returned);
- ``_before_commit(jobs)``: last writes of the group, inside the transaction;
- ``_after_commit(done)``: after COMMIT, before any future completes, with the jobs that succeeded;
- ``_map_error(e)``: the exception a caller sees for a database error or an interrupted writer.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import apsw

from app import mlog

T = TypeVar("T")
TxT = TypeVar("TxT")
JobT = TypeVar("JobT", bound="Job[Any, Any]")


class Job(Generic[TxT, T]):
    """One queued write: its function, the state it records while running, and its future."""

    __slots__ = ("fn", "future", "tx")

    def __init__(self, fn: Callable[[apsw.Connection, TxT], T], tx: TxT) -> None:
        self.fn = fn
        self.tx = tx
        self.future: concurrent.futures.Future[T] = concurrent.futures.Future()


_STOP = object()


class GroupCommitWriter(Generic[JobT]):
    """Owns the write connection of one database; its thread starts on construction."""

    max_group = 1000  # jobs per transaction; bounds the time readers' WAL snapshots grow

    def __init__(
        self,
        conn: apsw.Connection,
        thread_name: str,
        log: mlog.Log,
        kind: str,
        closed: Callable[[], Exception],
    ) -> None:
        """``kind`` names the writer in messages; ``closed()`` is raised by submits after close."""
        self._conn = conn
        self._log = log
        self._kind = kind
        self._closed_error = closed
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.commits = 0  # transactions committed (tests, benchmarks)
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    # --- producers' side ---

    def _enqueue(self, job: JobT) -> None:
        with self._lock:
            if self._closed:
                raise self._closed_error()
            self._q.put(job)

    def _check_thread(self) -> None:
        """Waiting for a write on the writer thread would never return."""
        if threading.current_thread() is self._thread:
            raise RuntimeError(f"{self._kind} write called from the writer thread")

    def close(self) -> None:
        """Finish the queued writes, stop the thread and close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._q.put(_STOP)
        self._thread.join()
        self._conn.close()

    # --- hooks for subclasses ---

    def _prepare(self, jobs: list[JobT]) -> None:
        """Before BEGIN IMMEDIATE of a group."""

    def _start_job(self, job: JobT) -> Any:
        """Before a job runs; the result is passed to ``_undo_job`` if it fails."""
        return None

    def _undo_job(self, job: JobT, mark: Any) -> None:
        """A job failed: forget what it recorded outside the database."""

    def _before_commit(self, jobs: list[JobT]) -> None:
        """Inside the transaction, after the last job; an ``apsw.Error`` fails the group."""

    def _after_commit(self, done: list[JobT]) -> None:
        """After COMMIT, before the futures complete; ``done`` are the jobs that succeeded."""

    def _map_error(self, e: BaseException) -> BaseException:
        """The exception callers see for ``e`` (a job's own error, or the group's)."""
        return e if isinstance(e, Exception) else RuntimeError(f"writer interrupted: {e!r}")

    # --- the writer thread ---

    def _fail(self, jobs: list[JobT], e: BaseException) -> None:
        err = self._map_error(e)
        for j in jobs:
            if not j.future.done():
                j.future.set_exception(err)

    def _run(self) -> None:
        stop = False
        max_group = self.max_group
        while not stop:
            first = self._q.get()
            if first is _STOP:
                break
            jobs: list[JobT] = [first]
            while len(jobs) < max_group:
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
                self._log.exception(f"{self._kind} writer", e)
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except apsw.Error:
                    pass
                self._fail(jobs, e)

    def _rollback_savepoint(self) -> bool:
        """Undo the failed job; False when no transaction is left to continue in."""
        conn = self._conn
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK TO w")
                conn.execute("RELEASE w")
            except apsw.Error as e:
                self._log.error("rollback to savepoint failed", err=e)
        return bool(conn.in_transaction)

    def _group(self, jobs: list[JobT]) -> None:
        conn = self._conn
        results: list[tuple[JobT, bool, Any]] = []
        try:
            self._prepare(jobs)
            conn.execute("BEGIN IMMEDIATE")
        except apsw.Error as e:
            self._fail(jobs, e)
            return
        for n, j in enumerate(jobs):
            mark = self._start_job(j)
            try:
                conn.execute("SAVEPOINT w")
                r = j.fn(conn, j.tx)
                conn.execute("RELEASE w")
                results.append((j, True, r))
            except Exception as e:
                self._undo_job(j, mark)
                if not self._rollback_savepoint():
                    # SQLite rolled back the whole transaction (disk full, I/O error): the jobs
                    # before this one are gone too, and later ones must not run outside a
                    # transaction.
                    self._fail([x for x, _, _ in results] + jobs[n:], e)
                    return
                results.append((j, False, e))
        try:
            self._before_commit(jobs)
            conn.execute("COMMIT")
        except apsw.Error as e:
            self._log.error(f"{self._kind} commit failed", err=e)
            try:
                conn.execute("ROLLBACK")
            except apsw.Error:
                pass
            self._fail(jobs, e)
            return
        self.commits += 1
        self._after_commit([j for j, ok, _ in results if ok])
        for j, ok, r in results:
            if ok:
                j.future.set_result(r)
            else:
                j.future.set_exception(self._map_error(r))
