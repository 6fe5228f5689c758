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
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import apsw

from app import mlog

T = TypeVar("T")
TxT = TypeVar("TxT")
JobT = TypeVar("JobT", bound="Job[Any, Any]")


# How a job may join the jobs queued right after it (see Job): (run_many, key).
Batch = tuple[Callable[[apsw.Connection, list[Any]], list[Any]], object]


class Job(Generic[TxT, T]):
    """One queued write: its function, the state it records while running, and its future.

    ``batch`` optionally lets the writer run this job together with the jobs queued right after
    it that carry an equal ``batch``: ``(run_many, key)``, where ``run_many(conn, jobs)`` does the
    work of all of them at once (fewer statements per job) and returns one result per job, and
    ``arg`` is what ``run_many`` reads of each job. ``fn`` stays the way to run the job alone.
    """

    __slots__ = ("arg", "batch", "fn", "future", "tx")

    def __init__(
        self,
        fn: Callable[[apsw.Connection, TxT], T],
        tx: TxT,
        batch: Batch | None = None,
        arg: Any = None,
        future: concurrent.futures.Future[T] | Latch[T] | None = None,
    ) -> None:
        self.fn = fn
        self.tx = tx
        self.batch = batch
        self.arg = arg
        # A caller that blocks until the commit (run()) passes a Latch; submit() a Future.
        self.future: concurrent.futures.Future[T] | Latch[T] = (
            future if future is not None else concurrent.futures.Future()
        )


class Latch(Generic[T]):
    """The outcome of one write for a caller that waits for it: a lock released once.

    Half the cost of a ``concurrent.futures.Future`` (no condition variable) for the usual case
    of exactly one waiter; ``submit`` still hands out real futures for callers that want
    callbacks."""

    __slots__ = ("_done", "_lock", "_ok", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._done = False
        self._ok = False
        self._value: Any = None

    def done(self) -> bool:
        return self._done

    def set_result(self, value: T) -> None:
        self._ok, self._value, self._done = True, value, True
        self._lock.release()

    def set_exception(self, e: BaseException) -> None:
        self._ok, self._value, self._done = False, e, True
        self._lock.release()

    def result(self) -> T:
        """Wait for the outcome; raise the write's exception if it failed."""
        with self._lock:  # released by set_result/set_exception; released again for other waiters
            pass
        if self._ok:
            return self._value  # type: ignore[no-any-return]
        raise self._value


_STOP = object()


class GroupCommitWriter(Generic[JobT]):
    """Owns the write connection of one database; its thread starts on construction."""

    max_group = 1000  # jobs per transaction; bounds the time readers' WAL snapshots grow
    GATHER_MAX = 0.001  # seconds a group waits at most for more writes (see _gather)
    GATHER_GAP = 0.0002  # ... and at most this long for each next one
    GATHER_BACKOFF = 8  # groups that do not wait after a wait that brought nothing

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
        self._gather_skip = 0  # groups left that start without waiting (see _gather)
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

    def _reset_job(self, job: JobT) -> None:
        """A batch holding the job failed and was undone: clear what the job recorded (it runs
        again alone)."""

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

    def _take(self, jobs: list[JobT], block: float | None) -> bool:
        """Move queued jobs into ``jobs`` (up to ``max_group``), waiting up to ``block`` seconds
        for the first when nothing is queued (None: no wait); False when told to stop."""
        while len(jobs) < self.max_group:
            try:
                j = self._q.get(timeout=block) if block is not None else self._q.get_nowait()
            except queue.Empty:
                return True
            block = None
            if j is _STOP:
                return False
            jobs.append(j)
        return True

    def _gather(self, jobs: list[JobT], expect: int) -> bool:
        """Wait briefly for the writers of the last group to queue their next write.

        The callers whose writes just committed often write again right away (an SMTP session's
        next message, an import's next batch). Taking the queue at once splits the writers into
        two alternating halves, each paying a commit; waiting ``GATHER_GAP`` at a time while more
        arrive, for at most ``GATHER_MAX`` in all, lets one commit serve them all (as PostgreSQL's
        commit_delay does). With no concurrency (``expect`` < 2) it never waits, and after a wait
        that brought nothing it skips the next ``GATHER_BACKOFF`` groups (writers that come back
        later than a gap, such as network clients, would only be delayed)."""
        if expect < 2 or self.GATHER_MAX <= 0:
            return True
        if self._gather_skip > 0:
            self._gather_skip -= 1
            return True
        deadline = time.monotonic() + self.GATHER_MAX
        want = len(jobs) + expect
        start = len(jobs)
        while len(jobs) < min(want, self.max_group):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            n = len(jobs)
            if not self._take(jobs, min(self.GATHER_GAP, left)):
                return False
            if len(jobs) == n:
                break  # nothing came within the gap: the burst is over
        if len(jobs) == start:
            self._gather_skip = self.GATHER_BACKOFF
        return True

    def _run(self) -> None:
        stop = False
        last = 0  # size of the previous group
        while not stop:
            first = self._q.get()
            if first is _STOP:
                break
            jobs: list[JobT] = [first]
            stop = not self._take(jobs, None)
            if not stop:
                stop = not self._gather(jobs, last)
            last = len(jobs)
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

    def _batch_run(self, jobs: list[JobT], n: int) -> int:
        """How many jobs from ``jobs[n]`` on can run as one batch (1: run it alone)."""
        b = jobs[n].batch
        if b is None:
            return 1
        k = n + 1
        while k < len(jobs) and jobs[k].batch == b:
            k += 1
        return k - n

    def _try_batch(self, run: list[JobT]) -> list[Any] | None:
        """Run jobs as one batch in one SAVEPOINT; None when it failed and was undone (the caller
        then runs them one by one, so only a failing job fails)."""
        conn = self._conn
        assert run[0].batch is not None
        mark = self._start_job(run[0])
        try:
            conn.execute("SAVEPOINT w")
            res = run[0].batch[0](conn, run)
            conn.execute("RELEASE w")
            return res
        except Exception as e:
            self._log.debug(f"{self._kind} batch of {len(run)} failed, running them one by one", err=e)
            self._undo_job(run[0], mark)
            for j in run:
                self._reset_job(j)
            if not self._rollback_savepoint():
                raise
            return None

    def _group(self, jobs: list[JobT]) -> None:
        conn = self._conn
        results: list[tuple[JobT, bool, Any]] = []
        try:
            self._prepare(jobs)
            conn.execute("BEGIN IMMEDIATE")
        except apsw.Error as e:
            self._fail(jobs, e)
            return
        n = 0
        alone_until = 0  # jobs of a failed batch run alone, up to this index
        while n < len(jobs):
            k = self._batch_run(jobs, n) if n >= alone_until else 1
            if k > 1:
                try:
                    res = self._try_batch(jobs[n : n + k])
                except Exception as e:
                    # The batch's failure took the whole transaction with it.
                    self._fail([x for x, _, _ in results] + jobs[n:], e)
                    return
                if res is not None:
                    results.extend((x, True, r) for x, r in zip(jobs[n : n + k], res, strict=True))
                    n += k
                    continue
                alone_until = n + k
            j = jobs[n]
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
            n += 1
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
