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


def _load(acc: Any, now: float) -> dict[str, list[Any]]:
    raw = acc.setting(_KEY)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    sent = [e for e in data.get("sent", []) if isinstance(e, list) and len(e) == 2 and e[0] > now - DAY]
    first = [t for t in data.get("first", []) if isinstance(t, (int, float)) and t > now - DAY]
    return {"sent": sent, "first": first}


def check(store: Any, account: str, rcpts: list[str], max_msgs: int, max_first: int, now: float | None = None) -> str:
    """"" when sending to rcpts stays within the limits, else "messages" or "recipients"."""
    now = time.time() if now is None else now
    acc = store.account(account)
    data = _load(acc, now)
    if sum(n for _, n in data["sent"]) + len(rcpts) > max_msgs:
        return "messages"
    new = {r.lower() for r in rcpts if not senders.is_known(store, account, r)}
    if len(data["first"]) + len(new) > max_first:
        return "recipients"
    return ""


def record(store: Any, account: str, rcpts: list[str], now: float | None = None) -> None:
    """Count a submission; its recipients become known correspondents."""
    now = time.time() if now is None else now
    acc = store.account(account)
    data = _load(acc, now)
    data["sent"].append([now, len(rcpts)])
    new = {r.lower() for r in rcpts if not senders.is_known(store, account, r)}
    data["first"].extend([now] * len(new))
    acc.set_setting(_KEY, json.dumps(data, separators=(",", ":")))
    senders.remember(store, account, rcpts)
