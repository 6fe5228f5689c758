"""IMAP METADATA entries (RFC 5464) and thread mute/collapse, inside a write transaction.

Entries are per mailbox or for the server (stored with mailbox id 0); ``/private`` and ``/shared``
are stored alike (one user per account), keys lower case. At most ``MAX_ENTRIES`` entries and
``MAX_TOTAL`` bytes of values per account (RFC 5464 section 4.3 TOOMANY / MAXSIZE), like mox.
"""

from __future__ import annotations

import apsw

from app.store import counts, mailboxes
from app.store.changes import ChangeAnnotation, ChangeFlags, ChangeThread
from app.store.errors import AnnotationLimit, StoreError
from app.store.sqlq import q
from app.store.writer import Tx

MAX_ENTRIES = 1000
MAX_TOTAL = 1 << 20


def check_key(key: str) -> str:
    """Validate an entry name (RFC 5464 section 3.2) and return it lower case."""
    k = key.lower()
    if not (k.startswith("/private/") or k.startswith("/shared/")):
        raise StoreError("annotation key must start with /private/ or /shared/")
    if (
        k.endswith("/")
        or "//" in k
        or "*" in k
        or "%" in k
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in k)
    ):
        raise StoreError("invalid annotation key")
    parts = k.split("/")
    if len(parts) > 3 and parts[2] == "vendor" and len(parts) < 5:
        raise StoreError("vendor annotation keys need at least four components")
    return k


def set_annotation(
    conn: apsw.Connection, tx: Tx, mailbox: int | str | None, key: str, value: bytes | None, is_string: bool
) -> int:
    k = check_key(key)
    mid, mname = 0, ""
    if mailbox is not None:
        mb = mailboxes.get(conn, mailbox)
        mid, mname = mb.id, mb.name
    modseq = counts.next_modseq(conn)
    if value is None:
        conn.execute("DELETE FROM annotation WHERE mailbox_id = ? AND key = ?", (mid, k))
    else:
        conn.execute(
            "INSERT INTO annotation(mailbox_id, key, is_string, value, createseq, modseq) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(mailbox_id, key) DO UPDATE SET is_string = excluded.is_string, value = excluded.value,"
            " modseq = excluded.modseq",
            (mid, k, int(is_string), value, modseq, modseq),
        )
        n, total = q(conn, "SELECT count(*), coalesce(sum(length(value)), 0) FROM annotation")[0]
        if n > MAX_ENTRIES:
            raise AnnotationLimit("toomany", MAX_ENTRIES)
        if total > MAX_TOTAL:
            raise AnnotationLimit("maxsize", MAX_TOTAL)
    tx.add(ChangeAnnotation(mid or None, mname, k, modseq))
    return modseq


def set_thread(
    conn: apsw.Connection, tx: Tx, message_ids: list[int], muted: bool | None, collapsed: bool | None
) -> int:
    """Mute and/or collapse the whole threads of the given messages; muting marks them read."""
    from app.store.messages import _NF, FLAGS_SQL, flags_of

    tids = sorted(
        {r[0] for mid in message_ids for r in q(conn, "SELECT thread_id FROM message WHERE id = ?", (mid,))}
    )
    if not tids:
        return 0
    modseq = counts.next_modseq(conn)
    rows = []
    for tid in tids:
        rows += q(
            conn,
            f"SELECT id, mailbox_id, uid, seen, thread_muted, thread_collapsed, {FLAGS_SQL}, keywords"
            " FROM message WHERE thread_id = ?",
            (tid,),
        )
    ids: list[int] = []
    touched_mailboxes: set[int] = set()
    for r in rows:
        mid, mbid, uid, seen = r[0], r[1], r[2], r[3]
        m = bool(r[4]) if muted is None else muted
        c = bool(r[5]) if collapsed is None else collapsed
        conn.execute(
            "UPDATE message SET thread_muted = ?, thread_collapsed = ? WHERE id = ?", (int(m), int(c), mid)
        )
        ids.append(mid)
        if muted and not seen:
            conn.execute("UPDATE message SET seen = 1, modseq = ? WHERE id = ?", (modseq, mid))
            bits = list(r[6 : 6 + _NF])
            bits[0] = 1
            conn.execute("UPDATE mailbox SET unread = unread - 1, unseen = unseen - 1 WHERE id = ?", (mbid,))
            touched_mailboxes.add(mbid)
            tx.add(ChangeFlags(mbid, uid, modseq, flags_of(bits, r[6 + _NF])))
    for mbid in sorted(touched_mailboxes):
        tx.add(mailboxes.counts_change(conn, mbid))
    if ids:
        any_r = rows[0]
        tx.add(
            ChangeThread(
                tuple(ids),
                bool(any_r[4]) if muted is None else muted,
                bool(any_r[5]) if collapsed is None else collapsed,
            )
        )
    return modseq
