"""Account administration shared by the CLI (directly on a stopped server's data directory)
and the control-socket handlers (in the running server): accounts, addresses, domains,
aliases, passwords, the admin password and the mailbox maintenance commands.

domains.conf is changed through ``app.config.edit`` and ``Config.update_dynamic`` (validated,
written atomically). Account databases are created and removed with the config change:

- adding an account whose database already exists is refused (old data would reappear);
- removing an account first records the intent in auth.db, then removes it from the
  configuration, its auth.db records and its database, then clears the intent. An interrupted
  removal is completed by ``complete_pending_removals`` at the next start.

Admin password: mox writes a bcrypt hash to ``AdminPasswordFile``. bcrypt is not in the
standard library, so moxpy writes scrypt (RFC 7914) as ``$scrypt$n=32768,r=8,p=1$<salt
hex>$<key hex>`` (the format localserve writes); ``verify_admin_password`` also accepts a mox
bcrypt hash when the ``bcrypt`` package is importable.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.config import edit
from app.config.config import Config, write_atomic
from app.config.domains import Dynamic
from app.config.errors import ConfigError
from app.store import credentials
from app.store.authdb import AuthDB
from app.store.errors import AccountExists, StoreError
from app.store.store import Store


class AdminError(Exception):
    """An administrative action failed; the message is for the administrator."""


@dataclass
class Admin:
    """The objects administrative actions work on (the server's own, or opened by the CLI)."""

    config: Config
    store: Store
    authdb: AuthDB

    # --- accounts ---

    def _edit(self, fn: Callable[[Dynamic], Dynamic]) -> None:
        try:
            self.config.update_dynamic(fn)
        except ConfigError as exc:
            raise AdminError(str(exc)) from None

    def add_account(self, name: str, address: str, password: str | None = None) -> None:
        """Add an account with its first address, create its database, optionally set a password."""
        if self.config.account(name) is not None:
            raise AdminError(f"account {name!r} already exists")
        try:
            path = self.store.db_path(name)
        except StoreError as exc:
            raise AdminError(str(exc)) from None
        if path.exists():
            raise AdminError(f"account database {path} already exists; remove it or choose another name")
        # Validate the config change before creating the database.
        try:
            edit.add_account(self.config.dynamic, name, address)
        except ConfigError as exc:
            raise AdminError(str(exc)) from None
        if password is not None:
            credentials.normalize_password(password)  # refuse before anything is created
        try:
            acc = self.store.create_account(name)
        except (AccountExists, StoreError) as exc:
            raise AdminError(str(exc)) from None
        try:
            self._edit(lambda d: edit.add_account(d, name, address))
        except BaseException:
            self.store.remove_account(name)
            raise
        if password is not None:
            credentials.set_password(acc, password)

    def remove_account(self, name: str) -> None:
        if self.config.account(name) is None and name not in self.authdb.removal_intents():
            raise AdminError(f"account {name!r} does not exist")
        if self.config.account(name) is not None:
            try:
                edit.remove_account(self.config.dynamic, name)
            except ConfigError as exc:
                raise AdminError(str(exc)) from None
        self.authdb.removal_intent_add(name)
        self._finish_removal(name)

    def _finish_removal(self, name: str) -> None:
        if self.config.account(name) is not None:
            self._edit(lambda d: edit.remove_account(d, name))
        self.authdb.remove_account(name)
        self.store.remove_account(name)
        self.authdb.removal_intent_done(name)

    def complete_pending_removals(self) -> list[str]:
        """Finish account removals interrupted earlier; call at startup. Returns their names."""
        done = []
        for name in self.authdb.removal_intents():
            self._finish_removal(name)
            done.append(name)
        return done

    def disable_account(self, name: str, message: str) -> None:
        self._edit(lambda d: edit.disable_account_login(d, name, message))

    def enable_account(self, name: str) -> None:
        self._edit(lambda d: edit.enable_account_login(d, name))

    def set_password(self, name: str, password: str) -> None:
        """Set an account's password and log out its web sessions."""
        if self.config.account(name) is None:
            raise AdminError(f"account {name!r} does not exist")
        try:
            acc = self.store.account(name, create=True)
        except StoreError as exc:
            raise AdminError(str(exc)) from None
        try:
            credentials.set_password(acc, password)
        except credentials.PasswordError as exc:
            raise AdminError(str(exc)) from None
        self.authdb.sessions_remove_account(name)

    # --- addresses, domains, aliases ---

    def add_address(self, address: str, account: str) -> None:
        self._edit(lambda d: edit.add_address(d, address, account))

    def remove_address(self, address: str) -> None:
        self._edit(lambda d: edit.remove_address(d, address))

    def add_domain(self, domain: str, account: str, localpart: str = "", disabled: bool = False) -> None:
        """Add a domain (and an address localpart@domain for the account when given)."""

        def fn(d: Dynamic) -> Dynamic:
            d = edit.add_domain(d, domain, account, localpart)
            return edit.disable_domain(d, domain) if disabled else d

        self._edit(fn)

    def remove_domain(self, domain: str) -> None:
        self._edit(lambda d: edit.remove_domain(d, domain))

    def disable_domain(self, domain: str) -> None:
        self._edit(lambda d: edit.disable_domain(d, domain))

    def enable_domain(self, domain: str) -> None:
        self._edit(lambda d: edit.enable_domain(d, domain))

    def alias_add(self, address: str, members: list[str]) -> None:
        self._edit(lambda d: edit.alias_add(d, address, members))

    def alias_update(
        self, address: str, post_public: bool | None, list_members: bool | None, allow_msg_from: bool | None
    ) -> None:
        self._edit(
            lambda d: edit.alias_update(
                d, address, post_public=post_public, list_members=list_members, allow_msg_from=allow_msg_from
            )
        )

    def alias_remove(self, address: str) -> None:
        self._edit(lambda d: edit.alias_remove(d, address))

    def alias_add_members(self, address: str, members: list[str]) -> None:
        self._edit(lambda d: edit.alias_add_addresses(d, address, members))

    def alias_remove_members(self, address: str, members: list[str]) -> None:
        self._edit(lambda d: edit.alias_remove_addresses(d, address, members))

    # --- mailbox maintenance (store-core's functions) ---

    def maintenance(self, action: str, account: str | None, mailbox: str | None = None) -> str:
        """Run recalculatemailboxcounts, bumpuidvalidity, reassignuids, fixuidmeta or
        reassignthreads on one account (all accounts for reassignthreads without one)."""
        names = [account] if account else list(self.config.dynamic.Accounts)
        out = []
        for name in names:
            if self.config.account(name) is None:
                raise AdminError(f"account {name!r} does not exist")
            try:
                acc = self.store.account(name, create=True)  # databases are made on first use, as mox
                mb: str | None = mailbox or None
                if action == "recalculatemailboxcounts":
                    n = acc.recalculate_counts()
                elif action == "bumpuidvalidity":
                    n = acc.bump_uidvalidity(mb)
                elif action == "reassignuids":
                    n = acc.reassign_uids(int(mb) if mb and mb.isdigit() else mb)
                elif action == "fixuidmeta":
                    n = acc.fix_uid_meta()
                elif action == "reassignthreads":
                    n = acc.reassign_threads()
                else:
                    raise AdminError(f"unknown maintenance action {action!r}")
            except StoreError as exc:
                raise AdminError(f"{name}: {exc}") from None
            out.append(f"{name}: {action}: {n}\n")
        return "".join(out)


# --- admin password ---

SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1


def hash_admin_password(password: str) -> str:
    """``$scrypt$n=N,r=R,p=P$<salt hex>$<key hex>`` (the format localserve writes too)."""
    pw = credentials.normalize_password(password)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pw.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=128 << 20, dklen=32
    )
    return f"$scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_admin_password(stored: str, password: str) -> bool:
    """Verify against an scrypt hash (above), or a bcrypt hash (mox) when bcrypt is available."""
    stored = stored.strip()
    if stored.startswith("$scrypt$"):
        try:
            _, _, params, salt, digest = stored.split("$")
            p = dict(kv.split("=", 1) for kv in params.split(","))
            n, r, par = int(p["n"]), int(p["r"]), int(p["p"])
            if n > 1 << 20 or r > 32 or par > 16:
                return False
            want = bytes.fromhex(digest)
            try:
                pw = credentials.normalize_password(password)
            except ValueError:
                pw = password
            got = hashlib.scrypt(
                pw.encode(), salt=bytes.fromhex(salt), n=n, r=r, p=par, maxmem=512 << 20, dklen=len(want)
            )
        except (ValueError, KeyError):
            return False
        return hmac.compare_digest(got, want)
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        try:
            bcrypt = importlib.import_module("bcrypt")
        except ImportError:
            return False
        return bool(bcrypt.checkpw(password.encode(), stored.encode()))
    return False


def admin_password_path(config: Config) -> Path:
    name = config.static.AdminPasswordFile or "adminpasswd"
    return config.resolve_path(name)


def set_admin_password(config: Config, password: str) -> Path:
    """Write the admin password hash (mode 0600); returns the file written."""
    path = admin_password_path(config)
    write_atomic(path, hash_admin_password(password) + "\n")
    os.chmod(path, 0o600)
    return path


def verify_admin_password(config: Config, password: str) -> bool:
    """For the admin web interface: check a password against AdminPasswordFile."""
    try:
        stored = admin_password_path(config).read_text()
    except OSError:
        return False
    return check_admin_password(stored, password)
