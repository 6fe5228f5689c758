"""The set of account stores under one data directory: ``<data_dir>/accounts/<name>.db``.

Accounts open lazily and stay open until ``close``. A missing, corrupt or too-new database makes
``account()`` raise ``AccountUnavailable`` naming the file; other accounts are unaffected.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from app import mlog
from app.store.account import Account
from app.store.errors import AccountExists, AccountUnavailable, StoreClosed
from app.store.model import InitialMailboxes

log = mlog.get("store")


def valid_account_name(name: str) -> bool:
    """Account names become file names: no separators, no leading dot, no control characters."""
    return (
        bool(name)
        and len(name) <= 255
        and not name.startswith(".")
        and not any(c in name for c in "/\\\0:")
        and all(ord(c) >= 0x20 for c in name)
    )


class Store:
    """All account databases of a data directory."""

    def __init__(
        self,
        data_dir: Path | str,
        initial_mailboxes: InitialMailboxes | None = None,
        quota: int | Callable[[str], int] = 0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.accounts_dir = self.data_dir / "accounts"
        self.initial_mailboxes = initial_mailboxes or InitialMailboxes()
        self._quota = quota
        self._lock = threading.Lock()
        self._open: dict[str, Account] = {}
        self._closed = False

    def db_path(self, name: str) -> Path:
        if not valid_account_name(name):
            raise AccountUnavailable(name, str(self.accounts_dir / "?"), "invalid account name")
        return self.accounts_dir / f"{name}.db"

    def quota_for(self, name: str) -> int:
        q = self._quota
        return q(name) if callable(q) else q

    def account(self, name: str, create: bool = False) -> Account:
        """The open account (opening it on first use; ``create`` makes a missing database)."""
        with self._lock:
            if self._closed:
                raise StoreClosed("store is closed")
            acc = self._open.get(name)
            if acc is not None:
                return acc
            path = self.db_path(name)
            if create:
                self.accounts_dir.mkdir(parents=True, exist_ok=True)
            try:
                acc = Account(name, path, create, self.initial_mailboxes, lambda: self.quota_for(name))
            except AccountUnavailable as e:
                log.error("account unavailable", account=name, err=e)
                raise
            self._open[name] = acc
            return acc

    def create_account(self, name: str) -> Account:
        """Create a new account database; refuses when the database file already exists."""
        path = self.db_path(name)
        if path.exists():
            raise AccountExists(f"account database {path} already exists")
        return self.account(name, create=True)

    def remove_account(self, name: str) -> None:
        """Close the account and delete its database files."""
        path = self.db_path(name)
        with self._lock:
            acc = self._open.pop(name, None)
        if acc is not None:
            acc.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(str(path) + suffix)
            except FileNotFoundError:
                pass

    def account_names(self) -> list[str]:
        """Names of the account databases on disk."""
        if not self.accounts_dir.is_dir():
            return []
        return sorted(p.name[:-3] for p in self.accounts_dir.iterdir() if p.name.endswith(".db"))

    def opened(self) -> list[Account]:
        """The accounts open right now."""
        with self._lock:
            return list(self._open.values())

    def close(self) -> None:
        """Finish pending writes and close every account."""
        with self._lock:
            self._closed = True
            accs = list(self._open.values())
            self._open.clear()
        for a in accs:
            a.close()
