"""Bookkeeping shared by write operations: the account modseq, mailbox counts, disk usage.

One account-wide modseq (RFC 7162 section 3.1.1 allows per-mailbox ones; mox, and we, use one):
each write operation takes the next value once and stamps everything it changes with it.
Mailbox counts (total, deleted, unread, unseen, size) are kept by deltas in the same transaction
as the message change, so they are never out of step; ``maintenance.recalculate_counts`` rebuilds
them from the messages.
"""

from __future__ import annotations

from collections.abc import Iterable

import apsw

from app.store.errors import QuotaExceeded
from app.store.model import keywords_from_db, keywords_to_db
from app.store.sqlq import q


def next_modseq(conn: apsw.Connection) -> int:
    return int(q(conn, "UPDATE syncstate SET modseq = modseq + 1 WHERE id = 1 RETURNING modseq")[0][0])


def highest_modseq(conn: apsw.Connection) -> int:
    return int(q(conn, "SELECT modseq FROM syncstate")[0][0])


def next_message_ids(conn: apsw.Connection, n: int, usage_delta: int = 0) -> int:
    """Reserve ``n`` message ids (returning the first) and add to the disk usage, in one update."""
    last = q(
        conn,
        "UPDATE syncstate SET last_message_id = last_message_id + ?, disk_usage = disk_usage + ?"
        " WHERE id = 1 RETURNING last_message_id",
        (n, usage_delta),
    )[0][0]
    return int(last) - n + 1


def reserve(conn: apsw.Connection, n: int, usage_delta: int) -> tuple[int, int]:
    """A new modseq and ``n`` message ids (the first returned), disk usage added: what adding
    messages needs from the account's counters, in one update."""
    r = q(
        conn,
        "UPDATE syncstate SET modseq = modseq + 1, last_message_id = last_message_id + ?,"
        " disk_usage = disk_usage + ? WHERE id = 1 RETURNING modseq, last_message_id",
        (n, usage_delta),
    )[0]
    return int(r[0]), int(r[1]) - n + 1


def next_message_id(conn: apsw.Connection) -> int:
    return next_message_ids(conn, 1)


def disk_usage(conn: apsw.Connection) -> int:
    return int(q(conn, "SELECT disk_usage FROM syncstate")[0][0])


def add_disk_usage(conn: apsw.Connection, delta: int) -> None:
    if delta:
        conn.execute("UPDATE syncstate SET disk_usage = disk_usage + ? WHERE id = 1", (delta,))


def check_quota(conn: apsw.Connection, limit: int, adding: int) -> None:
    """Raise QuotaExceeded when adding ``adding`` bytes would exceed ``limit`` (<= 0: none)."""
    if limit <= 0 or adding <= 0:
        return
    used = disk_usage(conn)
    if used + adding > limit:
        raise QuotaExceeded(used, adding, limit)


class Delta:
    """Accumulated count changes for one mailbox."""

    __slots__ = ("deleted", "size", "total", "unread")

    def __init__(self) -> None:
        self.total = 0
        self.deleted = 0
        self.unread = 0
        self.size = 0

    def add(self, seen: bool, deleted: bool, size: int, sign: int = 1) -> None:
        self.total += sign
        self.deleted += sign * int(deleted)
        self.unread += sign * int(not seen)
        self.size += sign * size

    def apply(self, conn: apsw.Connection, mailbox_id: int) -> bool:
        if not (self.total or self.deleted or self.unread or self.size):
            return False
        conn.execute(
            "UPDATE mailbox SET total = total + ?, deleted = deleted + ?, unread = unread + ?,"
            " unseen = unseen + ?, size = size + ? WHERE id = ?",
            (self.total, self.deleted, self.unread, self.unread, self.size, mailbox_id),
        )
        return True


def merge_keywords(conn: apsw.Connection, mailbox_id: int, kws: Iterable[str]) -> tuple[str, ...] | None:
    """Add keywords to the mailbox's set in use; return the new set if it grew, else None."""
    add = set(kws)
    if not add:
        return None
    cur = set(keywords_from_db(q(conn, "SELECT keywords FROM mailbox WHERE id = ?", (mailbox_id,))[0][0]))
    if add <= cur:
        return None
    new = cur | add
    conn.execute("UPDATE mailbox SET keywords = ? WHERE id = ?", (keywords_to_db(new), mailbox_id))
    return tuple(sorted(new))
