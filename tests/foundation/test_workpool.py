"""The worker pool behind run_blocking: results, exceptions and context variables reach the
awaiting coroutine; at most the bound runs at once, yet a call never waits while the bound
allows another thread; a cancelled waiter loses nothing else; shutdown cancels what has not
started and lets running calls finish."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from app import runtime
from app.workpool import WorkerPool

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def _run(pool: WorkerPool, fn: object) -> object:
    async def go() -> object:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        pool.submit(loop, fut, fn)  # type: ignore[arg-type]
        return await fut

    return asyncio.run(go())


def test_result_exception_and_context() -> None:
    pool = WorkerPool(2, "t")
    try:
        assert _run(pool, lambda: 42) == 42

        def boom() -> None:
            raise ValueError("bad")

        with pytest.raises(ValueError, match="bad"):
            _run(pool, boom)

        def stop() -> None:
            raise StopIteration

        with pytest.raises(RuntimeError, match="StopIteration"):
            _run(pool, stop)
    finally:
        pool.shutdown()

    async def with_context() -> str:
        VAR.set("from the caller")
        return await runtime.run_blocking(VAR.get)

    assert asyncio.run(with_context()) == "from the caller"
    runtime.shutdown_pool()


def test_bound_and_no_wait_under_bound() -> None:
    pool = WorkerPool(4, "t")
    running, peak = 0, 0
    lock = threading.Lock()
    barrier = threading.Barrier(4, timeout=5)

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        if i < 4:
            barrier.wait()  # the first four need each other: they must all have a thread
        time.sleep(0.01)
        with lock:
            running -= 1
        return i

    async def go() -> list[object]:
        loop = asyncio.get_running_loop()
        futs = []
        for i in range(12):
            f = loop.create_future()
            pool.submit(loop, f, lambda i=i: work(i))
            futs.append(f)
        return list(await asyncio.gather(*futs))

    try:
        assert asyncio.run(go()) == list(range(12))
        assert peak == 4
        assert len(pool._threads) == 4
    finally:
        pool.shutdown()


def test_cancelled_waiter_and_shutdown() -> None:
    pool = WorkerPool(1, "t")
    gate = threading.Event()
    done: list[str] = []

    def slow(tag: str) -> str:
        gate.wait(5)
        done.append(tag)
        return tag

    async def go() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        pool.submit(loop, first, lambda: slow("first"))
        pool.submit(loop, second, lambda: slow("second"))  # queued behind the only thread
        first.cancel()  # the caller went away; the call still runs, its result is dropped
        await asyncio.sleep(0.05)
        stopper = threading.Thread(target=pool.shutdown)
        stopper.start()
        await asyncio.sleep(0.05)
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await second  # shutdown cancelled the call that had not started
        await asyncio.to_thread(stopper.join, 5)
        return first.cancelled(), second.cancelled()

    assert asyncio.run(go()) == (True, True)
    assert done == ["first"]
    with pytest.raises(RuntimeError, match="shut down"):
        _run(pool, lambda: 1)
