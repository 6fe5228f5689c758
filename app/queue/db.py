"""The queue database ``data/queue.db`` (apsw SQLite, WAL, synchronous=FULL): queued messages
(one row per recipient), their bytes in 128 KB chunks shared by all recipients of a submission,
retired messages, hold rules and suppression lists.

Every method is synchronous and thread-safe (one connection behind a lock); asyncio code calls
them through ``app.runtime.run_blocking``. A returned write has been committed to disk.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw

from app.queue.due import DueIndex
from app.queue.model import (
    Filter,
    HoldRule,
    Msg,
    Result,
    Retired,
    Suppression,
    base_address,
    parse_duration,
)

CHUNK = 128 * 1024
SCHEMA_VERSION = 1

_MSG_COLS = (
    "id, base_id, queued, hold, sender_account, sender_localpart, sender_domain, rcpt_localpart, "
    "rcpt_domain, attempts, max_attempts, next_attempt, last_attempt, results, dialed_ips, has_8bit, "
    "smtputf8, is_dmarc_report, is_tls_report, size, message_id, subject, from_id, transport, "
    "requiretls, future_release, notify, orcpt, dsn_ret, dsn_envid, extra, content_id"
)

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
    {_MSG_COLS.replace("id, base_id", "id INTEGER PRIMARY KEY, base_id")},
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


class QueueDBError(Exception):
    """The queue database cannot be used (newer schema, corrupt file)."""


def _row_to_msg(r: Sequence[Any]) -> Msg:
    notify = r[26]
    return Msg(
        id=r[0],
        base_id=r[1],
        queued=r[2],
        hold=bool(r[3]),
        sender_account=r[4],
        sender_localpart=r[5],
        sender_domain=r[6],
        rcpt_localpart=r[7],
        rcpt_domain=r[8],
        attempts=r[9],
        max_attempts=r[10],
        next_attempt=r[11],
        last_attempt=r[12],
        results=[Result.from_json(x) for x in json.loads(r[13])],
        dialed_ips=json.loads(r[14]),
        has_8bit=bool(r[15]),
        smtputf8=bool(r[16]),
        is_dmarc_report=bool(r[17]),
        is_tls_report=bool(r[18]),
        size=r[19],
        message_id=r[20],
        subject=r[21],
        from_id=r[22],
        transport=r[23],
        requiretls=None if r[24] is None else bool(r[24]),
        future_release=r[25],
        notify=None if notify is None else tuple(x for x in notify.split(",") if x),
        orcpt=r[27],
        dsn_ret=r[28],
        dsn_envid=r[29],
        extra=json.loads(r[30]),
        content_id=r[31],
    )


def _msg_values(m: Msg) -> tuple[Any, ...]:
    return (
        m.id,
        m.base_id,
        m.queued,
        int(m.hold),
        m.sender_account,
        m.sender_localpart,
        m.sender_domain,
        m.rcpt_localpart,
        m.rcpt_domain,
        m.attempts,
        m.max_attempts,
        m.next_attempt,
        m.last_attempt,
        json.dumps([x.to_json() for x in m.results]),
        json.dumps(m.dialed_ips),
        int(m.has_8bit),
        int(m.smtputf8),
        int(m.is_dmarc_report),
        int(m.is_tls_report),
        m.size,
        m.message_id,
        m.subject,
        m.from_id,
        m.transport,
        None if m.requiretls is None else int(m.requiretls),
        m.future_release,
        None if m.notify is None else ",".join(m.notify),
        m.orcpt,
        m.dsn_ret,
        m.dsn_envid,
        json.dumps(m.extra),
        m.content_id,
    )


def _addr_clause(prefix: str, value: str, out: list[str], params: list[Any]) -> None:
    if value.startswith("@"):
        out.append(f"{prefix}_domain = ?")
        params.append(value[1:].lower())
    else:
        local, _, domain = value.rpartition("@")
        out.append(f"{prefix}_localpart = ? AND {prefix}_domain = ?")
        params.extend([local, domain.lower()])


def _time_clause(col: str, spec: str, now: float, out: list[str], params: list[Any]) -> None:
    op = spec[:1]
    if op not in "<>" or len(spec) < 2:
        raise ValueError(f"time filter must start with < or >: {spec!r}")
    out.append(f"{col} {op} ?")
    params.append(now + parse_duration(spec[1:]))


def filter_sql(f: Filter, now: float, sender_cols: str = "sender", queued_col: str = "queued") -> tuple[str, list[Any]]:
    """A WHERE clause (with leading ``WHERE`` or empty) and its parameters for a filter."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.ids:
        clauses.append(f"id IN ({','.join('?' * len(f.ids))})")
        params.extend(f.ids)
    if f.account:
        clauses.append("sender_account = ?")
        params.append(f.account)
    if f.from_:
        _addr_clause(sender_cols, f.from_, clauses, params)
    if f.to:
        _addr_clause("rcpt", f.to, clauses, params)
    if f.hold is not None:
        clauses.append("hold = ?")
        params.append(int(f.hold))
    if f.submitted:
        _time_clause(queued_col, f.submitted, now, clauses, params)
    if f.next_attempt:
        _time_clause("next_attempt", f.next_attempt, now, clauses, params)
    if f.transport is not None:
        clauses.append("transport = ?")
        params.append(f.transport)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


