"""The pipeline of an import (``moxpy import``, see importer.py): source -> preparation ->
store, with bounded queues between the stages.

Preparing a message is the CPU-heavy part: finishing an mbox entry (mboxrd unquoting, CRLF,
flag headers; mailformats.py) and the store's analysis (MIME parse, preview per RFC 8970,
full-text index text, RFC 5256 threading fields; analysis.py). It runs in worker processes
(``multiprocessing`` with the "fork" start method, so a zipapp needs no re-import) while this
process reads the source and the account's writer thread commits earlier batches: on two
cores, preparation and the SQLite writes run side by side instead of taking turns on the
GIL. Where processes are not available (Windows, a single core, a daemonic process, a failed
fork) preparation runs in one helper thread of this process instead, which still overlaps
with the writer's SQLite work (apsw releases the GIL).

The first job is always prepared in a thread, so small imports never start processes.
Messages are committed in batches through ``append_prepared``, one transaction each, in
source order; memory is bounded by a window of jobs in preparation plus one batch being
collected and one being committed.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import multiprocessing
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from app import mlog
from app.store import analysis, messages
from app.store.account import Account
from app.store.mailformats import SourceMessage, mbox_message
from app.store.model import FlagSet, normalize_flags

log = mlog.get("store.import")

JOB_MESSAGES = 200  # messages per preparation job (one round trip to a worker)
JOB_BYTES = 2 << 20
# Worker processes: None is one per CPU (at most MAX_WORKERS; none on a single CPU); 0
# prepares in a thread of this process. Workers do not starve the writer: they wait when a
# batch's worth of jobs is prepared and not yet taken, and they have the CPU while the
# writer waits for its fsync. (Measured on 2 cores: 2 workers a bit faster than 1.)
WORKERS: int | None = None
MAX_WORKERS = 4
# Niceness added in workers: when all compete for the CPU, the writer thread (the stage that
# cannot be parallel) gets it first; measured on 2 cores: the writer's share of the wall
# time fell from ~95% to ~55% and the import got ~10% faster.
WORKER_NICE = 5


class MboxEntry(NamedTuple):
    """One raw mbox entry (``From `` line included), finished into a message by the worker."""

    raw: bytes
    origin: str


Entry = SourceMessage | MboxEntry


def mbox_entries(raw: Iterable[bytes], name: str) -> Iterator[MboxEntry]:
    """Raw entries of ``mailformats.split_mbox`` with their origin for error messages."""
    for n, r in enumerate(raw, 1):
        yield MboxEntry(r, f"{name} message {n}")


# Prepared messages cross the process boundary as plain tuples: a third cheaper to pickle
# and unpickle than the dataclasses (whose fields are read by name, so new fields just work).
PreparedTuple = tuple[bytes, tuple[Any, ...], frozenset[str], tuple[str, ...], float]
_ANALYZED_FIELDS = tuple(f.name for f in dataclasses.fields(analysis.Analyzed))


def prepare(job: Sequence[Entry]) -> list[PreparedTuple]:
    """Finish and analyze a job's messages (runs in a worker process or helper thread)."""
    now = time.time()
    out: list[PreparedTuple] = []
    flagsets: dict[tuple[str, ...], FlagSet] = {}
    for e in job:
        m = mbox_message(e.raw, e.origin) if isinstance(e, MboxEntry) else e
        an = analysis.analyze(m.data)
        key = tuple(m.flags)
        fl = flagsets.get(key)
        if fl is None:
            fl = flagsets[key] = normalize_flags(key)
        out.append(
            (
                m.data,
                tuple([getattr(an, f) for f in _ANALYZED_FIELDS]),
                fl.columns,
                fl.keywords,
                m.received or now,
            )
        )
    return out


def prepared(t: PreparedTuple) -> messages.Prepared:
    """The store's form of a message from ``prepare``."""
    data, an, columns, keywords, received = t
    return messages.Prepared(data, analysis.Analyzed(*an), FlagSet(columns, keywords), received)


def append_prepared(account: Account, mailbox_id: int, prepared: Sequence[messages.Prepared]) -> list[int]:
    """Add analyzed messages to a mailbox in one transaction (quota-checked); their UIDs."""
    return account.append_prepared(mailbox_id, prepared)[1]


def _size(e: Entry) -> int:
    return len(e.raw) if isinstance(e, MboxEntry) else len(e.data)


def jobs(entries: Iterable[Entry], max_messages: int, max_bytes: int) -> Iterator[list[Entry]]:
    job: list[Entry] = []
    size = 0
    for e in entries:
        job.append(e)
        size += _size(e)
        if len(job) >= max_messages or size >= max_bytes:
            yield job
            job, size = [], 0
    if job:
        yield job


