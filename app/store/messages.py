"""Message operations inside a write transaction: add, set flags, copy, move, expunge.

Every operation takes one modseq for all it changes (RFC 7162), keeps the mailbox counts,
UIDNEXT, keywords in use and the account's disk usage right in the same transaction, records
tombstones for removed UIDs (for QRESYNC, RFC 7162 section 3.2.10) and records the changes to
broadcast after the commit.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import apsw

from app.store import blobs, counts, threads
from app.store.analysis import Analyzed
from app.store.changes import (
    ChangeAddUID,
    ChangeFlags,
    ChangeMailboxCounts,
    ChangeMailboxKeywords,
    ChangeRemoveUIDs,
)
from app.store.mailboxes import counts_change
from app.store.model import (
    COLUMN_FLAG,
    FLAG_COLUMN_NAMES,
    DeliveryFacts,
    FlagsChanged,
    FlagSet,
    Mailbox,
    MessageMeta,
    SetFlagsResult,
    keywords_from_db,
    keywords_to_db,
    masked_ips,
)
from app.store.sqlq import q
from app.store.writer import Tx

FLAGS_SQL = ", ".join(FLAG_COLUMN_NAMES)
META_COLUMNS = (
    f"id, mailbox_id, uid, modseq, createseq, {FLAGS_SQL}, keywords, size, received, savedate, data_id,"
    " preview, message_id, subject_base, thread_id, thread_parent_ids, thread_missing_link,"
    " thread_muted, thread_collapsed"
)
_NF = len(FLAG_COLUMN_NAMES)
_flag_cache: dict[tuple[int, str], frozenset[str]] = {}


# SQL expression packing the flag columns into one integer (bit i = FLAG_COLUMN_NAMES[i]).
FLAGS_MASK_SQL = " + ".join(f"({c} << {i})" for i, c in enumerate(FLAG_COLUMN_NAMES))


def flags_of(bits: Sequence[int], keywords: str) -> frozenset[str]:
    """IMAP flag names from the boolean columns and keyword text of a row (memoized)."""
    mask = 0
    for i, b in enumerate(bits):
        if b:
            mask |= 1 << i
    return flags_of_mask(mask, keywords)


def flags_of_mask(mask: int, keywords: str) -> frozenset[str]:
    """IMAP flag names from a packed flag mask (FLAGS_MASK_SQL) and keyword text (memoized)."""
    key = (mask, keywords)
    fs = _flag_cache.get(key)
    if fs is None:
        names = [COLUMN_FLAG[FLAG_COLUMN_NAMES[i]] for i in range(_NF) if mask & (1 << i)]
        fs = frozenset(names + list(keywords_from_db(keywords)))
        if len(_flag_cache) < 100_000:
            _flag_cache[key] = fs
    return fs


def row_to_meta(r: Any) -> MessageMeta:
    f = 5 + _NF
    return MessageMeta(
        id=r[0],
        mailbox_id=r[1],
        uid=r[2],
        modseq=r[3],
        createseq=r[4],
        flags=flags_of(r[5:f], r[f]),
        size=r[f + 1],
        received=r[f + 2],
        savedate=r[f + 3],
        data_id=r[f + 4],
        preview=r[f + 5],
        message_id=r[f + 6],
        subject_base=r[f + 7],
        thread_id=r[f + 8],
        thread_parent_ids=threads.parent_ids_from_db(r[f + 9]),
        thread_missing_link=bool(r[f + 10]),
        thread_muted=bool(r[f + 11]),
        thread_collapsed=bool(r[f + 12]),
    )


@dataclass(frozen=True)
class Prepared:
    """A message ready to store: bytes and everything derived from them outside the writer."""

    data: bytes
    analyzed: Analyzed
    flags: FlagSet
    received: float


_FACT_COLS = (
    "mailbox_destined_id, remote_ip, remote_ip_masked1, remote_ip_masked2, remote_ip_masked3, ehlo_domain,"
    " mail_from, mail_from_localpart, mail_from_domain, rcpt_to_localpart, rcpt_to_domain,"
    " msg_from_localpart, msg_from_domain, msg_from_org_domain, ehlo_validated, mail_from_validated,"
    " msg_from_validated, ehlo_validation, mail_from_validation, msg_from_validation, dkim_domains,"
    " orig_ehlo_domain, orig_dkim_domains, is_reject, is_forward, is_mailing_list, is_dsn,"
    " received_tls_version, received_tls_cipher_suite, received_require_tls"
)


def _destined_id(conn: apsw.Connection, f: DeliveryFacts) -> int:
    """Id of the mailbox the message was destined for (0: none, or no longer there)."""
    if not f.mailbox_destined:
        return 0
    rows = q(conn, "SELECT id FROM mailbox WHERE name = ?", (f.mailbox_destined,))
    return int(rows[0][0]) if rows else 0


def _fact_values(f: DeliveryFacts, destined: int) -> tuple[Any, ...]:
    m1, m2, m3 = masked_ips(f.remote_ip)
    return (
        destined, f.remote_ip, m1, m2, m3, f.ehlo_domain,
        f.mail_from, f.mail_from_localpart, f.mail_from_domain, f.rcpt_to_localpart, f.rcpt_to_domain,
        f.msg_from_localpart, f.msg_from_domain, f.msg_from_org_domain, int(f.ehlo_validated),
        int(f.mail_from_validated), int(f.msg_from_validated), f.ehlo_validation, f.mail_from_validation,
        f.msg_from_validation, " ".join(f.dkim_domains), f.orig_ehlo_domain, " ".join(f.orig_dkim_domains),
        int(f.is_reject), int(f.is_forward), int(f.is_mailing_list), int(f.is_dsn),
        f.received_tls_version, f.received_tls_cipher_suite, int(f.received_require_tls),
    )  # fmt: skip


@functools.lru_cache(maxsize=1)
def _no_fact_values() -> tuple[Any, ...]:
    """The fact columns of a message stored without delivery facts (appends, imports)."""
    return _fact_values(DeliveryFacts(), 0)


_NFACT = len(_FACT_COLS.split(","))
_INSERT = (
    f"INSERT INTO message(id, mailbox_id, uid, modseq, createseq, data_id, size, received, savedate,"
    f" {FLAGS_SQL}, keywords, preview, message_id, subject_base, thread_id, thread_parent_ids,"
    f" thread_missing_link, thread_muted, thread_collapsed, mailbox_orig_id, {_FACT_COLS})"
    f" VALUES ({', '.join(['?'] * (9 + _NF + 10 + _NFACT))})"
)


def add(
    conn: apsw.Connection,
    tx: Tx | Sequence[Tx],
    mb: Mailbox,
    items: Sequence[Prepared],
    modseq: int,
    facts: DeliveryFacts | Sequence[DeliveryFacts | None] | None = None,
    first_id: int | None = None,
) -> list[tuple[int, int, threads.ThreadInfo]]:
    """Store new messages in ``mb``; return (message id, uid, thread info) for each.

    ``tx`` and ``facts`` are one for all items, or one per item (a batch of deliveries, each
    recording its own change; the mailbox's counts go to the last). ``first_id``: ids already
    reserved with ``counts.reserve`` (which also added the disk usage); otherwise they are
    reserved here."""
    if not items:
        return []
    now = time.time()
    txs = [tx] * len(items) if isinstance(tx, Tx) else list(tx)
    fl: list[DeliveryFacts | None] = (
        list(facts) if isinstance(facts, (list, tuple)) else [facts] * len(items)  # type: ignore[list-item]
    )
    fv_cache: dict[int, tuple[Any, ...]] = {}
    delta = counts.Delta()
    out: list[tuple[int, int, threads.ThreadInfo]] = []
    uid = mb.uidnext
    all_kws: set[str] = set()
    if first_id is None:
        first_id = counts.next_message_ids(conn, len(items), sum(len(p.data) for p in items))
    for n, p in enumerate(items):
        tx1, f = txs[n], fl[n]
        fv = fv_cache.get(id(f))
        if fv is None:
            fv = fv_cache[id(f)] = (
                _fact_values(f, _destined_id(conn, f)) if f is not None else _no_fact_values()
            )
        data_id = blobs.write_data(conn, p.data, p.analyzed.parsed, p.analyzed.text, tx1.fts)
        mid = first_id + n
        th = threads.assign(conn, mid, p.analyzed, p.received, bool(f and f.is_dsn))
        cols = set(p.flags.columns)
        if th.muted:
            cols.add("seen")
        bits = [int(c in cols) for c in FLAG_COLUMN_NAMES]
        kwdb = keywords_to_db(p.flags.keywords) if p.flags.keywords else ""
        an = p.analyzed
        conn.execute(
            _INSERT,
            (
                mid, mb.id, uid, modseq, modseq, data_id, len(p.data), p.received, now,
                *bits, kwdb, an.preview, an.message_id, an.subject_base,
                th.thread_id, threads.parent_ids_to_db(th.parent_ids), int(th.missing_link),
                int(th.muted), int(th.collapsed), mb.id, *fv,
            ),
        )  # fmt: skip
        delta.add("seen" in cols, "deleted" in cols, len(p.data))
        all_kws.update(p.flags.keywords)
        fs = flags_of(bits, kwdb)
        tx1.add(ChangeAddUID(mb.id, uid, modseq, fs, mid, th.thread_id))
        out.append((mid, uid, th))
        uid += 1
    # UIDNEXT and counts in one statement that also returns the new counts for the change.
    [r] = q(conn,
        "UPDATE mailbox SET uidnext = ?, total = total + ?, deleted = deleted + ?, unread = unread + ?,"
        " unseen = unseen + ?, size = size + ? WHERE id = ? RETURNING name, total, deleted, unread, unseen, size",
        (uid, delta.total, delta.deleted, delta.unread, delta.unread, delta.size, mb.id),
    )  # fmt: skip
    _keywords_changed(conn, txs[-1], mb, all_kws)
    txs[-1].add(ChangeMailboxCounts(mb.id, *r))
    return out


def _keywords_changed(conn: apsw.Connection, tx: Tx, mb: Mailbox, kws: Iterable[str]) -> None:
    new = counts.merge_keywords(conn, mb.id, kws)
    if new is not None:
        tx.add(ChangeMailboxKeywords(mb.id, mb.name, new))


def _select(conn: apsw.Connection, mb: Mailbox, uids: Iterable[int], cols: str) -> list[Any]:
    return q(
        conn,
        f"SELECT {cols} FROM message WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
        (mb.id, json.dumps(sorted(set(uids)))),
    )


def set_flags(
    conn: apsw.Connection,
    tx: Tx,
    mb: Mailbox,
    uids: Iterable[int],
    mode: str,
    fl: FlagSet,
    unchanged_since: int | None,
    modseq_fn: Any,
) -> SetFlagsResult:
    if mode not in ("add", "remove", "replace"):
        raise ValueError(f"bad flag mode {mode!r}")
    rows = _select(conn, mb, uids, f"id, uid, modseq, {FLAGS_SQL}, keywords")
    changed: list[FlagsChanged] = []
    unchanged: list[FlagsChanged] = []
    modified: list[int] = []
    modseq = 0
    delta = counts.Delta()
    kw_added: set[str] = set()
    for r in rows:
        mid, uid, mseq = r[0], r[1], r[2]
        old_bits = list(r[3 : 3 + _NF])
        old_kw = keywords_from_db(r[3 + _NF])
        if unchanged_since is not None and mseq > unchanged_since:
            modified.append(uid)
            continue
        old_cols = {FLAG_COLUMN_NAMES[i] for i in range(_NF) if old_bits[i]}
        if mode == "add":
            cols, kws = old_cols | fl.columns, set(old_kw) | set(fl.keywords)
        elif mode == "remove":
            cols, kws = old_cols - fl.columns, set(old_kw) - set(fl.keywords)
        else:
            cols, kws = set(fl.columns), set(fl.keywords)
        new_bits = [int(c in cols) for c in FLAG_COLUMN_NAMES]
        new_kw = keywords_to_db(kws)
        if new_bits == old_bits and new_kw == " ".join(old_kw):
            unchanged.append(FlagsChanged(uid, flags_of(old_bits, new_kw), mseq))
            continue
        if not modseq:
            modseq = modseq_fn()
        conn.execute(
            f"UPDATE message SET {', '.join(c + ' = ?' for c in FLAG_COLUMN_NAMES)}, keywords = ?, modseq = ?"
            " WHERE id = ?",
            (*new_bits, new_kw, modseq, mid),
        )
        delta.add("seen" in old_cols, "deleted" in old_cols, 0, -1)
        delta.add("seen" in cols, "deleted" in cols, 0, 1)
        kw_added.update(kws - set(old_kw))
        fs = flags_of(new_bits, new_kw)
        changed.append(FlagsChanged(uid, fs, modseq))
        tx.add(ChangeFlags(mb.id, uid, modseq, fs))
    if delta.apply(conn, mb.id):
        tx.add(counts_change(conn, mb.id))
    _keywords_changed(conn, tx, mb, kw_added)
    return SetFlagsResult(tuple(changed), tuple(modified), tuple(unchanged))


def copy(
    conn: apsw.Connection, tx: Tx, src: Mailbox, uids: Iterable[int], dst: Mailbox, modseq: int, quota: int
) -> tuple[list[int], list[int]]:
    """Copy messages (sharing their bytes); the copies get new UIDs, modseq and savedate."""
    rows = _select(conn, src, uids, "id")
    if not rows:
        return [], []
    size = q(
        conn,
        "SELECT coalesce(sum(size), 0) FROM message WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps([r[0] for r in rows]),),
    )[0][0]
    counts.check_quota(conn, quota, int(size))
    now = time.time()
    uid = dst.uidnext
    src_uids: list[int] = []
    dst_uids: list[int] = []
    delta = counts.Delta()
    kws: set[str] = set()
    # Everything else is kept, including the mailbox first delivered to (junk training and
    # reputation look at where a message originally arrived).
    skip = {"id", "mailbox_id", "uid", "modseq", "createseq", "savedate"}
    cols = [c for c in _all_columns(conn) if c not in skip]
    clist = ", ".join(cols)
    for (oid,) in rows:
        nid = counts.next_message_id(conn)
        conn.execute(
            f"INSERT INTO message(id, mailbox_id, uid, modseq, createseq, savedate, {clist})"
            f" SELECT ?, ?, ?, ?, ?, ?, {clist} FROM message WHERE id = ?",
            (nid, dst.id, uid, modseq, modseq, now, oid),
        )
        r = q(conn, f"SELECT uid, {FLAGS_SQL}, keywords, size, thread_id FROM message WHERE id = ?", (oid,))[
            0
        ]
        bits, kw, sz, tid = r[1 : 1 + _NF], r[1 + _NF], r[2 + _NF], r[3 + _NF]
        delta.add(bool(bits[0]), bool(bits[3]), sz)
        kws.update(keywords_from_db(kw))
        tx.add(ChangeAddUID(dst.id, uid, modseq, flags_of(bits, kw), nid, tid))
        src_uids.append(r[0])
        dst_uids.append(uid)
        uid += 1
    conn.execute("UPDATE mailbox SET uidnext = ? WHERE id = ?", (uid, dst.id))
    counts.add_disk_usage(conn, delta.size)
    delta.apply(conn, dst.id)
    _keywords_changed(conn, tx, dst, kws)
    tx.add(counts_change(conn, dst.id))
    return src_uids, dst_uids


_columns_cache: list[str] = []


def _all_columns(conn: apsw.Connection) -> list[str]:
    if not _columns_cache:
        _columns_cache.extend(r[1] for r in q(conn, "PRAGMA table_info(message)"))
    return _columns_cache


def move(
    conn: apsw.Connection, tx: Tx, src: Mailbox, uids: Iterable[int], dst: Mailbox, modseq: int
) -> tuple[list[int], list[int]]:
    """Move messages (RFC 6851): same rows, new mailbox, new UIDs; tombstones in the source."""
    rows = _select(conn, src, uids, f"id, uid, {FLAGS_SQL}, keywords, size, thread_id")
    if not rows:
        return [], []
    now = time.time()
    uid = dst.uidnext
    src_uids: list[int] = []
    dst_uids: list[int] = []
    dsrc, ddst = counts.Delta(), counts.Delta()
    kws: set[str] = set()
    for r in rows:
        mid, ouid = r[0], r[1]
        bits, kw, sz, tid = r[2 : 2 + _NF], r[2 + _NF], r[3 + _NF], r[4 + _NF]
        conn.execute(
            "UPDATE message SET mailbox_id = ?, uid = ?, modseq = ?, createseq = ?, savedate = ? WHERE id = ?",
            (dst.id, uid, modseq, modseq, now, mid),
        )
        conn.execute(
            "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES (?, ?, ?)",
            (src.id, ouid, modseq),
        )
        dsrc.add(bool(bits[0]), bool(bits[3]), sz, -1)
        ddst.add(bool(bits[0]), bool(bits[3]), sz, 1)
        kws.update(keywords_from_db(kw))
        tx.add(ChangeAddUID(dst.id, uid, modseq, flags_of(bits, kw), mid, tid))
        src_uids.append(ouid)
        dst_uids.append(uid)
        uid += 1
    conn.execute("UPDATE mailbox SET uidnext = ? WHERE id = ?", (uid, dst.id))
    dsrc.apply(conn, src.id)
    ddst.apply(conn, dst.id)
    _keywords_changed(conn, tx, dst, kws)
    tx.add(ChangeRemoveUIDs(src.id, tuple(src_uids), modseq))
    tx.add(counts_change(conn, src.id))
    tx.add(counts_change(conn, dst.id))
    return src_uids, dst_uids


def expunge(
    conn: apsw.Connection, tx: Tx, mb: Mailbox, uids: Iterable[int] | None, only_deleted: bool, modseq_fn: Any
) -> tuple[list[int], int]:
    """Remove messages, leaving tombstones; return the removed UIDs and the modseq used."""
    cols = "id, uid, seen, deleted, size, data_id"
    if uids is None:
        sql = f"SELECT {cols} FROM message WHERE mailbox_id = ?" + (" AND deleted" if only_deleted else "")
        rows = q(conn, sql + " ORDER BY uid", (mb.id,))
    else:
        rows = [r for r in _select(conn, mb, uids, cols) if r[3] or not only_deleted]
    if not rows:
        return [], 0
    modseq = int(modseq_fn())
    delta = counts.Delta()
    data_ids: set[int] = set()
    removed: list[int] = []
    for mid, uid, seen, deleted, size, data_id in rows:
        conn.execute("DELETE FROM message WHERE id = ?", (mid,))
        conn.execute(
            "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES (?, ?, ?)", (mb.id, uid, modseq)
        )
        delta.add(bool(seen), bool(deleted), size, -1)
        data_ids.add(data_id)
        removed.append(uid)
    delta.apply(conn, mb.id)
    counts.add_disk_usage(conn, delta.size)
    blobs.drop_unused_data(conn, data_ids, tx.fts)
    tx.add(ChangeRemoveUIDs(mb.id, tuple(removed), modseq))
    tx.add(counts_change(conn, mb.id))
    return removed, modseq
