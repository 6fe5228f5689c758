"""The asyncio runtime: the event loop (uvloop where available, the standard loop on Windows)
and the one bounded thread pool through which asyncio code calls synchronous code (the store,
mail authentication checks, parsing of large messages).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from app.workpool import WorkerPool

P = ParamSpec("P")
T = TypeVar("T")

_pool: WorkerPool | None = None
_pool_size = 16


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a new event loop: uvloop on POSIX when installed, else the standard loop."""
    if sys.platform != "win32":
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            return loop
        except ImportError:
            pass
    return asyncio.new_event_loop()


def set_pool_size(n: int) -> None:
    """Set the number of worker threads; takes effect when the pool is next created."""
    global _pool_size
    _pool_size = max(1, n)


def pool() -> WorkerPool:
    """Return the shared bounded thread pool, creating it on first use."""
    global _pool
    if _pool is None:
        _pool = WorkerPool(_pool_size, "moxpy-work")
    return _pool


async def run_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a synchronous function in the bounded pool and await its result."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()
    ctx = contextvars.copy_context()
    pool().submit(loop, fut, functools.partial(ctx.run, fn, *args, **kwargs))
    return await fut


def shutdown_pool() -> None:
    """Stop the pool after the running calls finish (at server shutdown)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