def _worker_init() -> None:
    """Start of a forked worker: only the forking thread exists here. Signals are the parent's
    business (Ctrl-C reaches the whole process group; the parent stops us), and a wakeup fd
    inherited from an event loop must not hear of signals meant for this process (mlog renews
    its output lock after a fork itself). The worker runs at a lower priority, so the writer
    (the serial stage) and a live server's connections come first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    if WORKER_NICE and hasattr(os, "nice"):
        os.nice(WORKER_NICE)


def _worker_count() -> int:
    if WORKERS is not None:
        return WORKERS
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if n < 2 else min(MAX_WORKERS, n)


def start_processes(n: int) -> concurrent.futures.Executor | None:
    """A pool of ``n`` forked worker processes, started and checked; None when processes
    cannot be used here (no fork, a daemonic process, resources), so the caller stays in-process."""
    if n <= 0 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    if multiprocessing.current_process().daemon:
        return None  # daemonic processes may not have children
    pool: concurrent.futures.ProcessPoolExecutor | None = None
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns that fork() with threads may deadlock the child; the child
            # only runs _worker_init and prepare, which take no lock another thread may hold
            # apart from the log lock that _worker_init replaces.
            warnings.simplefilter("ignore", DeprecationWarning)
            pool = concurrent.futures.ProcessPoolExecutor(
                n, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init
            )
            pool.submit(os.getpid).result(timeout=60)  # forks the workers now
        return pool
    except Exception as e:
        log.info("import: no worker processes, preparing messages in-process", err=e)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        return None


def run(
    account: Account,
    mailbox_id: int,
    entries: Iterable[Entry],
    added: list[int],
    *,
    batch_messages: int,
    batch_bytes: int,
    progress: Callable[[int], object] | None = None,
    check_abort: Callable[[], None] = lambda: None,
) -> None:
    """Prepare and store ``entries`` in order, appending committed UIDs to ``added`` (also on
    failure: the caller undoes what is in ``added``). ``check_abort`` raises to stop."""
    job_messages = max(1, min(JOB_MESSAGES, batch_messages))
    job_bytes = min(JOB_BYTES, batch_bytes)
    thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="import-prepare")
    store = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="import-store")
    procs: concurrent.futures.Executor | None = None
    started = False
    nworkers = _worker_count()
    # Jobs in preparation, at most about one batch: enough to keep the workers busy while
    # the previous batch commits, and a bound on memory.
    preparing: collections.deque[tuple[concurrent.futures.Future[list[PreparedTuple]], int, int]]
    preparing = collections.deque()
    inflight_messages = inflight_bytes = 0
    ready: list[messages.Prepared] = []
    ready_bytes = 0
    writing: concurrent.futures.Future[list[int]] | None = None

    def finish_write() -> None:
        nonlocal writing
        if writing is not None:
            fut, writing = writing, None
            added.extend(fut.result())
            if progress is not None:
                progress(len(added))

    def commit() -> None:
        nonlocal ready, ready_bytes, writing
        finish_write()
        if ready:
            batch, ready, ready_bytes = ready, [], 0
            writing = store.submit(append_prepared, account, mailbox_id, batch)

    def collect() -> None:
        nonlocal ready_bytes, inflight_messages, inflight_bytes
        fut, nmsgs, nbytes = preparing.popleft()
        inflight_messages -= nmsgs
        inflight_bytes -= nbytes
        for t in fut.result():
            p = prepared(t)
            ready.append(p)
            ready_bytes += len(p.data)
            if len(ready) >= batch_messages or ready_bytes >= batch_bytes:
                commit()
        if writing is not None and writing.done():
            finish_write()

    try:
        for job in jobs(entries, job_messages, job_bytes):
            check_abort()
            executor: concurrent.futures.Executor = thread
            if preparing or started:
                if not started:
                    started = True
                    procs = start_processes(nworkers)
                if procs is not None:
                    executor = procs
            size = sum(_size(e) for e in job)
            preparing.append((executor.submit(prepare, job), len(job), size))
            inflight_messages += len(job)
            inflight_bytes += size
            while len(preparing) > 2 and (inflight_messages > batch_messages or inflight_bytes > batch_bytes):
                collect()
        while preparing:
            collect()
        commit()
        finish_write()
        check_abort()
    finally:
        for f, _, _ in preparing:
            f.cancel()
        if writing is not None:
            try:
                added.extend(writing.result())
            except Exception:
                pass  # that batch's transaction did not commit
        store.shutdown(wait=True)
        thread.shutdown(wait=True, cancel_futures=True)
        if procs is not None:
            procs.shutdown(wait=True, cancel_futures=True)
