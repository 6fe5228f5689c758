"""Failed-authentication limits per IP class (as mox: a host, a small network, a larger
network), so that password guessing from one address or a botnet block is throttled while
others keep logging in.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque

# (IPv4 prefix, IPv6 prefix, failures allowed per window)
CLASSES: tuple[tuple[int, int, int], ...] = ((32, 64, 10), (26, 48, 50), (21, 32, 200))
WINDOW = 15 * 60.0


class AuthLimiter:
    """Counts failed logins per IP class in a sliding window; thread-safe."""

    def __init__(self, classes: tuple[tuple[int, int, int], ...] = CLASSES, window: float = WINDOW) -> None:
        self.classes = classes
        self.window = window
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, ip: str) -> list[tuple[str, int]]:
        try:
            addr = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return [(f"raw/{ip}", self.classes[0][2])]
        out = []
        for v4, v6, limit in self.classes:
            bits = v4 if addr.version == 4 else v6
            net = ipaddress.ip_network(f"{addr}/{bits}", strict=False)
            out.append((str(net), limit))
        return out

    def _prune(self, q: deque[float], now: float) -> None:
        while q and q[0] < now - self.window:
            q.popleft()

    def allowed(self, ip: str) -> bool:
        """Whether another login attempt from this address may be tried."""
        now = time.monotonic()
        with self._lock:
            for key, limit in self._keys(ip):
                q = self._fails.get(key)
                if q is None:
                    continue
                self._prune(q, now)
                if len(q) >= limit:
                    return False
        return True

    def failed(self, ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key, _limit in self._keys(ip):
                q = self._fails.setdefault(key, deque())
                self._prune(q, now)
                q.append(now)

    def succeeded(self, ip: str) -> None:
        """A success from the host clears its own failures (not those of its networks)."""
        with self._lock:
            keys = self._keys(ip)
            if keys:
                self._fails.pop(keys[0][0], None)
