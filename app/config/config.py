"""The loaded configuration of a running moxpy: mox.conf (static) and the current domains.conf
snapshot (dynamic), with reload on change and atomic write-back.

Readers take ``config.dynamic`` (or call the lookups) without locking: each snapshot is built
completely and then swapped in with a single attribute assignment. Reloads and updates are
serialized by a lock. A domains.conf that fails to parse or validate is refused: the error is
logged with file:line and the previous snapshot stays in force.
"""

from __future__ import annotations

import copy
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app import mlog
from app.config import schema
from app.config.accounts import Account
from app.config.domains import Domain, Dynamic
from app.config.errors import ConfigError, Problems
from app.config.lookup import AddressMatch, AliasMatch, Index, lookup_address, lookup_alias
from app.config.names import normalize_domain
from app.config.static import Static
from app.config.validate_dynamic import check_dynamic
from app.config.validate_static import check_static, resolve

log = mlog.get("config")

Stat = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Snapshot:
    dynamic: Dynamic
    index: Index
    stat: Stat | None


def _stat(path: Path) -> Stat:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _read(path: Path) -> str:
    try:
        # utf-8-sig: tolerate the byte order mark some Windows editors put at the start.
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not valid UTF-8: {e}", str(path))
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", str(path))


def _parse_static(path: Path) -> tuple[Static, dict[str, int]]:
    static, lines = schema.parse_as(Static, _read(path), str(path))
    pr = Problems(str(path), lines)
    check_static(static, path.parent, pr)
    pr.raise_if_any()
    return static, lines


def parse_static(path: Path) -> Static:
    """Read and check mox.conf on its own (no domains.conf cross-checks)."""
    return _parse_static(path)[0]


def validate_dynamic(
    static: Static,
    dynamic: Dynamic,
    config_dir: Path,
    filename: str,
    lines: dict[str, int] | None = None,
    static_problems: Problems | None = None,
) -> Index:
    """Check a Dynamic against its Static; returns the lookup index or raises ConfigError.

    static_problems (a Problems for mox.conf with its line map) receives the problems that
    belong to mox.conf fields; without it they are reported against domains.conf.
    """
    pr = Problems(filename, lines)
    ix = check_dynamic(static, dynamic, config_dir, pr, static_problems)
    if static_problems is not None:
        pr.errors = static_problems.errors + pr.errors
        static_problems.errors = []
    pr.raise_if_any()
    return ix


def write_atomic(path: Path, text: str) -> None:
    """Replace path with text: temp file in the same directory, fsync, rename, fsync directory."""
    mode = 0o644
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if os.name != "nt":  # directories cannot be opened for fsync on Windows
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class Config:
    """mox.conf plus the live domains.conf; see the module docstring for the concurrency rules."""

    def __init__(
        self,
        static: Static,
        static_path: Path,
        domains_path: Path,
        dynamic: Dynamic,
        index: Index,
        stat: Stat | None,
        static_lines: dict[str, int] | None = None,
    ) -> None:
        self.static = static
        self._static_lines = static_lines or {}
        self.static_path = static_path
        self.domains_path = domains_path
        self.config_dir = static_path.parent
        self.data_dir = Path(os.path.abspath(resolve(self.config_dir, static.DataDir)))
        self._snap = _Snapshot(dynamic, index, stat)
        self._bad_stat: Stat | None = None
        self._lock = threading.Lock()

    @property
    def dynamic(self) -> Dynamic:
        """The current domains.conf. Treat it as read-only; change it with ``update_dynamic``."""
        return self._snap.dynamic

    def resolve_path(self, p: str) -> Path:
        """A file name from the config, relative to the config directory unless absolute."""
        return resolve(self.config_dir, p)

    def _parse_dynamic(self, text: str) -> tuple[Dynamic, Index]:
        dyn, lines = schema.parse_as(Dynamic, text, str(self.domains_path))
        ix = validate_dynamic(
            self.static, dyn, self.config_dir, str(self.domains_path), lines, self._static_problems()
        )
        return dyn, ix

    def _static_problems(self) -> Problems:
        return Problems(str(self.static_path), self._static_lines)

    def reload_if_changed(self) -> bool:
        """Reload domains.conf if its file changed; True when a new snapshot was installed."""
        with self._lock:
            return self._reload_locked()

    def _reload_locked(self) -> bool:
        try:
            st = _stat(self.domains_path)
        except OSError as e:
            log.error(
                "cannot stat domains.conf, keeping current configuration",
                path=str(self.domains_path),
                err=e,
            )
            return False
        if st == self._snap.stat or st == self._bad_stat:
            return False
        try:
            dyn, ix = self._parse_dynamic(_read(self.domains_path))
        except ConfigError as e:
            self._bad_stat = st
            for line in str(e).splitlines():
                log.error("domains.conf change refused, keeping previous configuration", err=line)
            return False
        self._snap = _Snapshot(dyn, ix, st)
        self._bad_stat = None
        log.info("domains.conf reloaded", path=str(self.domains_path))
        return True

    def update_dynamic(self, fn: Callable[[Dynamic], Dynamic]) -> None:
        """Apply fn to a copy of the current Dynamic, validate, write domains.conf atomically, swap.

        A valid edit of the file made by hand since the last reload is picked up first, so it
        is not overwritten. fn may modify and return its argument or return a new Dynamic;
        ConfigError from fn or from validation leaves everything unchanged.
        """
        with self._lock:
            self._reload_locked()
            new = fn(copy.deepcopy(self._snap.dynamic))
            validate_dynamic(
                self.static, new, self.config_dir, str(self.domains_path), None, self._static_problems()
            )
            text = schema.dump(new)
            # What is installed is what a reload of the written file gives.
            dyn, ix = self._parse_dynamic(text)
            write_atomic(self.domains_path, text)
            self._snap = _Snapshot(dyn, ix, _stat(self.domains_path))
            self._bad_stat = None

    # --- lookups (on the current snapshot) ---

    def lookup_address(
        self, localpart: str, domain: str, allow_postmaster: bool = True
    ) -> AddressMatch | None:
        """The account destination that localpart@domain delivers to (see ``lookup.py`` for rules)."""
        return lookup_address(self._snap.index, localpart, domain, allow_postmaster)

    def lookup_alias(self, localpart: str, domain: str) -> AliasMatch | None:
        """The alias at localpart@domain, if any."""
        return lookup_alias(self._snap.index, localpart, domain)

    def account(self, name: str) -> Account | None:
        """The account with this name."""
        return self._snap.dynamic.Accounts.get(name)

    def domain(self, name: str) -> Domain | None:
        """The configured domain with this name (any case, U-label or A-label)."""
        try:
            return self._snap.index.domain_configs.get(normalize_domain(name))
        except ValueError:
            return None

    def account_addresses(self, name: str) -> list[str]:
        """The canonical addresses (including implicit report addresses) of an account."""
        return [k for k, m in self._snap.index.destinations.items() if m.account == name]


def load(mox_conf_path: Path) -> Config:
    """Load and check mox.conf and the domains.conf next to it; raises ConfigError."""
    static_path = Path(mox_conf_path)
    static, static_lines = _parse_static(static_path)
    domains_path = static_path.parent / "domains.conf"
    try:
        st: Stat | None = _stat(domains_path)
    except OSError:
        st = None
    dyn, lines = schema.parse_as(Dynamic, _read(domains_path), str(domains_path))
    spr = Problems(str(static_path), static_lines)
    ix = validate_dynamic(static, dyn, static_path.parent, str(domains_path), lines, spr)
    return Config(static, static_path, domains_path, dyn, ix, st, static_lines)
