"""Consistency checks and repairs of an account database (mox's verifydata, recalculatemailboxcounts,
bumpuidvalidity, reassignuids, fixuidmeta and reassignthreads).

``verify`` checks every invariant the write operations maintain and returns readable problems;
the repair functions run as writes (inside the writer's transaction).
"""

from __future__ import annotations

from typing import Any

import apsw

from app.store import counts, mailboxes, threads
from app.store.analysis import Analyzed
from app.store.changes import ChangeMailboxCounts
from app.store.model import keywords_from_db
from app.store.schema import CHUNK_SIZE
from app.store.sqlq import q
from app.store.writer import Tx

_COUNTS_SQL = (
    "SELECT mailbox_id, count(*), sum(deleted), sum(1 - seen), coalesce(sum(size), 0)"
    " FROM message GROUP BY mailbox_id"
)


def verify(conn: apsw.Connection) -> list[str]:
    """Return every violated invariant (run inside one read transaction for a snapshot)."""
    p: list[str] = []
    sync = q(conn, "SELECT modseq, next_uidvalidity, disk_usage, last_message_id FROM syncstate")
    if len(sync) != 1:
        return ["syncstate must have exactly one row"]
    modseq, next_uv, usage, last_id = sync[0]
    mbs = {r[0]: r for r in q(conn, f"SELECT {mailboxes.MAILBOX_COLUMNS} FROM mailbox")}
    names = {r[1]: r[0] for r in mbs.values()}
    if "Inbox" not in names:
        p.append("mailbox Inbox is missing")
    actual = {r[0]: r[1:] for r in q(conn, _COUNTS_SQL)}
    for mid, r in mbs.items():
        name = r[1]
        want = actual.get(mid, (0, 0, 0, 0))
        have = (r[7], r[8], r[9], r[11])
        if tuple(int(x or 0) for x in want) != have or r[10] != r[9]:
            p.append(
                f"mailbox {name!r}: counts (total, deleted, unread, size) {have} unseen {r[10]}, messages say {want}"
            )
        if r[3] >= next_uv:
            p.append(f"mailbox {name!r}: uidvalidity {r[3]} not below next uidvalidity {next_uv}")
        if r[12] > modseq or r[13] > modseq:
            p.append(f"mailbox {name!r}: modseq/createseq above account modseq {modseq}")
        if "/" in name:
            parent = name.rsplit("/", 1)[0]
            if names.get(parent) != r[2]:
                p.append(f"mailbox {name!r}: parent id {r[2]} does not match mailbox {parent!r}")
        elif r[2] is not None:
            p.append(f"mailbox {name!r}: top-level mailbox has parent id {r[2]}")
        try:
            if mailboxes.normalize_name(name) != name:
                p.append(f"mailbox {name!r}: name not in normalized form")
        except Exception as e:
            p.append(f"mailbox {name!r}: invalid name: {e}")
    for mid in set(actual) - set(mbs):
        p.append(f"messages in missing mailbox id {mid}")
    for use, n in q(
        conn,
        "SELECT special_use, count(*) FROM mailbox WHERE special_use != '' GROUP BY special_use HAVING count(*) > 1",
    ):
        p.append(f"special-use {use} held by {n} mailboxes")
    uv_rows = q(conn, "SELECT uidvalidity, count(*) FROM mailbox GROUP BY uidvalidity HAVING count(*) > 1")
    for uv, n in uv_rows:
        p.append(f"uidvalidity {uv} used by {n} mailboxes")
    for mid, maxuid in q(conn, "SELECT mailbox_id, max(uid) FROM message GROUP BY mailbox_id"):
        if mid in mbs and maxuid >= mbs[mid][4]:
            p.append(f"mailbox {mbs[mid][1]!r}: uid {maxuid} not below uidnext {mbs[mid][4]}")
    for mid, maxuid in q(conn, "SELECT mailbox_id, max(uid) FROM expunged GROUP BY mailbox_id"):
        if mid not in mbs:
            p.append(f"tombstones for missing mailbox id {mid}")
        elif maxuid >= mbs[mid][4]:
            p.append(f"mailbox {mbs[mid][1]!r}: expunged uid {maxuid} not below uidnext {mbs[mid][4]}")
    for (n,) in q(
        conn,
        "SELECT count(*) FROM expunged e JOIN message m ON m.mailbox_id = e.mailbox_id AND m.uid = e.uid",
    ):
        if n:
            p.append(f"{n} tombstones for uids that still exist")
    row = q(
        conn,
        "SELECT coalesce(sum(size), 0), coalesce(max(modseq), 0), coalesce(max(createseq), 0),"
        " coalesce(max(id), 0), count(*) FROM message",
    )[0]
    if row[0] != usage:
        p.append(f"disk usage {usage} but messages total {row[0]} bytes")
    if row[1] > modseq or row[2] > modseq:
        p.append(f"message modseq {row[1]}/createseq {row[2]} above account modseq {modseq}")
    if row[3] > last_id:
        p.append(f"message id {row[3]} above last handed out id {last_id}")
    for (n,) in q(conn, "SELECT count(*) FROM message WHERE createseq > modseq OR uid < 1 OR thread_id < 1"):
        if n:
            p.append(f"{n} messages with createseq > modseq, uid < 1 or no thread id")
    for (mx,) in q(conn, "SELECT coalesce(max(modseq), 0) FROM expunged"):
        if mx > modseq:
            p.append(f"tombstone modseq {mx} above account modseq {modseq}")
    for (mx,) in q(conn, "SELECT coalesce(max(modseq), 0) FROM annotation"):
        if mx > modseq:
            p.append(f"annotation modseq {mx} above account modseq {modseq}")
    p += _verify_data(conn)
    p += _verify_keywords(conn, mbs)
    return p


