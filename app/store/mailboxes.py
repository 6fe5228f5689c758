"""Mailbox operations inside a write transaction: create, rename, delete, subscribe, special-use.

Names are full paths with ``/`` as hierarchy separator (RFC 9051 section 5.1, as mox). "INBOX"
in any case is stored as "Inbox", also as the first component of a longer name. Parents are
created as needed (there are no \\NoSelect stand-in parents, as in mox). Renaming Inbox moves its
messages into a new mailbox and leaves Inbox empty (RFC 9051 section 6.3.6); renaming any other
mailbox renames its children along.
"""

from __future__ import annotations

from typing import Any

import apsw

from app.store import counts
from app.store.changes import (
    ChangeMailboxAdd,
    ChangeMailboxCounts,
    ChangeMailboxRemove,
    ChangeMailboxRename,
    ChangeMailboxSpecialUse,
    ChangeSubscription,
)
from app.store.errors import (
    InvalidMailboxName,
    MailboxExists,
    MailboxNotEmpty,
    MailboxNotFound,
    StoreError,
)
from app.store.model import SPECIAL_USES, Mailbox, MailboxCounts, keywords_from_db
from app.store.sqlq import q
from app.store.writer import Tx

MAILBOX_COLUMNS = (
    "id, name, parent_id, uidvalidity, uidnext, special_use, keywords, "
    "total, deleted, unread, unseen, size, modseq, createseq"
)
MAX_NAME = 1000


def row_to_mailbox(r: Any, subscribed: bool = False) -> Mailbox:
    return Mailbox(
        id=r[0],
        name=r[1],
        parent_id=r[2],
        uidvalidity=r[3],
        uidnext=r[4],
        special_use=r[5],
        keywords=keywords_from_db(r[6]),
        counts=MailboxCounts(r[7], r[8], r[9], r[10], r[11]),
        modseq=r[12],
        createseq=r[13],
        subscribed=subscribed,
    )


def normalize_name(name: str) -> str:
    """Validate a mailbox name and return its stored form (raises InvalidMailboxName)."""
    if not name or len(name) > MAX_NAME:
        raise InvalidMailboxName("mailbox name empty or too long")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0x80 <= ord(c) < 0xA0 for c in name):
        raise InvalidMailboxName("control characters in mailbox name")
    parts = name.split("/")
    if any(p == "" for p in parts):
        raise InvalidMailboxName("empty hierarchy component in mailbox name")
    if any(p.strip() != p for p in parts):
        raise InvalidMailboxName("leading or trailing space in mailbox name component")
    if any(c in name for c in "%*"):
        raise InvalidMailboxName("wildcard characters in mailbox name")
    if parts[0].lower() == "inbox":
        parts[0] = "Inbox"
    return "/".join(parts)


_GET_COLUMNS = f"{MAILBOX_COLUMNS}, EXISTS(SELECT 1 FROM subscription WHERE subscription.name = mailbox.name)"


def get(conn: apsw.Connection, mailbox: int | str) -> Mailbox:
    """Look up a mailbox by id or name (raises MailboxNotFound)."""
    if isinstance(mailbox, int):
        rows = q(conn, f"SELECT {_GET_COLUMNS} FROM mailbox WHERE id = ?", (mailbox,))
    else:
        try:
            name = normalize_name(mailbox)
        except InvalidMailboxName:
            raise MailboxNotFound(f"no mailbox {mailbox!r}") from None
        rows = q(conn, f"SELECT {_GET_COLUMNS} FROM mailbox WHERE name = ?", (name,))
    if not rows:
        raise MailboxNotFound(f"no mailbox {mailbox!r}")
    return row_to_mailbox(rows[0], bool(rows[0][14]))


def _exists(conn: apsw.Connection, name: str) -> int | None:
    rows = q(conn, "SELECT id FROM mailbox WHERE name = ?", (name,))
    return int(rows[0][0]) if rows else None


def next_uidvalidity(conn: apsw.Connection) -> int:
    rows = q(
        conn, "UPDATE syncstate SET next_uidvalidity = next_uidvalidity + 1 RETURNING next_uidvalidity - 1"
    )
    return int(rows[0][0])


def _insert(
    conn: apsw.Connection, tx: Tx, name: str, parent_id: int | None, modseq: int, special_use: str
) -> int:
    uv = next_uidvalidity(conn)
    conn.execute(
        "INSERT INTO mailbox(name, parent_id, uidvalidity, uidnext, special_use, createseq, modseq)"
        " VALUES (?, ?, ?, 1, ?, ?, ?)",
        (name, parent_id, uv, special_use, modseq, modseq),
    )
    mid = conn.last_insert_rowid()
    tx.add(ChangeMailboxAdd(mid, name, special_use))
    return mid


def _check_special_use(use: str) -> str:
    if not use:
        return ""
    for su in SPECIAL_USES:
        if su.lower() == use.lower():
            return su
    raise StoreError(f"unknown special-use {use!r}")


def _ensure_parents(conn: apsw.Connection, tx: Tx, name: str, modseq: int, subscribe: bool) -> int | None:
    """Create missing ancestors of ``name``; return the id of its parent (None at top level)."""
    parts = name.split("/")
    parent: int | None = None
    for i in range(1, len(parts)):
        pname = "/".join(parts[:i])
        pid = _exists(conn, pname)
        if pid is None:
            pid = _insert(conn, tx, pname, parent, modseq, "")
            if subscribe:
                set_subscribed(conn, tx, pname, True)
        parent = pid
    return parent


