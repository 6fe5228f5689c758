"""The bounded thread pool behind ``runtime.run_blocking``: asyncio code's way to call blocking code.

Leaner than ``loop.run_in_executor`` with a ``ThreadPoolExecutor``: a call is one queue entry and
one ``call_soon_threadsafe`` back to the loop, instead of a ``concurrent.futures.Future`` (with
its condition variable) chained to an asyncio future in both directions. Measured per call: a
third to a quarter of the CPU time, which every store, DNS and authentication call of the servers
pays once or more per command.

Threads start on demand up to the bound and then live as long as the pool. A call submitted when
no started thread is idle starts another while under the bound, so a call never waits for
a busy thread while the bound allows a new one (as with ``ThreadPoolExecutor``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

_Item = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


def _settle(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """On the loop: complete the awaiting future unless it was cancelled meanwhile."""
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class WorkerPool:
    """At most ``max_workers`` daemon threads named ``name``-N running submitted calls."""

    def __init__(self, max_workers: int, name: str) -> None:
        self._q: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # started threads not reserved for a queued call
        self._max = max(1, max_workers)
        self._name = name
        self._shutdown = False

    def submit(
        self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], call: Callable[[], Any]
    ) -> None:
        """Run ``call()`` in a worker; its result or exception completes ``fut`` on ``loop``."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("worker pool is shut down")
            self._q.put((loop, fut, call))
            if self._idle > 0:
                self._idle -= 1  # an idle thread takes this call
            elif len(self._threads) < self._max:
                t = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(t)
                t.start()

    def _work(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            loop, fut, call = item
            try:
                ok, value = True, call()
            except StopIteration as e:  # an asyncio future cannot carry StopIteration
                ok, value = False, RuntimeError(f"StopIteration raised in worker: {e!r}")
            except BaseException as e:
                ok, value = False, e
            try:
                loop.call_soon_threadsafe(_settle, fut, ok, value)
            except RuntimeError:
                pass  # the loop was closed: nobody awaits the result any more
            del item, loop, fut, call, value  # drop references before waiting for the next call
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True) -> None:
        """Cancel the calls not started yet, let running calls finish, stop the threads."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
            threads = list(self._threads)
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                loop, fut, _ = item
                try:
                    loop.call_soon_threadsafe(fut.cancel)
                except RuntimeError:
                    pass
        for _ in threads:
            self._q.put(None)
        if wait:
            for t in threads:
                t.join()
