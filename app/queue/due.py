"""In-memory index of when each destination domain next has a message due (not on hold), so a
scheduling pass costs O(k log n) for k picks however many messages are queued (mox keeps the
same kind of state implicitly by querying its whole queue; with 100,000 entries that is too slow).

The queue database updates it after every commit that changes a domain's messages; bulk changes
rebuild it from one index scan.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable


class DueIndex:
    """domain -> earliest next attempt of its not-held messages. Not thread-safe by itself:
    the database's lock guards it."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def rebuild(self, rows: Iterable[tuple[str, float]]) -> None:
        self._next = {d: float(t) for d, t in rows}
        self._heap = [(t, d) for d, t in self._next.items()]
        heapq.heapify(self._heap)

    def put(self, domain: str, t: float | None) -> None:
        """Record the domain's earliest due time (None: nothing due, not held)."""
        if t is None:
            self._next.pop(domain, None)
            return
        if self._next.get(domain) == t:
            return
        self._next[domain] = t
        heapq.heappush(self._heap, (t, domain))
        if len(self._heap) > 4 * len(self._next) + 64:
            self._heap = [(v, d) for d, v in self._next.items()]
            heapq.heapify(self._heap)

    def refresh(self, domains: Iterable[str], lookup: Callable[[str], float | None]) -> None:
        for d in set(domains):
            self.put(d, lookup(d))

    def _clean_top(self) -> None:
        while self._heap and self._next.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def earliest(self) -> float | None:
        self._clean_top()
        return self._heap[0][0] if self._heap else None

    def due(self, now: float, skip: set[str], limit: int) -> list[str]:
        """Up to ``limit`` domains with messages due at ``now``, earliest first, not in ``skip``."""
        out: list[str] = []
        held: list[tuple[float, str]] = []
        seen: set[str] = set()
        while len(out) < limit:
            self._clean_top()
            if not self._heap or self._heap[0][0] > now:
                break
            item = heapq.heappop(self._heap)
            if item[1] in seen:
                continue  # a duplicate entry; one stays in the heap
            seen.add(item[1])
            held.append(item)
            if item[1] not in skip:
                out.append(item[1])
        for item in held:
            heapq.heappush(self._heap, item)
        return out

    def __len__(self) -> int:
        return len(self._next)