def create(
    conn: apsw.Connection, tx: Tx, name: str, modseq: int, special_use: str = "", subscribe: bool = True
) -> Mailbox:
    name = normalize_name(name)
    use = _check_special_use(special_use)
    if _exists(conn, name) is not None:
        raise MailboxExists(f"mailbox {name!r} already exists")
    parent = _ensure_parents(conn, tx, name, modseq, subscribe)
    mid = _insert(conn, tx, name, parent, modseq, use)
    if use:
        _take_special_use(conn, tx, use, mid, modseq)
    if subscribe:
        set_subscribed(conn, tx, name, True)
    return get(conn, mid)


def set_subscribed(conn: apsw.Connection, tx: Tx, name: str, on: bool) -> None:
    name = normalize_name(name)
    if on:
        cur = conn.execute("INSERT OR IGNORE INTO subscription(name) VALUES (?)", (name,))
    else:
        cur = conn.execute("DELETE FROM subscription WHERE name = ?", (name,))
    if conn.changes():
        tx.add(ChangeSubscription(name, on))
    del cur


def _take_special_use(conn: apsw.Connection, tx: Tx, use: str, owner: int, modseq: int) -> None:
    """A role belongs to one mailbox: take it away from any other holder (as mox's webmail does)."""
    for oid, oname in q(conn, "SELECT id, name FROM mailbox WHERE special_use = ? AND id != ?", (use, owner)):
        conn.execute("UPDATE mailbox SET special_use = '', modseq = ? WHERE id = ?", (modseq, oid))
        tx.add(ChangeMailboxSpecialUse(oid, oname, ""))


def set_special_use(conn: apsw.Connection, tx: Tx, mailbox: int | str, use: str, modseq: int) -> Mailbox:
    mb = get(conn, mailbox)
    su = _check_special_use(use)
    if su:
        _take_special_use(conn, tx, su, mb.id, modseq)
    conn.execute("UPDATE mailbox SET special_use = ?, modseq = ? WHERE id = ?", (su, modseq, mb.id))
    tx.add(ChangeMailboxSpecialUse(mb.id, mb.name, su))
    return get(conn, mb.id)


def rename(conn: apsw.Connection, tx: Tx, old: int | str, new: str, modseq: int) -> Mailbox:
    src = get(conn, old)
    new = normalize_name(new)
    if _exists(conn, new) is not None:
        raise MailboxExists(f"mailbox {new!r} already exists")
    if src.name == "Inbox":
        from app.store import messages

        dst = create(conn, tx, new, modseq)
        uids = [r[0] for r in q(conn, "SELECT uid FROM message WHERE mailbox_id = ? ORDER BY uid", (src.id,))]
        if uids:
            messages.move(conn, tx, src, uids, dst, modseq)
        return get(conn, dst.id)
    if new == src.name or new.startswith(src.name + "/"):
        raise InvalidMailboxName("cannot rename a mailbox into itself")
    parent = _ensure_parents(conn, tx, new, modseq, True)
    children = q(
        conn,
        "SELECT id, name FROM mailbox WHERE substr(name, 1, ?) = ? ORDER BY name",
        (len(src.name) + 1, src.name + "/"),
    )
    conn.execute(
        "UPDATE mailbox SET name = ?, parent_id = ?, modseq = ? WHERE id = ?", (new, parent, modseq, src.id)
    )
    tx.add(ChangeMailboxRename(src.id, src.name, new))
    _move_subscription(conn, tx, src.name, new)
    for cid, cname in children:
        nname = new + cname[len(src.name) :]
        conn.execute("UPDATE mailbox SET name = ?, modseq = ? WHERE id = ?", (nname, modseq, cid))
        tx.add(ChangeMailboxRename(cid, cname, nname))
        _move_subscription(conn, tx, cname, nname)
    return get(conn, src.id)


def _move_subscription(conn: apsw.Connection, tx: Tx, old: str, new: str) -> None:
    if q(conn, "SELECT 1 FROM subscription WHERE name = ?", (old,)):
        set_subscribed(conn, tx, old, False)
        set_subscribed(conn, tx, new, True)


def delete(conn: apsw.Connection, tx: Tx, mailbox: int | str, modseq: int) -> Mailbox:
    from app.store import blobs

    mb = get(conn, mailbox)
    if mb.name == "Inbox":
        raise StoreError("cannot delete Inbox")
    if q(conn, "SELECT 1 FROM mailbox WHERE parent_id = ? LIMIT 1", (mb.id,)):
        raise MailboxNotEmpty(f"mailbox {mb.name!r} has children, delete them first")
    data_ids = {r[0] for r in q(conn, "SELECT DISTINCT data_id FROM message WHERE mailbox_id = ?", (mb.id,))}
    counts.add_disk_usage(conn, -mb.counts.size)
    conn.execute("DELETE FROM message WHERE mailbox_id = ?", (mb.id,))
    conn.execute("DELETE FROM expunged WHERE mailbox_id = ?", (mb.id,))
    conn.execute("DELETE FROM annotation WHERE mailbox_id = ?", (mb.id,))
    conn.execute("DELETE FROM mailbox WHERE id = ?", (mb.id,))
    blobs.drop_unused_data(conn, data_ids, tx.fts)
    tx.add(ChangeMailboxRemove(mb.id, mb.name))
    return mb


def counts_change(conn: apsw.Connection, mailbox_id: int) -> ChangeMailboxCounts:
    r = q(conn, "SELECT name, total, deleted, unread, unseen, size FROM mailbox WHERE id = ?", (mailbox_id,))[
        0
    ]
    return ChangeMailboxCounts(mailbox_id, r[0], r[1], r[2], r[3], r[4], r[5])
