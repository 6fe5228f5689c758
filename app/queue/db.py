"""The queue database ``data/queue.db`` (apsw SQLite, WAL, synchronous=FULL): queued messages
(one row per recipient), their bytes in 128 KB chunks shared by all recipients of a submission,
retired messages, hold rules and suppression lists.

Every method is synchronous and thread-safe; asyncio code calls them through
``app.runtime.run_blocking``. Writes go to one writer thread with group commit
(``app.queue.writer``), reads to pooled read-only connections that never wait for the writer.
A returned write is committed; added messages, hold rules and suppressions are fsynced before
returning, delivery bookkeeping is not (see ``_write``).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import apsw

from app import mlog
from app.queue.dbrules import RulesMixin
from app.queue.due import DueIndex
from app.queue.model import (
    Filter,
    HoldRule,
    Msg,
    Retired,
    base_address,
)
from app.queue.rows import MSG_COLS, filter_sql, msg_values, row_to_msg
from app.queue.writer import QueueWriter, Tx, reader_pool

T = TypeVar("T")
log = mlog.get("queue")

CHUNK = 128 * 1024
SCHEMA_VERSION = 1

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS content (id INTEGER PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS content_chunk (
    content_id INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (content_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS msg (
    id INTEGER PRIMARY KEY AUTOINCREMENT, base_id INTEGER NOT NULL, queued REAL NOT NULL,
    hold INTEGER NOT NULL, sender_account TEXT NOT NULL, sender_localpart TEXT NOT NULL,
    sender_domain TEXT NOT NULL, rcpt_localpart TEXT NOT NULL, rcpt_domain TEXT NOT NULL,
    attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, next_attempt REAL NOT NULL,
    last_attempt REAL, results TEXT NOT NULL, dialed_ips TEXT NOT NULL, has_8bit INTEGER NOT NULL,
    smtputf8 INTEGER NOT NULL, is_dmarc_report INTEGER NOT NULL, is_tls_report INTEGER NOT NULL,
    size INTEGER NOT NULL, message_id TEXT NOT NULL, subject TEXT NOT NULL, from_id TEXT NOT NULL,
    transport TEXT NOT NULL, requiretls INTEGER, future_release TEXT NOT NULL, notify TEXT,
    orcpt TEXT NOT NULL, dsn_ret TEXT NOT NULL, dsn_envid TEXT NOT NULL, extra TEXT NOT NULL,
    content_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS msg_due ON msg (hold, next_attempt);
CREATE INDEX IF NOT EXISTS msg_base ON msg (base_id, rcpt_domain);
CREATE INDEX IF NOT EXISTS msg_content ON msg (content_id);
CREATE INDEX IF NOT EXISTS msg_domain_due ON msg (rcpt_domain, hold, next_attempt);
CREATE TABLE IF NOT EXISTS retired (
    {MSG_COLS.replace("id, base_id", "id INTEGER PRIMARY KEY, base_id")},
    success INTEGER NOT NULL, last_activity REAL NOT NULL, keep_until REAL NOT NULL);
CREATE INDEX IF NOT EXISTS retired_keep ON retired (keep_until);
CREATE INDEX IF NOT EXISTS retired_from_id ON retired (from_id);
CREATE TABLE IF NOT EXISTS holdrule (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, sender_domain TEXT NOT NULL,
    recipient_domain TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suppression (
    account TEXT NOT NULL, base_address TEXT NOT NULL, original_address TEXT NOT NULL,
    manual INTEGER NOT NULL, reason TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (account, base_address));
CREATE TABLE IF NOT EXISTS failcount (
    account TEXT NOT NULL, base_address TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (account, base_address));
"""


@functools.lru_cache(maxsize=4096)
def _base_address(addr: str) -> str:
    """``base_address``, remembered (the same recipients come back; errors are not cached)."""
    return base_address(addr)


def _next_msg_id(db: apsw.Connection) -> int:
    """The id the next msg row gets from AUTOINCREMENT (inside the write transaction)."""
    rows = db.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'msg'), 0), "
        "coalesce((SELECT max(id) FROM msg), 0)) + 1"
    ).fetchall()
    return int(str(rows[0][0]))


class QueueDBError(Exception):
    """The queue database cannot be used (newer schema, corrupt file)."""