class QueueDB:
    """The queue database. Open once per server; ``close()`` at shutdown."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._durable = True
        try:
            self._db = apsw.Connection(str(path))
            self._db.set_busy_timeout(10_000)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = int(str(self._db.execute("PRAGMA user_version").fetchall()[0][0]))
            if version > SCHEMA_VERSION:
                raise QueueDBError(f"{path}: database schema {version} is newer than this program ({SCHEMA_VERSION})")
            with self._db:
                self._db.execute(_SCHEMA)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except apsw.Error as e:
            raise QueueDBError(f"{path}: {e}") from e
        self.due_index = DueIndex()
        self._rebuild_due()

    def _rebuild_due(self) -> None:
        with self._lock:
            rows = self._db.execute(
                "SELECT rcpt_domain, min(next_attempt) FROM msg WHERE hold = 0 GROUP BY rcpt_domain"
            ).fetchall()
            self.due_index.rebuild((str(d), float(str(t))) for d, t in rows)

    def _domain_due(self, domain: str) -> float | None:
        rows = self._db.execute(
            "SELECT min(next_attempt) FROM msg WHERE rcpt_domain = ? AND hold = 0", (domain,)
        ).fetchall()
        v = rows[0][0] if rows else None
        return None if v is None else float(str(v))

    def _refresh_due(self, domains: Iterable[str]) -> None:
        self.due_index.refresh(domains, self._domain_due)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self, durable: bool = True) -> Iterator[apsw.Connection]:
        """A write transaction (BEGIN IMMEDIATE), committed on exit.

        ``durable``: fsync at commit (synchronous=FULL), for what we acknowledge to others
        (queued messages, suppressions). Delivery bookkeeping uses synchronous=NORMAL: in WAL
        mode that survives a process crash (SIGKILL) and at worst repeats a delivery attempt
        after a power loss, for one fsync less per delivery.
        """
        with self._lock:
            if durable != self._durable:
                self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(r) for r in self._db.execute(sql, params)]

    # --- messages ---

    def insert(self, msgs: list[Msg], data: bytes) -> list[int]:
        """Store the bytes once and one row per message; ids and base_id are assigned here."""
        with self.tx() as db:
            db.execute("INSERT INTO content (size) VALUES (?)", (len(data),))
            cid = db.last_insert_rowid()
            for seq, off in enumerate(range(0, max(len(data), 1), CHUNK)):
                db.execute(
                    "INSERT INTO content_chunk (content_id, seq, data) VALUES (?, ?, ?)",
                    (cid, seq, data[off : off + CHUNK]),
                )
            ids: list[int] = []
            base_id = 0
            for m in msgs:
                m.content_id = cid
                m.size = len(data)
                vals = _msg_values(m)
                db.execute(
                    f"INSERT INTO msg ({_MSG_COLS}) VALUES (NULL{', ?' * (len(vals) - 1)})", vals[1:]
                )
                mid = db.last_insert_rowid()
                if not base_id:
                    base_id = mid
                m.id, m.base_id = mid, base_id
                db.execute("UPDATE msg SET base_id = ? WHERE id = ?", (base_id, mid))
                ids.append(mid)
            self._refresh_due(m.rcpt_domain for m in msgs)
            return ids

    def content(self, content_id: int) -> bytes:
        rows = self.query("SELECT data FROM content_chunk WHERE content_id = ? ORDER BY seq", (content_id,))
        return b"".join(bytes(r[0]) for r in rows)

    def get(self, mid: int) -> Msg | None:
        rows = self.query(f"SELECT {_MSG_COLS} FROM msg WHERE id = ?", (mid,))
        return _row_to_msg(rows[0]) if rows else None

    def list_msgs(self, f: Filter, sort: str = "nextattempt", asc: bool = True, now: float | None = None) -> list[Msg]:
        where, params = filter_sql(f, now if now is not None else time.time())
        col = {"nextattempt": "next_attempt", "queued": "queued"}.get(sort)
        if col is None:
            raise ValueError(f"unknown sort {sort!r}")
        sql = f"SELECT {_MSG_COLS} FROM msg {where} ORDER BY {col} {'ASC' if asc else 'DESC'}, id"
        if f.max > 0:
            sql += f" LIMIT {int(f.max)}"
        return [_row_to_msg(r) for r in self.query(sql, params)]

    def count(self) -> int:
        return int(self.query("SELECT count(*) FROM msg")[0][0])

    def due(self, now: float, busy_domains: Sequence[str], limit: int) -> list[tuple[int, int, str]]:
        """Up to ``limit`` (id, base_id, domain) of due, not held messages, one per domain,
        skipping busy domains; earliest first."""
        if limit <= 0:
            return []
        out: list[tuple[int, int, str]] = []
        with self._lock:
            for domain in self.due_index.due(now, set(busy_domains), limit):
                rows = self._db.execute(
                    "SELECT id, base_id FROM msg WHERE rcpt_domain = ? AND hold = 0 AND next_attempt <= ? "
                    "ORDER BY next_attempt LIMIT 1",
                    (domain, now),
                ).fetchall()
                if rows:
                    out.append((int(str(rows[0][0])), int(str(rows[0][1])), domain))
                else:
                    self._refresh_due([domain])
        return out

    def next_due(self) -> float | None:
        with self._lock:
            return self.due_index.earliest()

    def group(self, base_id: int, domain: str, now: float) -> list[Msg]:
        """Due, not held messages of one submission to one domain (one SMTP transaction)."""
        rows = self.query(
            f"SELECT {_MSG_COLS} FROM msg WHERE base_id = ? AND rcpt_domain = ? AND hold = 0 "
            "AND next_attempt <= ? ORDER BY id",
            (base_id, domain, now),
        )
        return [_row_to_msg(r) for r in rows]

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
        with self.tx(durable=False) as db:
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
            self._refresh_due(m.rcpt_domain for m in msgs)

    def retire(self, msgs: Sequence[Msg], success: bool, keep: dict[str, float], now: float) -> None:
        """Remove messages from the queue; keep a retired copy where the account's period > 0.
        Their bytes are deleted with the last message referring to them."""
        with self.tx(durable=False) as db:
            self._retire_tx(db, msgs, success, keep, now)
            self._refresh_due(m.rcpt_domain for m in msgs)

    def _retire_tx(
        self, db: apsw.Connection, msgs: Sequence[Msg], success: bool, keep: dict[str, float], now: float
    ) -> None:
        contents: set[int] = set()
        for m in msgs:
            period = keep.get(m.sender_account, 0.0)
            if period > 0:
                vals = _msg_values(m)
                db.execute(
                    f"INSERT OR REPLACE INTO retired ({_MSG_COLS}, success, last_activity, keep_until) "
                    f"VALUES ({', '.join('?' * (len(vals) + 3))})",
                    (*vals, int(success), now, now + period),
                )
            db.execute("DELETE FROM msg WHERE id = ?", (m.id,))
            contents.add(m.content_id)
            if success and m.sender_account:
                db.execute(
                    "DELETE FROM failcount WHERE account = ? AND base_address = ?",
                    (m.sender_account, base_address(m.recipient)),
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
        with self.tx() as db:
            db.execute(f"UPDATE msg SET {assign} {where}", (*sets.values(), *params))
            n = int(db.changes())
            if n and ("hold" in sets or "next_attempt" in sets):
                self._rebuild_due()
            return n

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
            f"SELECT {_MSG_COLS}, success, last_activity, keep_until FROM retired {where} "
            f"ORDER BY last_activity {'ASC' if asc else 'DESC'}, id"
        )
        if f.max > 0:
            sql += f" LIMIT {int(f.max)}"
        return [
            Retired(_row_to_msg(r), bool(r[-3]), float(r[-2]), float(r[-1])) for r in self.query(sql, params)
        ]

    def retired_cleanup(self, now: float) -> int:
        with self.tx() as db:
            db.execute("DELETE FROM retired WHERE keep_until < ?", (now,))
            return int(db.changes())

    # --- hold rules ---

    def holdrules(self) -> list[HoldRule]:
        return [HoldRule(*r) for r in self.query("SELECT id, account, sender_domain, recipient_domain FROM holdrule ORDER BY id")]

    def holdrule_add(self, account: str, sender_domain: str, recipient_domain: str) -> HoldRule:
        """Add a rule and put matching queued messages on hold (as mox)."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO holdrule (account, sender_domain, recipient_domain) VALUES (?, ?, ?)",
                (account, sender_domain, recipient_domain),
            )
            rid = db.last_insert_rowid()
            rule = HoldRule(rid, account, sender_domain, recipient_domain)
            clauses, params = ["1=1"], []
            for col, v in (("sender_account", account), ("sender_domain", sender_domain), ("rcpt_domain", recipient_domain)):
                if v:
                    clauses.append(f"{col} = ?")
                    params.append(v)
            db.execute(f"UPDATE msg SET hold = 1 WHERE {' AND '.join(clauses)}", params)
            if db.changes():
                self._rebuild_due()
            return rule

    def holdrule_remove(self, rid: int) -> bool:
        with self.tx() as db:
            db.execute("DELETE FROM holdrule WHERE id = ?", (rid,))
            return bool(db.changes())

    # --- suppression ---

    def suppressions(self, account: str = "") -> list[Suppression]:
        sql = "SELECT account, base_address, original_address, manual, reason, created FROM suppression"
        params: list[Any] = []
        if account:
            sql += " WHERE account = ?"
            params.append(account)
        return [Suppression(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in self.query(sql + " ORDER BY account, base_address", params)]

    def suppression_add(self, s: Suppression) -> bool:
        """Add; False if the address was already suppressed for the account."""
        with self.tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO suppression VALUES (?, ?, ?, ?, ?, ?)",
                (s.account, s.base_address, s.original_address, int(s.manual), s.reason, s.created),
            )
            return bool(db.changes())

    def suppression_remove(self, account: str, base: str) -> bool:
        with self.tx() as db:
            db.execute("DELETE FROM suppression WHERE account = ? AND base_address = ?", (account, base))
            return bool(db.changes())

    def suppressed(self, account: str, base: str) -> Suppression | None:
        sql = "SELECT account, base_address, original_address, manual, reason, created FROM suppression WHERE base_address = ?"
        params: list[Any] = [base]
        if account:
            sql += " AND account = ?"
            params.append(account)
        rows = self.query(sql, params)
        return Suppression(rows[0][0], rows[0][1], rows[0][2], bool(rows[0][3]), rows[0][4], rows[0][5]) if rows else None

    def failcount_bump(self, account: str, base: str, reset: bool) -> int:
        """Count consecutive failed deliveries to an address; reset on success."""
        with self.tx() as db:
            if reset:
                db.execute("DELETE FROM failcount WHERE account = ? AND base_address = ?", (account, base))
                return 0
            db.execute(
                "INSERT INTO failcount VALUES (?, ?, 1) ON CONFLICT (account, base_address) "
                "DO UPDATE SET count = count + 1",
                (account, base),
            )
            rows = db.execute("SELECT count FROM failcount WHERE account = ? AND base_address = ?", (account, base)).fetchall()
            return int(str(rows[0][0]))
