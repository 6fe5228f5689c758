"""Per-account sending limits of mox: at most ``MaxOutgoingMessagesPerDay`` recipients of
submitted messages (default 1000) and ``MaxFirstTimeRecipientsPerDay`` recipients the account
never wrote to or heard from before (default 200) in the last 24 hours. The history is kept in
the account's key/value settings so restarts do not reset it. Synchronous: run in the pool.
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.smtpserver import senders

_KEY = "smtpserver.outgoing"
DAY = 24 * 3600.0


def _load(acc: Any, now: float) -> dict[str, list[list[float]]]:
    """Counts per minute (``[minute start, count]``) of the last 24 hours: small and bounded."""
    raw = acc.setting(_KEY)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}

    def recent(v: Any) -> list[list[float]]:
        if not isinstance(v, list):
            return []
        return [e for e in v if isinstance(e, list) and len(e) == 2 and e[0] > now - DAY]

    return {"sent": recent(data.get("sent")), "first": recent(data.get("first"))}


def _add(buckets: list[list[float]], now: float, n: int) -> None:
    minute = float(int(now // 60) * 60)
    if buckets and buckets[-1][0] == minute:
        buckets[-1][1] += n
    else:
        buckets.append([minute, n])


def check(store: Any, account: str, rcpts: list[str], max_msgs: int, max_first: int, now: float | None = None) -> str:
    """"" when sending to rcpts stays within the limits, else "messages" or "recipients"."""
    now = time.time() if now is None else now
    acc = store.account(account)
    data = _load(acc, now)
    if sum(n for _, n in data["sent"]) + len(rcpts) > max_msgs:
        return "messages"
    new = {r.lower() for r in rcpts if not senders.is_known(store, account, r)}
    if sum(n for _, n in data["first"]) + len(new) > max_first:
        return "recipients"
    return ""


def record(store: Any, account: str, rcpts: list[str], now: float | None = None) -> None:
    """Count a submission; its recipients become known correspondents."""
    now = time.time() if now is None else now
    acc = store.account(account)
    data = _load(acc, now)
    _add(data["sent"], now, len(rcpts))
    new = {r.lower() for r in rcpts if not senders.is_known(store, account, r)}
    if new:
        _add(data["first"], now, len(new))
    acc.set_setting(_KEY, json.dumps(data, separators=(",", ":")))
    senders.remember(store, account, rcpts)