def _verify_data(conn: apsw.Connection) -> list[str]:
    p: list[str] = []
    for mid, data_id in q(
        conn,
        "SELECT m.id, m.data_id FROM message m LEFT JOIN msgdata d ON d.id = m.data_id WHERE d.id IS NULL",
    ):
        p.append(f"message {mid}: data {data_id} missing")
    for mid, size, dsize in q(
        conn,
        "SELECT m.id, m.size, d.size FROM message m JOIN msgdata d ON d.id = m.data_id WHERE m.size != d.size",
    ):
        p.append(f"message {mid}: size {size} but data has {dsize} bytes")
    for (d,) in q(
        conn, "SELECT d.id FROM msgdata d WHERE NOT EXISTS (SELECT 1 FROM message m WHERE m.data_id = d.id)"
    ):
        p.append(f"data {d} not used by any message")
    for d, size, n, cn, csum, minseq, maxseq, maxlen in q(
        conn,
        "SELECT d.id, d.size, d.nchunks, count(c.id), coalesce(sum(length(c.data)), 0), min(c.seq), max(c.seq),"
        " max(length(c.data)) FROM msgdata d LEFT JOIN chunk c ON c.data_id = d.id GROUP BY d.id",
    ):
        if cn != n or csum != size or (n and (minseq != 0 or maxseq != n - 1)) or (maxlen or 0) > CHUNK_SIZE:
            p.append(f"data {d}: chunks incomplete ({cn} of {n} chunks, {csum} of {size} bytes)")
    for (n,) in q(
        conn, "SELECT count(*) FROM chunk c WHERE NOT EXISTS (SELECT 1 FROM msgdata d WHERE d.id = c.data_id)"
    ):
        if n:
            p.append(f"{n} chunks without message data")
    fts = {r[0] for r in q(conn, "SELECT id FROM fts_docsize")}
    data = {r[0] for r in q(conn, "SELECT id FROM msgdata")}
    if data - fts:
        p.append(f"{len(data - fts)} messages missing from the full-text index")
    if fts - data:
        p.append(f"{len(fts - data)} full-text index rows without message data")
    return p


def _verify_keywords(conn: apsw.Connection, mbs: dict[int, Any]) -> list[str]:
    p: list[str] = []
    used: dict[int, set[str]] = {}
    for mid, kw in q(conn, "SELECT DISTINCT mailbox_id, keywords FROM message WHERE keywords != ''"):
        used.setdefault(mid, set()).update(keywords_from_db(kw))
    for mid, kws in used.items():
        if mid in mbs:
            missing = kws - set(keywords_from_db(mbs[mid][6]))
            if missing:
                p.append(f"mailbox {mbs[mid][1]!r}: keywords {sorted(missing)} in use but not listed")
    return p


def recalculate_counts(conn: apsw.Connection, tx: Tx) -> int:
    """Rebuild every mailbox's counts and keywords and the disk usage; return mailboxes changed."""
    actual = {r[0]: r[1:] for r in q(conn, _COUNTS_SQL)}
    kws: dict[int, set[str]] = {}
    for mid, kw in q(conn, "SELECT DISTINCT mailbox_id, keywords FROM message WHERE keywords != ''"):
        kws.setdefault(mid, set()).update(keywords_from_db(kw))
    changed = 0
    for mid, name, total, deleted, unread, unseen, size, kw in q(
        conn, "SELECT id, name, total, deleted, unread, unseen, size, keywords FROM mailbox"
    ):
        t, d, u, s = (int(x or 0) for x in actual.get(mid, (0, 0, 0, 0)))
        newkw = " ".join(sorted(set(keywords_from_db(kw)) | kws.get(mid, set())))
        if (total, deleted, unread, unseen, size, kw) != (t, d, u, u, s, newkw):
            conn.execute(
                "UPDATE mailbox SET total = ?, deleted = ?, unread = ?, unseen = ?, size = ?, keywords = ? WHERE id = ?",
                (t, d, u, u, s, newkw, mid),
            )
            tx.add(ChangeMailboxCounts(mid, name, t, d, u, u, s))
            changed += 1
    conn.execute("UPDATE syncstate SET disk_usage = (SELECT coalesce(sum(size), 0) FROM message)")
    return changed


