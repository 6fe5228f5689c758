"""Rate and concurrency limits per IP class, as mox (its ``ratelimit`` package and
``mox-/limitauth.go``): each limit is counted for three classes of the remote address at once,
IPv4 /32, /26, /21 and IPv6 /64, /48, /32, with one threshold per class, in fixed time windows.

Pure bookkeeping with an injectable clock; thread-safe (the IMAP server may share the
authentication limiter).
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_BITS = (32, 26, 21)
_V6_BITS = (64, 48, 32)


@functools.lru_cache(maxsize=4096)
def ip_classes(ip: IPAddress) -> tuple[str, str, str]:
    """The three network keys of an address (host-ish, medium, large network)."""
    if ip.version == 4:
        n = int(ip)
        return tuple(f"4/{b}/{n >> (32 - b)}" for b in _V4_BITS)  # type: ignore[return-value]
    n = int(ip)
    return tuple(f"6/{b}/{n >> (128 - b)}" for b in _V6_BITS)  # type: ignore[return-value]


@dataclass
class WindowLimit:
    """A fixed-window counter: at most ``limits[class]`` per ``window`` seconds per class key."""

    window: float
    limits: tuple[int, int, int]
    clock: Callable[[], float] = time.monotonic
    _start: float = -1.0
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _roll(self) -> None:
        now = self.clock()
        if self._start < 0 or now - self._start >= self.window:
            self._start = now
            self._counts.clear()

    def can_add(self, ip: IPAddress, n: int = 1) -> bool:
        with self._lock:
            self._roll()
            keys = ip_classes(ip)
            return all(self._counts.get(k, 0) + n <= lim for k, lim in zip(keys, self.limits, strict=True))

    def add(self, ip: IPAddress, n: int = 1) -> bool:
        """Count n events for ip if within every class limit; False (and nothing counted) if not."""
        with self._lock:
            self._roll()
            keys = ip_classes(ip)
            if any(self._counts.get(k, 0) + n > lim for k, lim in zip(keys, self.limits, strict=True)):
                return False
            for k in keys:
                self._counts[k] = self._counts.get(k, 0) + n
            return True

    def reset(self, ip: IPAddress) -> None:
        """Forget counts for an address's classes (mox does this after a successful login)."""
        with self._lock:
            for k in ip_classes(ip):
                self._counts.pop(k, None)


@dataclass
class ConcurrencyLimit:
    """At most ``limits[class]`` simultaneous connections per class key."""

    limits: tuple[int, int, int]
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, ip: IPAddress) -> bool:
        with self._lock:
            keys = ip_classes(ip)
            if any(self._counts.get(k, 0) + 1 > lim for k, lim in zip(keys, self.limits, strict=True)):
                return False
            for k in keys:
                self._counts[k] = self._counts.get(k, 0) + 1
            return True

    def release(self, ip: IPAddress) -> None:
        with self._lock:
            for k in ip_classes(ip):
                v = self._counts.get(k, 0) - 1
                if v <= 0:
                    self._counts.pop(k, None)
                else:
                    self._counts[k] = v


@dataclass
class AuthLimit:
    """Failed authentication attempts: 10/30/90 per minute and 50/150/450 per day (mox)."""

    per_minute: WindowLimit = field(default_factory=lambda: WindowLimit(60, (10, 30, 90)))
    per_day: WindowLimit = field(default_factory=lambda: WindowLimit(24 * 3600, (50, 150, 450)))

    def allowed(self, ip: IPAddress) -> bool:
        return self.per_minute.can_add(ip) and self.per_day.can_add(ip)

    def failed(self, ip: IPAddress) -> None:
        self.per_minute.add(ip)
        self.per_day.add(ip)

    def succeeded(self, ip: IPAddress) -> None:
        self.per_minute.reset(ip)


@dataclass
class Limits:
    """The limits of one SMTP server (mox's values; tests may pass smaller ones)."""

    connection_rate: WindowLimit = field(default_factory=lambda: WindowLimit(60, (300, 900, 2700)))
    concurrent: ConcurrencyLimit = field(default_factory=lambda: ConcurrencyLimit((30, 90, 270)))
    auth: AuthLimit = field(default_factory=AuthLimit)
    # Deliveries into one account per IP class: messages per minute (x20 per day).
    delivery_rate: WindowLimit = field(default_factory=lambda: WindowLimit(60, (500, 1500, 4500)))
    delivery_rate_day: WindowLimit = field(
        default_factory=lambda: WindowLimit(24 * 3600, (10000, 30000, 90000))
    )
