"""Per-account sending limits of mox: at most ``MaxOutgoingMessagesPerDay`` recipients of
submitted messages (default 1000) and ``MaxFirstTimeRecipientsPerDay`` recipients the account
never wrote to or heard from before (default 200) in the last 24 hours. The history is kept in
the account's key/value settings so restarts do not reset it. Synchronous: run in the pool.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from typing import Any

from app.smtpserver import senders

_KEY = "smtpserver.outgoing"
DAY = 24 * 3600.0


class _History:
    """An account's counts, loaded from its settings once and then kept in memory: a submission
    checks them without a database read, and concurrent submissions each add their count (a
    read-modify-write through the database would lose counts when two overlap)."""

    def __init__(self, data: dict[str, list[list[float]]]) -> None:
        self.data = data
        self.lock = threading.Lock()  # guards data, version, written and writing
        self.version = 0  # bumped by each record
        self.writing = False  # a thread is writing the history to the account database
        self.written = 0  # the version the account database holds


# store -> account -> history; the store is the owner of the data (tests open several).
_histories: weakref.WeakKeyDictionary[Any, dict[str, _History]] = weakref.WeakKeyDictionary()
_histories_lock = threading.Lock()


def _history(store: Any, account: str) -> _History:
    with _histories_lock:
        h = _histories.setdefault(store, {}).get(account)
    if h is not None:
        return h
    raw = store.account(account).setting(_KEY)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    loaded = _History({"sent": _valid(data.get("sent")), "first": _valid(data.get("first"))})
    with _histories_lock:
        return _histories.setdefault(store, {}).setdefault(account, loaded)


def _valid(v: Any) -> list[list[float]]:
    if not isinstance(v, list):
        return []
    return [e for e in v if isinstance(e, list) and len(e) == 2]


def _recent(buckets: list[list[float]], now: float) -> int:
    """Count of the last 24 hours."""
    return int(sum(n for t, n in buckets if t > now - DAY))


def _prune(buckets: list[list[float]], now: float) -> None:
    """Drop buckets older than a day (bounded: one per minute)."""
    while buckets and buckets[0][0] <= now - DAY:
        del buckets[0]


def _add(buckets: list[list[float]], now: float, n: int) -> None:
    minute = float(int(now // 60) * 60)
    if buckets and buckets[-1][0] == minute:
        buckets[-1][1] += n
    else:
        buckets.append([minute, n])


def unknown(store: Any, account: str, rcpts: list[str]) -> set[str]:
    """The recipients (lowercased) the account never wrote to or heard from."""
    return {r.lower() for r in rcpts if not senders.is_known(store, account, r)}


def check(
    store: Any,
    account: str,
    rcpts: list[str],
    max_msgs: int,
    max_first: int,
    now: float | None = None,
    new: set[str] | None = None,
) -> str:
    """ "" when sending to rcpts stays within the limits, else "messages" or "recipients".
    ``new``: the result of ``unknown`` when the caller has it already."""
    now = time.time() if now is None else now
    h = _history(store, account)
    with h.lock:
        sent, first = _recent(h.data["sent"], now), _recent(h.data["first"], now)
    if sent + len(rcpts) > max_msgs:
        return "messages"
    if new is None:
        new = unknown(store, account, rcpts)
    if first + len(new) > max_first:
        return "recipients"
    return ""


def _write_history(store: Any, account: str, h: _History) -> None:
    try:
        while True:
            with h.lock:
                if h.written >= h.version:
                    h.writing = False
                    return
                version = h.version
                snapshot = json.dumps(h.data, separators=(",", ":"))
            store.account(account).set_setting(_KEY, snapshot)
            with h.lock:
                h.written = version
    except BaseException:
        with h.lock:
            h.writing = False
        raise


def record(
    store: Any, account: str, rcpts: list[str], now: float | None = None, new: set[str] | None = None
) -> None:
    """Count a submission; its recipients become known correspondents. ``new``: as for check."""
    now = time.time() if now is None else now
    if new is None:
        new = unknown(store, account, rcpts)
    h = _history(store, account)
    with h.lock:
        for buckets in h.data.values():
            _prune(buckets, now)
        _add(h.data["sent"], now, len(rcpts))
        if new:
            _add(h.data["first"], now, len(new))
        h.version += 1
        # Writes are coalesced: one thread at a time writes the latest history and keeps
        # writing until it has stored every version counted meanwhile; the others need not wait.
        # So the account database holds every count once all record() calls have returned.
        write = not h.writing
        h.writing = True
    if write:
        _write_history(store, account, h)
    senders.remember(store, account, sorted(new))