class QueueDB(RulesMixin):
    """The queue database. Open once per server; ``close()`` at shutdown."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Guards the due index: it changes only after commits (on the writer thread) and when a
        # reader finds a domain's entry stale, each time from a query made under this lock, so
        # the last update always reflects the latest committed state.
        self._due_lock = threading.Lock()
        try:
            db = apsw.Connection(str(path))
            db.set_busy_timeout(10_000)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            version = int(str(db.execute("PRAGMA user_version").fetchall()[0][0]))
            if version > SCHEMA_VERSION:
                db.close()
                raise QueueDBError(
                    f"{path}: database schema {version} is newer than this program ({SCHEMA_VERSION})"
                )
            with db:
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except apsw.Error as e:
            raise QueueDBError(f"{path}: {e}") from e
        self.due_index = DueIndex()
        self._due_pending: set[str] = set()  # domains to refresh after the current group
        self._rebuild_due(db)
        self._writer = QueueWriter(db)
        self._readers = reader_pool(path)

    def _rebuild_due(self, conn: apsw.Connection) -> None:
        with self._due_lock:
            rows = conn.execute(
                "SELECT rcpt_domain, min(next_attempt) FROM msg WHERE hold = 0 GROUP BY rcpt_domain"
            ).fetchall()
            self.due_index.rebuild((str(d), float(str(t))) for d, t in rows)

    @staticmethod
    def _domain_due(conn: apsw.Connection, domain: str) -> float | None:
        rows = conn.execute(
            "SELECT min(next_attempt) FROM msg WHERE rcpt_domain = ? AND hold = 0", (domain,)
        ).fetchall()
        v = rows[0][0] if rows else None
        return None if v is None else float(str(v))

    def _refresh_due(self, conn: apsw.Connection, domains: Iterable[str]) -> None:
        with self._due_lock:
            self.due_index.refresh(domains, lambda d: self._domain_due(conn, d))

    def _refresh_after(self, tx: Tx, domains: Iterable[str]) -> None:
        """Update the due index once the write committed (readers must see what it says).

        The domains of a commit group's writes are refreshed together, each once, by the first
        of their after-commit hooks (a group of submissions to one domain asks the database
        once, not once per message). A domain left by a failed write is refreshed needlessly
        with a later group, which is harmless: the refresh reads what is committed."""
        self._due_pending.update(domains)
        tx.after_commit.append(self._flush_due)

    def _flush_due(self, conn: apsw.Connection) -> None:
        if self._due_pending:  # writer thread only, like _refresh_after
            ds, self._due_pending = self._due_pending, set()
            self._refresh_due(conn, ds)

    def _rebuild_after(self, tx: Tx) -> None:
        tx.after_commit.append(self._rebuild_due)

    def close(self) -> None:
        self._writer.close()
        self._readers.close()

    @property
    def commits(self) -> int:
        """Write transactions committed so far (tests, benchmarks)."""
        return self._writer.commits

    def _write(self, fn: Callable[[apsw.Connection, Tx], T], durable: bool = True) -> T:
        """Run ``fn`` in a write transaction (grouped with concurrent writes), return after commit.

        ``durable``: fsync at commit (synchronous=FULL), for what we acknowledge to others
        (queued messages, suppressions). Delivery bookkeeping uses synchronous=NORMAL: in WAL
        mode that survives a process crash (SIGKILL) and at worst repeats a delivery attempt
        after a power loss, for one fsync less per delivery.
        """
        return self._writer.run(fn, durable)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._readers.conn() as db:
            return [tuple(r) for r in db.execute(sql, params)]

    # --- messages ---

    def insert(self, msgs: list[Msg], data: bytes) -> list[int]:
        """Store the bytes once and one row per message; ids and base_id are assigned here."""
        return self._write(lambda db, tx: self._insert_tx(db, tx, msgs, data))

    def add_new(self, msgs: list[Msg], data: bytes) -> list[int]:
        """Queue new messages (one submission): in the same transaction as the insert, put
        messages matching a hold rule on hold and leave out recipients on the sender account's
        suppression list. Returns the ids of the queued messages, in order."""

        def op(db: apsw.Connection, tx: Tx) -> list[int]:
            rules = [
                HoldRule(*r)
                for r in db.execute("SELECT id, account, sender_domain, recipient_domain FROM holdrule")
            ]
            keep: list[Msg] = []
            for m in msgs:
                if (
                    m.sender_account
                    and db.execute(
                        "SELECT 1 FROM suppression WHERE account = ? AND base_address = ?",
                        (m.sender_account, _base_address(m.recipient)),
                    ).fetchall()
                ):
                    log.info(
                        "recipient on suppression list, not queued",
                        account=m.sender_account,
                        rcpt=m.recipient,
                    )
                    continue
                m.hold = m.hold or any(
                    h.matches(m.sender_account, m.sender_domain, m.rcpt_domain) for h in rules
                )
                keep.append(m)
            return self._insert_tx(db, tx, keep, data) if keep else []

        return self._write(op)

    def _insert_tx(self, db: apsw.Connection, tx: Tx, msgs: list[Msg], data: bytes) -> list[int]:
        db.execute("INSERT INTO content (size) VALUES (?)", (len(data),))
        cid = db.last_insert_rowid()
        for seq, off in enumerate(range(0, max(len(data), 1), CHUNK)):
            db.execute(
                "INSERT INTO content_chunk (content_id, seq, data) VALUES (?, ?, ?)",
                (cid, seq, data[off : off + CHUNK]),
            )
        ids: list[int] = []
        # The first message's id is the base id of all: it is the id AUTOINCREMENT would pick
        # (one more than the largest ever used; this is the only writer), given explicitly so
        # each row is written once with its base id.
        base_id = _next_msg_id(db)
        sql = ""
        for m in msgs:
            m.content_id = cid
            m.size = len(data)
            m.base_id = base_id
            vals = msg_values(m)
            sql = sql or f"INSERT INTO msg ({MSG_COLS}) VALUES (?{', ?' * (len(vals) - 1)})"
            db.execute(sql, (base_id if not ids else None, *vals[1:]))
            mid = db.last_insert_rowid()
            m.id = mid
            ids.append(mid)
        self._refresh_after(tx, (m.rcpt_domain for m in msgs))
        return ids

    def content(self, content_id: int) -> bytes:
        rows = self.query("SELECT data FROM content_chunk WHERE content_id = ? ORDER BY seq", (content_id,))
        return b"".join(bytes(r[0]) for r in rows)

    def get(self, mid: int) -> Msg | None:
        rows = self.query(f"SELECT {MSG_COLS} FROM msg WHERE id = ?", (mid,))
        return row_to_msg(rows[0]) if rows else None

    def list_msgs(
        self, f: Filter, sort: str = "nextattempt", asc: bool = True, now: float | None = None
    ) -> list[Msg]:
        where, params = filter_sql(f, now if now is not None else time.time())
        col = {"nextattempt": "next_attempt", "queued": "queued"}.get(sort)
        if col is None:
            raise ValueError(f"unknown sort {sort!r}")
        sql = f"SELECT {MSG_COLS} FROM msg {where} ORDER BY {col} {'ASC' if asc else 'DESC'}, id"
        if f.max > 0:
            sql += f" LIMIT {int(f.max)}"
        return [row_to_msg(r) for r in self.query(sql, params)]

    def count(self) -> int:
        return int(self.query("SELECT count(*) FROM msg")[0][0])

    def due(self, now: float, busy_domains: Sequence[str], limit: int) -> list[tuple[int, int, str]]:
        """Up to ``limit`` (id, base_id, domain) of due, not held messages, one per domain,
        skipping busy domains; earliest first."""
        if limit <= 0:
            return []
        out: list[tuple[int, int, str]] = []
        with self._readers.conn() as db:
            with self._due_lock:
                domains = self.due_index.due(now, set(busy_domains), limit)
            for domain in domains:
                rows = db.execute(
                    "SELECT id, base_id FROM msg WHERE rcpt_domain = ? AND hold = 0 AND next_attempt <= ? "
                    "ORDER BY next_attempt LIMIT 1",
                    (domain, now),
                ).fetchall()
                if rows:
                    out.append((int(str(rows[0][0])), int(str(rows[0][1])), domain))
                else:
                    # The index is stale for this domain; its refresh queries under the lock.
                    self._refresh_due(db, [domain])
        return out

    def next_due(self) -> float | None:
        with self._due_lock:
            return self.due_index.earliest()

    def group(self, base_id: int, domain: str, now: float) -> list[Msg]:
        """Due, not held messages of one submission to one domain (one SMTP transaction)."""
        rows = self.query(
            f"SELECT {MSG_COLS} FROM msg WHERE base_id = ? AND rcpt_domain = ? AND hold = 0 "
            "AND next_attempt <= ? ORDER BY id",
            (base_id, domain, now),
        )
        return [row_to_msg(r) for r in rows]

    def next_base_for_domain(self, domain: str, now: float) -> int | None:
        """The submission of the next due, not held message to ``domain`` (connection reuse)."""
        rows = self.query(
            "SELECT base_id FROM msg WHERE rcpt_domain = ? AND hold = 0 AND next_attempt <= ? "
            "ORDER BY next_attempt LIMIT 1",
            (domain, now),
        )
        return int(str(rows[0][0])) if rows else None

    def save(self, msgs: Sequence[Msg]) -> None:
        """Write back the mutable state of messages (attempts, results, schedule, flags)."""

        def op(db: apsw.Connection, tx: Tx) -> None:
            for m in msgs:
                db.execute(
                    "UPDATE msg SET hold=?, attempts=?, next_attempt=?, last_attempt=?, results=?, "
                    "dialed_ips=?, transport=?, requiretls=? WHERE id=?",
                    (
                        int(m.hold),
                        m.attempts,
                        m.next_attempt,
                        m.last_attempt,
                        json.dumps([x.to_json() for x in m.results]),
                        json.dumps(m.dialed_ips),
                        m.transport,
                        None if m.requiretls is None else int(m.requiretls),
                        m.id,
                    ),
                )
            self._refresh_after(tx, (m.rcpt_domain for m in msgs))

        self._write(op, durable=False)

    def retire(self, msgs: Sequence[Msg], success: bool, keep: dict[str, float], now: float) -> None:
        """Remove messages from the queue; keep a retired copy where the account's period > 0.
        Their bytes are deleted with the last message referring to them."""

        def op(db: apsw.Connection, tx: Tx) -> None:
            self._retire_tx(db, msgs, success, keep, now)
            self._refresh_after(tx, (m.rcpt_domain for m in msgs))

        self._write(op, durable=False)

    def _retire_tx(
        self, db: apsw.Connection, msgs: Sequence[Msg], success: bool, keep: dict[str, float], now: float
    ) -> None:
        contents: set[int] = set()
        for m in msgs:
            period = keep.get(m.sender_account, 0.0)
            if period > 0:
                vals = msg_values(m)
                db.execute(
                    f"INSERT OR REPLACE INTO retired ({MSG_COLS}, success, last_activity, keep_until) "
                    f"VALUES ({', '.join('?' * (len(vals) + 3))})",
                    (*vals, int(success), now, now + period),
                )
            db.execute("DELETE FROM msg WHERE id = ?", (m.id,))
            contents.add(m.content_id)
            if success and m.sender_account:
                db.execute(
                    "DELETE FROM failcount WHERE account = ? AND base_address = ?",
                    (m.sender_account, _base_address(m.recipient)),
                )
        for cid in contents:
            left = db.execute("SELECT 1 FROM msg WHERE content_id = ? LIMIT 1", (cid,)).fetchall()
            if not left:
                db.execute("DELETE FROM content_chunk WHERE content_id = ?", (cid,))
                db.execute("DELETE FROM content WHERE id = ?", (cid,))

    def update_matching(self, f: Filter, sets: dict[str, Any]) -> int:
        """Set columns (hold, next_attempt, transport, requiretls) on matching messages."""
        allowed = {"hold", "next_attempt", "transport", "requiretls"}
        if not sets or not set(sets) <= allowed:
            raise ValueError(f"bad update {sorted(sets)}")
        where, params = filter_sql(f, time.time())
        assign = ", ".join(f"{k} = ?" for k in sets)

        def op(db: apsw.Connection, tx: Tx) -> int:
            db.execute(f"UPDATE msg SET {assign} {where}", (*sets.values(), *params))
            n = int(db.changes())
            if n and ("hold" in sets or "next_attempt" in sets):
                self._rebuild_after(tx)
            return n

        return self._write(op)

    def remove_matching(self, f: Filter) -> list[Msg]:
        """Delete matching messages without a retired copy; returns them."""
        msgs = self.list_msgs(f)
        if msgs:
            self.retire(msgs, False, {}, time.time())
        return msgs

    # --- retired ---

    def retired_list(self, f: Filter, asc: bool = False) -> list[Retired]:
        where, params = filter_sql(f, time.time())
        sql = (
            f"SELECT {MSG_COLS}, success, last_activity, keep_until FROM retired {where} "
            f"ORDER BY last_activity {'ASC' if asc else 'DESC'}, id"
        )
        if f.max > 0:
            sql += f" LIMIT {int(f.max)}"
        return [
            Retired(row_to_msg(r), bool(r[-3]), float(r[-2]), float(r[-1])) for r in self.query(sql, params)
        ]

    def retired_cleanup(self, now: float) -> int:
        def op(db: apsw.Connection, tx: Tx) -> int:
            db.execute("DELETE FROM retired WHERE keep_until < ?", (now,))
            return int(db.changes())

        return self._write(op)
