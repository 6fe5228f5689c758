"""Read queries on a reader connection: mailboxes, status, UIDs and flags, metadata, search.

Each function is one query or runs inside one read transaction, so it sees one consistent
snapshot; readers never block on the writer (WAL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import apsw

from app.store import blobs, counts, mailboxes
from app.store.messages import FLAGS_MASK_SQL, META_COLUMNS, flags_of_mask, row_to_meta
from app.store.model import (
    FLAG_COLUMN_NAMES,
    Annotation,
    DeliveryFacts,
    FlagsChanged,
    FlagSet,
    Mailbox,
    MailboxStatus,
    MessageMeta,
    keywords_from_db,
    keywords_to_db,
)
from app.store.sqlq import q


def list_mailboxes(conn: apsw.Connection) -> list[Mailbox]:
    with conn:
        subs = {r[0] for r in q(conn, "SELECT name FROM subscription")}
        rows = q(conn, f"SELECT {mailboxes.MAILBOX_COLUMNS} FROM mailbox ORDER BY name")
    return [mailboxes.row_to_mailbox(r, r[1] in subs) for r in rows]


def mbid(conn: apsw.Connection, m: int | str) -> int:
    """The id of a mailbox given by id or name (MailboxNotFound for an unknown name)."""
    return m if isinstance(m, int) else mailboxes.get(conn, m).id


def mailbox(conn: apsw.Connection, m: int | str) -> Mailbox:
    return mailboxes.get(conn, m)


def status(conn: apsw.Connection, m: int | str) -> MailboxStatus:
    with conn:
        mb = mailboxes.get(conn, m)
        hm = counts.highest_modseq(conn)
    return MailboxStatus(
        mb.id, mb.name, mb.uidvalidity, mb.uidnext, mb.counts, hm, mb.keywords, mb.special_use
    )


def uids_flags(conn: apsw.Connection, mailbox_id: int) -> list[tuple[int, int, frozenset[str]]]:
    return _uid_modseq_flags(conn, "mailbox_id = ?", (mailbox_id,))


def _uid_modseq_flags(
    conn: apsw.Connection, where: str, params: tuple[int, ...]
) -> list[tuple[int, int, frozenset[str]]]:
    plain: dict[int, frozenset[str]] = {}  # by mask, for the (usual) rows without keywords
    cache: dict[tuple[int, str], frozenset[str]] = {}
    out: list[tuple[int, int, frozenset[str]]] = []
    add = out.append
    rows: Any = conn.execute(
        f"SELECT uid, modseq, {FLAGS_MASK_SQL}, keywords FROM message WHERE {where} ORDER BY uid", params
    )
    for uid, modseq, mask, kw in rows:
        if kw:
            fs = cache.get((mask, kw))
            if fs is None:
                fs = cache[(mask, kw)] = flags_of_mask(mask, kw)
        else:
            fs = plain.get(mask)
            if fs is None:
                fs = plain[mask] = flags_of_mask(mask, kw)
        add((uid, modseq, fs))
    return out


def uids_by_flags(conn: apsw.Connection, mailbox_id: int) -> list[tuple[int, str, list[int]]]:
    """(flag mask (FLAGS_MASK_SQL), keywords, UIDs in no particular order) per distinct flag
    combination of a mailbox: SQLite groups the rows, Python sees a few (FETCH 1:* FLAGS)."""
    rows = q(conn,
        f"SELECT {FLAGS_MASK_SQL} AS m, keywords, json_group_array(uid) FROM message"
        " WHERE mailbox_id = ? GROUP BY m, keywords",
        (mailbox_id,),
    )  # fmt: skip
    return [(m, kw, json.loads(u)) for m, kw, u in rows]


def uids(conn: apsw.Connection, mailbox_id: int) -> list[int]:
    return [r[0] for r in q(conn, "SELECT uid FROM message WHERE mailbox_id = ? ORDER BY uid", (mailbox_id,))]


def changed_since(
    conn: apsw.Connection, mailbox_id: int, modseq: int
) -> list[tuple[int, int, frozenset[str]]]:
    return _uid_modseq_flags(conn, "mailbox_id = ? AND modseq > ?", (mailbox_id, modseq))


def expunged_since(conn: apsw.Connection, mailbox_id: int, modseq: int) -> list[int]:
    return [
        r[0]
        for r in q(
            conn,
            "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
            (mailbox_id, modseq),
        )
    ]


def message_meta(conn: apsw.Connection, mailbox_id: int, uid_list: Iterable[int]) -> list[MessageMeta]:
    rows = q(
        conn,
        f"SELECT {META_COLUMNS} FROM message WHERE mailbox_id = ?"
        " AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
        (mailbox_id, json.dumps(sorted(set(uid_list)))),
    )
    return [row_to_meta(r) for r in rows]


def message_by_id(conn: apsw.Connection, message_id: int) -> MessageMeta | None:
    rows = q(conn, f"SELECT {META_COLUMNS} FROM message WHERE id = ?", (message_id,))
    return row_to_meta(rows[0]) if rows else None


def list_messages(
    conn: apsw.Connection, mailbox_id: int, limit: int, before: tuple[float, int] | None
) -> list[MessageMeta]:
    """Messages newest first; ``before`` (received, id) of the last one seen continues a page."""
    if before is None:
        rows = q(
            conn,
            f"SELECT {META_COLUMNS} FROM message WHERE mailbox_id = ? ORDER BY received DESC, id DESC LIMIT ?",
            (mailbox_id, limit),
        )
    else:
        rows = q(
            conn,
            f"SELECT {META_COLUMNS} FROM message WHERE mailbox_id = ? AND (received, id) < (?, ?)"
            " ORDER BY received DESC, id DESC LIMIT ?",
            (mailbox_id, before[0], before[1], limit),
        )
    return [row_to_meta(r) for r in rows]


def thread_messages(conn: apsw.Connection, thread_id: int) -> list[MessageMeta]:
    rows = conn.execute(
        f"SELECT {META_COLUMNS} FROM message WHERE thread_id = ? ORDER BY received, id", (thread_id,)
    )
    return [row_to_meta(r) for r in rows]


def facts(conn: apsw.Connection, message_id: int) -> DeliveryFacts | None:
    rows = q(
        conn,
        "SELECT m.remote_ip, m.ehlo_domain, m.mail_from, m.mail_from_localpart, m.mail_from_domain,"
        " m.rcpt_to_localpart, m.rcpt_to_domain, m.msg_from_localpart, m.msg_from_domain,"
        " m.msg_from_org_domain, m.ehlo_validated, m.mail_from_validated, m.msg_from_validated,"
        " m.ehlo_validation, m.mail_from_validation, m.msg_from_validation, m.dkim_domains,"
        " m.orig_ehlo_domain, m.orig_dkim_domains, m.is_reject, m.is_forward, m.is_mailing_list, m.is_dsn,"
        " coalesce(b.name, ''), m.received_tls_version, m.received_tls_cipher_suite, m.received_require_tls"
        " FROM message m LEFT JOIN mailbox b ON b.id = m.mailbox_destined_id WHERE m.id = ?",
        (message_id,),
    )
    if not rows:
        return None
    r: Any = rows[0]
    return DeliveryFacts(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), bool(r[11]), bool(r[12]),
        r[13], r[14], r[15], tuple(r[16].split()), r[17], tuple(r[18].split()), bool(r[19]), bool(r[20]),
        bool(r[21]), bool(r[22]), r[23], r[24], r[25], bool(r[26]),
    )  # fmt: skip


_WORD = re.compile(r"\w+")


def fts_query(needle: str) -> str | None:
    """An FTS5 query for the words of ``needle`` as a phrase, the last word as a prefix (so
    "quart rep" finds "quarterly report" is not the aim, but "quarterly rep" does). None when
    the needle has no word characters."""
    words = _WORD.findall(needle)
    if not words:
        return None
    return '"' + " ".join(words) + '"*'


def search_text(conn: apsw.Connection, mailbox_id: int, needle: str) -> set[int] | None:
    """UIDs in the mailbox whose decoded text or headers contain the words of ``needle`` in order
    (case and diacritics ignored; the last word may be the start of a longer word).

    This is word search (webmail, and IMAP servers that accept word semantics); it does not find
    a needle starting inside a word, which RFC 9051 substring SEARCH would. None when the needle
    has no words: the caller must scan.
    """
    query = fts_query(needle)
    if query is None:
        return None
    rows = q(
        conn,
        "SELECT m.uid FROM fts JOIN message m ON m.data_id = fts.rowid WHERE fts MATCH ? AND m.mailbox_id = ?",
        (query, mailbox_id),
    )
    return {r[0] for r in rows}


def list_annotations(conn: apsw.Connection, mailbox_id: int | None) -> list[Annotation]:
    rows = conn.execute(
        "SELECT mailbox_id, key, value, is_string, modseq FROM annotation WHERE mailbox_id = ? ORDER BY key",
        (mailbox_id or 0,),
    )
    return [Annotation(r[0] or None, r[1], bytes(r[2]), bool(r[3]), r[4]) for r in rows]


def setting(conn: apsw.Connection, key: str) -> str | None:
    rows = q(conn, "SELECT value FROM setting WHERE key = ?", (key,))
    return str(rows[0][0]) if rows else None


# Read helpers for the IMAP server's hot paths (SELECT and FETCH): fewer statements and fewer
# Python objects per message than the general-purpose reads above.


def mailbox_and_status(conn: apsw.Connection, m: int | str) -> tuple[Mailbox, MailboxStatus]:
    """A mailbox and its status from one lookup (call inside a read transaction for a snapshot
    consistent with further reads)."""
    mb = mailboxes.get(conn, m)
    hm = counts.highest_modseq(conn)
    st = MailboxStatus(mb.id, mb.name, mb.uidvalidity, mb.uidnext, mb.counts, hm, mb.keywords, mb.special_use)
    return mb, st


def uid_list(conn: apsw.Connection, mailbox_id: int) -> list[int]:
    """UIDs of a mailbox, ascending, aggregated by SQLite into one JSON array: one result row
    instead of one per message (SELECT of a large mailbox)."""
    # No ORDER BY in the aggregate: SQLite would sort all UIDs again, where the (mailbox_id, uid)
    # index already yields them in order (half the time of the call for 100k). The sort below
    # keeps the result right whatever plan SQLite picks; on sorted input it is one linear pass.
    rows = q(conn, "SELECT json_group_array(uid) FROM message WHERE mailbox_id = ?", (mailbox_id,))
    out: list[int] = json.loads(rows[0][0])
    out.sort()
    return out


# uid, id, createseq, modseq, flag mask (FLAGS_MASK_SQL), keywords, size, received, savedate,
# data_id, thread_id
FETCH_COLUMNS = (
    f"uid, id, createseq, modseq, {FLAGS_MASK_SQL}, keywords, size, received, savedate, data_id, thread_id"
)


def fetch_rows(conn: apsw.Connection, mailbox_id: int, uid_list: list[int]) -> list[tuple[Any, ...]]:
    """FETCH_COLUMNS of the given UIDs of a mailbox, ascending by UID. A contiguous run of UIDs
    (the usual FETCH m:n) is read as a range."""
    wanted = sorted(set(uid_list))
    if not wanted:
        return []
    if wanted[-1] - wanted[0] + 1 == len(wanted):
        return q(conn,
            f"SELECT {FETCH_COLUMNS} FROM message WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid",
            (mailbox_id, wanted[0], wanted[-1]),
        )  # fmt: skip
    return q(conn,
        f"SELECT {FETCH_COLUMNS} FROM message WHERE mailbox_id = ?"
        " AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
        (mailbox_id, json.dumps(wanted)),
    )  # fmt: skip


def message_bytes_and_parsed(conn: apsw.Connection, data_id: int) -> tuple[bytes, bytes] | None:
    """A message's bytes and its stored (serialized) MIME structure in one read transaction;
    None when the data is gone."""
    with conn:
        rows = q(conn, "SELECT parsed FROM msgdata WHERE id = ?", (data_id,))
        data = blobs.read_all(conn, data_id) if rows else None
    if data is None:
        return None
    return data, bytes(rows[0][0])


def flags_unchanged(
    conn: apsw.Connection, mailbox_id: int, uid_list: list[int], mode: str, fl: FlagSet
) -> list[FlagsChanged] | None:
    """For a STORE (RFC 9051 section 6.4.6) that would change nothing: each message's current
    flags and modseq, as ``messages.set_flags`` reports unchanged messages; None when some
    message would change (or the mailbox is gone), so the caller must write. Applies the same
    add/remove/replace rules and comparison as ``messages.set_flags``."""
    want = 0
    for i, c in enumerate(FLAG_COLUMN_NAMES):
        if c in fl.columns:
            want |= 1 << i
    out: list[FlagsChanged] = []
    with conn:
        if not q(conn, "SELECT 1 FROM mailbox WHERE id = ?", (mailbox_id,)):
            return None
        rows = fetch_rows(conn, mailbox_id, uid_list)
    for r in rows:
        uid, modseq, mask, kw = r[0], r[3], r[4], r[5]
        old_kw = keywords_from_db(kw)
        if mode == "add":
            new_mask, new_kw = mask | want, keywords_to_db(set(old_kw) | set(fl.keywords))
        elif mode == "remove":
            new_mask, new_kw = mask & ~want, keywords_to_db(set(old_kw) - set(fl.keywords))
        else:
            new_mask, new_kw = want, keywords_to_db(fl.keywords)
        if new_mask != mask or new_kw != " ".join(old_kw):
            return None
        out.append(FlagsChanged(uid, flags_of_mask(mask, new_kw), modseq))
    return out
