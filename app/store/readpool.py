"""Read-only connections of one account database, pooled.

Each read checks a connection out for its duration, so concurrent readers each have their own
connection and, in WAL mode, never wait for the writer or for each other. Idle connections are
kept up to a small bound (open files stay bounded however many threads read: a server with many
accounts and many worker threads would otherwise hold accounts x threads x 3 descriptors).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import apsw

from app.store import schema
from app.store.errors import StoreClosed

MAX_IDLE = 8


class ReaderPool:
    """Pooled read-only connections of the database at ``path`` (an account's by default; the
    queue passes its own ``opener`` and ``closed`` error)."""

    def __init__(
        self,
        path: Path,
        name: str,
        max_idle: int = MAX_IDLE,
        opener: Callable[[Path], apsw.Connection] = schema.open_reader,
        closed: Callable[[], Exception] | None = None,
    ) -> None:
        self._path = path
        self._name = name
        self._max_idle = max_idle
        self._open = opener
        self._closed_error = closed or (lambda: StoreClosed(f"account {name!r} is closed"))
        self._lock = threading.Lock()
        self._idle: list[apsw.Connection] = []
        self._closed = False

    @contextmanager
    def conn(self) -> Iterator[apsw.Connection]:
        """A connection for the calling thread until the block ends."""
        with self._lock:
            if self._closed:
                raise self._closed_error()
            c = self._idle.pop() if self._idle else None
        if c is None:
            c = self._open(self._path)
        ok = False
        try:
            yield c
            ok = True
        finally:
            keep = ok and not c.in_transaction
            with self._lock:
                if keep and not self._closed and len(self._idle) < self._max_idle:
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
