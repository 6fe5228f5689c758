"""A bounded, thread-safe TTL cache of DNS answers and negative answers (RFC 2308 §5).

One cache is shared by the async and the sync side of a resolver, so a TXT record fetched by the
SMTP server's event loop is reused by SPF running in a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")

# Negative answers (NXDOMAIN, no data) are kept at most this long, whatever the SOA minimum says.
MAX_NEGATIVE_TTL = 300
MAX_TTL = 86400


class TTLCache(Generic[V]):
    """Maps keys to values until their TTL runs out; evicts the least recently used beyond ``size``."""

    def __init__(self, size: int = 10000) -> None:
        self._size = size
        self._data: OrderedDict[tuple[str, str], tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str]) -> tuple[V, int] | None:
        """Return the value and its remaining TTL in whole seconds, or None when absent or expired."""
        now = time.monotonic()
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            expires, value = item
            if expires <= now:
                del self._data[key]
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value, int(expires - now)

    def put(self, key: tuple[str, str], value: V, ttl: float) -> None:
        """Store a value for ``ttl`` seconds (capped at a day); a TTL of 0 or less is not stored."""
        if ttl <= 0:
            return
        ttl = min(ttl, MAX_TTL)
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