def _targets(conn: apsw.Connection, mailbox: int | str | None) -> list[int]:
    if mailbox is None:
        return [r[0] for r in q(conn, "SELECT id FROM mailbox ORDER BY id")]
    return [mailboxes.get(conn, mailbox).id]


def bump_uidvalidity(conn: apsw.Connection, tx: Tx, mailbox: int | str | None) -> int:
    """Give mailboxes a new UIDVALIDITY so IMAP clients refetch; return how many."""
    ids = _targets(conn, mailbox)
    modseq = counts.next_modseq(conn)
    for mid in ids:
        uv = mailboxes.next_uidvalidity(conn)
        conn.execute("UPDATE mailbox SET uidvalidity = ?, modseq = ? WHERE id = ?", (uv, modseq, mid))
    return len(ids)


def reassign_uids(conn: apsw.Connection, tx: Tx, mailbox: int | str | None) -> int:
    """Number messages 1..n again (in UID order), drop tombstones, bump UIDVALIDITY."""
    ids = _targets(conn, mailbox)
    modseq = counts.next_modseq(conn)
    n = 0
    for mid in ids:
        rows = q(conn, "SELECT id FROM message WHERE mailbox_id = ? ORDER BY uid", (mid,))
        # Negative first, so the unique (mailbox_id, uid) index never sees a collision.
        for i, (msg,) in enumerate(rows, 1):
            conn.execute("UPDATE message SET uid = ? WHERE id = ?", (-i, msg))
        conn.execute("UPDATE message SET uid = -uid, modseq = ? WHERE mailbox_id = ?", (modseq, mid))
        conn.execute("DELETE FROM expunged WHERE mailbox_id = ?", (mid,))
        uv = mailboxes.next_uidvalidity(conn)
        conn.execute(
            "UPDATE mailbox SET uidnext = ?, uidvalidity = ?, modseq = ? WHERE id = ?",
            (len(rows) + 1, uv, modseq, mid),
        )
        n += len(rows)
    return n


def fix_uid_meta(conn: apsw.Connection, tx: Tx) -> int:
    """Raise UIDNEXT above every used UID and the next UIDVALIDITY above every mailbox's; return fixes."""
    fixes = 0
    for mid, uidnext in q(conn, "SELECT id, uidnext FROM mailbox"):
        mx = q(
            conn,
            "SELECT max(coalesce((SELECT max(uid) FROM message WHERE mailbox_id = ?), 0),"
            " coalesce((SELECT max(uid) FROM expunged WHERE mailbox_id = ?), 0))",
            (mid, mid),
        )[0][0]
        if mx >= uidnext:
            conn.execute("UPDATE mailbox SET uidnext = ? WHERE id = ?", (mx + 1, mid))
            fixes += 1
    mxuv = q(conn, "SELECT coalesce(max(uidvalidity), 0) FROM mailbox")[0][0]
    if q(conn, "SELECT next_uidvalidity FROM syncstate")[0][0] <= mxuv:
        conn.execute("UPDATE syncstate SET next_uidvalidity = ?", (mxuv + 1,))
        fixes += 1
    return fixes


def reassign_threads(conn: apsw.Connection, tx: Tx) -> int:
    """Recompute every message's thread from the stored Message-ID/References and subject."""
    from app.store import analysis

    conn.execute("UPDATE message SET thread_id = 0, thread_parent_ids = '', thread_missing_link = 0")
    rows = q(
        conn,
        "SELECT m.id, m.data_id, m.received, m.is_dsn, m.message_id, m.subject_base FROM message m ORDER BY m.received, m.id",
    )
    for mid, data_id, received, is_dsn, msgid, subject_base in rows:
        raw = b"".join(
            r[0] for r in q(conn, "SELECT data FROM chunk WHERE data_id = ? ORDER BY seq", (data_id,))
        )
        a = analysis.analyze_threading(raw)
        an = Analyzed(b"", "", "", msgid, a.references, subject_base, a.is_reply)
        th = threads.assign(conn, mid, an, received, bool(is_dsn))
        conn.execute(
            "UPDATE message SET thread_id = ?, thread_parent_ids = ?, thread_missing_link = ? WHERE id = ?",
            (th.thread_id, threads.parent_ids_to_db(th.parent_ids), int(th.missing_link), mid),
        )
    return len(rows)
