"""Per-account sending limits of mox: at most ``MaxOutgoingMessagesPerDay`` recipients of
submitted messages (default 1000) and ``MaxFirstTimeRecipientsPerDay`` recipients the account
never wrote to or heard from before (default 200) in the last 24 hours. The history is kept in
the account's key/value settings so restarts do not reset it. Synchronous: run in the pool.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
import weakref
from typing import Any

from app import mlog
from app.smtpserver import senders

log = mlog.get("smtpserver")

_KEY = "smtpserver.outgoing"
DAY = 24 * 3600.0


class _History:
    """An account's counts, loaded from its settings once and then kept in memory: a submission
    checks them without a database read, and concurrent submissions each add their count (a
    read-modify-write through the database would lose counts when two overlap)."""

    def __init__(self, data: dict[str, list[list[float]]]) -> None:
        self.data = data
        self.lock = threading.Lock()  # guards data and pending
        self.pending = False  # a write of the history is queued and has not serialized it yet


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
    """Queue a write of the account's history; it serializes the counts when it runs, so every
    count recorded until then is in it."""

    def snapshot() -> str:
        with h.lock:
            h.pending = False  # a count recorded from now on queues another write
            return json.dumps(h.data, separators=(",", ":"))

    def done(f: concurrent.futures.Future[None]) -> None:
        if f.exception() is not None:
            log.error("storing sending-limit history", account=account, err=f.exception())

    try:
        store.account(account).set_setting_later(_KEY, snapshot).add_done_callback(done)
    except Exception:
        with h.lock:
            h.pending = False
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
        # Writes are coalesced and not waited for (the submission's reply does not wait for a
        # second commit): while a queued write has not run yet, it will include this count.
        # Every count is in the account database once the writes queued so far have committed.
        write = not h.pending
        h.pending = True
    if write:
        _write_history(store, account, h)
    senders.remember(store, account, sorted(new))
