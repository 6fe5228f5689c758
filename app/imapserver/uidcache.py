"""UIDs of recently selected mailboxes, shared by the sessions of this process, so a SELECT
(RFC 9051 section 6.3.2) of an unchanged mailbox does not read every UID again.

An entry is keyed by what identifies a mailbox's UID set: its database and id, UIDVALIDITY,
UIDNEXT and message count, all read in the same snapshot as the cached UIDs. Any new message
raises UIDNEXT (RFC 9051 section 2.3.1.1: UIDs only grow), so a changed set with the same count
and UIDNEXT would need messages removed and none added, which lowers the count. Flag changes
keep the entry. The cache is bounded by the number of UIDs it holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

Key = tuple[str, int, int, int, int]  # database, mailbox id, uidvalidity, uidnext, total

MAX_UIDS = 2_000_000

_lock = threading.Lock()
_entries: OrderedDict[tuple[str, int], tuple[Key, tuple[int, ...]]] = OrderedDict()
_held = 0


def get(key: Key) -> list[int] | None:
    """A fresh list of the cached UIDs for exactly this key, or None."""
    with _lock:
        e = _entries.get(key[:2])
        if e is None or e[0] != key:
            return None
        _entries.move_to_end(key[:2])
        return list(e[1])


def put(key: Key, uids: list[int]) -> None:
    """Remember the UIDs read for this key (replacing the mailbox's older entry)."""
    global _held
    if len(uids) > MAX_UIDS // 4:
        return
    with _lock:
        old = _entries.pop(key[:2], None)
        if old is not None:
            _held -= len(old[1])
        _entries[key[:2]] = (key, tuple(uids))
        _held += len(uids)
        while _held > MAX_UIDS and _entries:
            _, (_, dropped) = _entries.popitem(last=False)
            _held -= len(dropped)
