"""The \\Recent flag of IMAP4rev1 (RFC 3501 section 2.3.2): a message is recent in exactly one
session, the first to have its mailbox selected read-write after the message arrived.

RFC 9051 dropped \\Recent; IMAP4rev1 clients (and imaptest) still look at it. The claims live
in memory for this process: after a restart, messages count as recent once more.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_claimed: dict[tuple[str, int], int] = {}  # (account database, mailbox id) -> highest UID claimed


def _key(account: object, mailbox_id: int) -> tuple[str, int]:
    # The database path, not the name: a removed and recreated account starts afresh.
    return (str(getattr(account, "path", account)), mailbox_id)


def claim(account: object, mailbox_id: int, highest_uid: int) -> int:
    """Claim every UID up to highest_uid; returns the previous claim (UIDs above it are ours)."""
    key = _key(account, mailbox_id)
    with _lock:
        prev = _claimed.get(key, 0)
        if highest_uid > prev:
            _claimed[key] = highest_uid
        return prev


def peek(account: object, mailbox_id: int) -> int:
    """The highest claimed UID, without claiming (EXAMINE, STATUS RECENT)."""
    with _lock:
        return _claimed.get(_key(account, mailbox_id), 0)


def forget(account: object, mailbox_id: int) -> None:
    """The mailbox is gone (deleted, or its UIDVALIDITY changed)."""
    with _lock:
        _claimed.pop(_key(account, mailbox_id), None)
