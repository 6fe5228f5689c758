"""Hold rules, suppression lists and consecutive-failure counts of the queue database
(mox's queue hold rules and per-account suppression lists, spec section 3), as a part of
``QueueDB``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import apsw

from app.queue.model import HoldRule, Suppression
from app.queue.writer import Tx

T = TypeVar("T")


class _DB(Protocol):
    """What the rule methods use of QueueDB."""

    def _write(self, fn: Callable[[apsw.Connection, Tx], T], durable: bool = True) -> T: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def _rebuild_after(self, tx: Tx) -> None: ...


class RulesMixin:
    """Methods of QueueDB that work on its rule tables, through the plumbing of ``_DB``."""

    # --- hold rules ---

    def holdrules(self: _DB) -> list[HoldRule]:
        return [
            HoldRule(*r)
            for r in self.query(
                "SELECT id, account, sender_domain, recipient_domain FROM holdrule ORDER BY id"
            )
        ]

    def holdrule_add(self: _DB, account: str, sender_domain: str, recipient_domain: str) -> HoldRule:
        """Add a rule and put matching queued messages on hold (as mox)."""

        def op(db: apsw.Connection, tx: Tx) -> HoldRule:
            db.execute(
                "INSERT INTO holdrule (account, sender_domain, recipient_domain) VALUES (?, ?, ?)",
                (account, sender_domain, recipient_domain),
            )
            rid = db.last_insert_rowid()
            rule = HoldRule(rid, account, sender_domain, recipient_domain)
            clauses, params = ["1=1"], []
            for col, v in (
                ("sender_account", account),
                ("sender_domain", sender_domain),
                ("rcpt_domain", recipient_domain),
            ):
                if v:
                    clauses.append(f"{col} = ?")
                    params.append(v)
            db.execute(f"UPDATE msg SET hold = 1 WHERE {' AND '.join(clauses)}", params)
            if db.changes():
                self._rebuild_after(tx)
            return rule

        return self._write(op)

    def holdrule_remove(self: _DB, rid: int) -> bool:
        def op(db: apsw.Connection, tx: Tx) -> bool:
            db.execute("DELETE FROM holdrule WHERE id = ?", (rid,))
            return bool(db.changes())

        return self._write(op)

    # --- suppression ---

    def suppressions(self: _DB, account: str = "") -> list[Suppression]:
        sql = "SELECT account, base_address, original_address, manual, reason, created FROM suppression"
        params: list[Any] = []
        if account:
            sql += " WHERE account = ?"
            params.append(account)
        return [
            Suppression(r[0], r[1], r[2], bool(r[3]), r[4], r[5])
            for r in self.query(sql + " ORDER BY account, base_address", params)
        ]

    def suppression_add(self: _DB, s: Suppression) -> bool:
        """Add; False if the address was already suppressed for the account."""

        def op(db: apsw.Connection, tx: Tx) -> bool:
            db.execute(
                "INSERT OR IGNORE INTO suppression VALUES (?, ?, ?, ?, ?, ?)",
                (s.account, s.base_address, s.original_address, int(s.manual), s.reason, s.created),
            )
            return bool(db.changes())

        return self._write(op)

    def suppression_remove(self: _DB, account: str, base: str) -> bool:
        def op(db: apsw.Connection, tx: Tx) -> bool:
            db.execute("DELETE FROM suppression WHERE account = ? AND base_address = ?", (account, base))
            return bool(db.changes())

        return self._write(op)

    def suppressed(self: _DB, account: str, base: str) -> Suppression | None:
        sql = "SELECT account, base_address, original_address, manual, reason, created FROM suppression WHERE base_address = ?"
        params: list[Any] = [base]
        if account:
            sql += " AND account = ?"
            params.append(account)
        rows = self.query(sql, params)
        return (
            Suppression(rows[0][0], rows[0][1], rows[0][2], bool(rows[0][3]), rows[0][4], rows[0][5])
            if rows
            else None
        )

    def failcount_bump(self: _DB, account: str, base: str, reset: bool) -> int:
        """Count consecutive failed deliveries to an address; reset on success."""

        def op(db: apsw.Connection, tx: Tx) -> int:
            if reset:
                db.execute("DELETE FROM failcount WHERE account = ? AND base_address = ?", (account, base))
                return 0
            db.execute(
                "INSERT INTO failcount VALUES (?, ?, 1) ON CONFLICT (account, base_address) "
                "DO UPDATE SET count = count + 1",
                (account, base),
            )
            rows = db.execute(
                "SELECT count FROM failcount WHERE account = ? AND base_address = ?", (account, base)
            ).fetchall()
            return int(str(rows[0][0]))

        return self._write(op)
