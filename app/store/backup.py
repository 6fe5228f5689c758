"""``moxpy backup`` and ``moxpy verifydata``.

Backup: every SQLite database under the data directory (accounts, queue, auth, reports, ...)
is copied with SQLite's online backup API (https://sqlite.org/backup.html) in one step, which
holds a read transaction on the source: the copy is a consistent snapshot even while the
server writes (WAL readers do not block writers). Other files of the data directory (ACME
keys, ...) are copied as they are, except the control socket, ``tmp/`` and SQLite's
``-wal``/``-shm``/``-journal`` files. The configuration directory (mox.conf, domains.conf and
the files next to them) is copied too.

Layout of DESTDIR (as mox): ``DESTDIR/config/...``, ``DESTDIR/data/...`` and
``DESTDIR/moxversion``; ``verifydata`` accepts
either such a backup directory or a data directory.

Verify: SQLite's ``PRAGMA integrity_check`` on every database, then for each account database
that passes it the store's ``verify()`` invariants.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import apsw

from app.store.errors import StoreError

_SKIP_SUFFIXES = ("-wal", "-shm", "-journal")
_SKIP_TOP = {"tmp", "ctl"}


class BackupError(Exception):
    pass


@dataclass
class BackupResult:
    databases: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _inside(p: Path, d: Path) -> bool:
    p, d = p.resolve(), d.resolve()
    return p == d or d in p.parents


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def backup_database(src: Path, dst: Path) -> None:
    """Consistent copy of one SQLite database with the online backup API."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    source = apsw.Connection(str(src), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        source.setbusytimeout(10_000)
        dest = apsw.Connection(str(dst))
        try:
            with dest.backup("main", source, "main") as b:
                while not b.done:
                    b.step(-1)  # all pages in one step: one read snapshot of the source
            # The copy is a standalone file: rollback journal instead of WAL until opened.
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
    finally:
        source.close()


def backup(
    config_dir: Path,
    data_dir: Path,
    dest: Path,
    log: Callable[[str], object] = lambda s: None,
    verbose: bool = False,
) -> BackupResult:
    """Back up ``config_dir`` and ``data_dir`` into ``dest`` (must not exist or be empty).
    ``log`` gets a summary, and a line per database and file when ``verbose``."""
    from app import __version__

    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    dest.mkdir(parents=True, exist_ok=True)
    res = BackupResult()
    cfg_files = config_dir.glob("*") if _inside(data_dir, config_dir) else config_dir.rglob("*")
    for p in sorted(cfg_files):
        if _inside(p, data_dir) and not _inside(data_dir, config_dir):
            continue  # a data directory below the config directory is copied below
        if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES) and not _is_sqlite(p):
            target = dest / "config" / p.relative_to(config_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, target)
            res.files.append(f"config/{p.relative_to(config_dir)}")
    for p in sorted(data_dir.rglob("*")):
        rel = p.relative_to(data_dir)
        if rel.parts[0] in _SKIP_TOP or p.name.endswith(_SKIP_SUFFIXES):
            continue
        try:
            st = p.lstat()
        except FileNotFoundError:
            continue  # removed while we walk
        if not stat.S_ISREG(st.st_mode):
            continue
        target = dest / "data" / rel
        if _is_sqlite(p):
            if verbose:
                log(f"backing up database {rel}\n")
            try:
                backup_database(p, target)
            except apsw.Error as exc:
                raise BackupError(f"{p}: {exc}") from None
            res.databases.append(str(rel))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, target)
            res.files.append(f"data/{rel}")
            if verbose:
                log(f"copied file {rel}\n")
    (dest / "moxversion").write_text(f"moxpy {__version__}\n")
    fsync_tree(dest)
    log(f"backup done: {len(res.databases)} databases, {len(res.files)} other files\n")
    return res


def data_dir_of(path: Path) -> Path:
    """The data directory in a backup directory, or the path itself."""
    return path / "data" if (path / "data").is_dir() and not (path / "accounts").is_dir() else path


def verify_data(path: Path, log: Callable[[str], object] = lambda s: None, fix: bool = False) -> list[str]:
    """Check every database under a data (or backup) directory; returns the problems found.
    With ``fix``, an account whose invariants fail gets its counts recalculated and its
    UIDNEXT/UIDVALIDITY repaired, and is checked again; what remains is returned."""
    from app.store.account import Account

    data = data_dir_of(path)
    if not data.is_dir():
        return [f"{path}: not a directory"]
    problems: list[str] = []
    for p in sorted(data.rglob("*.db")):
        rel = p.relative_to(data)
        if rel.parts[0] == "accounts" and len(rel.parts) == 2:
            log(f"verifying account {p.stem}\n")
            damaged = _integrity(p, str(rel))
            if damaged:
                problems += damaged
                continue
            try:
                acc = Account(p.stem, p)
            except (StoreError, apsw.Error) as exc:
                problems.append(f"{rel}: cannot open: {exc}")
                continue
            try:
                found = acc.verify()
                if found and fix:
                    log(f"fixing account {p.stem}: {len(found)} problems\n")
                    acc.recalculate_counts()
                    acc.fix_uid_meta()
                    found = acc.verify()
                problems += [f"{rel}: {msg}" for msg in found]
            finally:
                acc.close()
            continue
        log(f"checking database {rel}\n")
        problems += _integrity(p, str(rel))
    return problems


def _integrity(p: Path, name: str) -> list[str]:
    try:
        conn = apsw.Connection(str(p), flags=apsw.SQLITE_OPEN_READONLY)
    except apsw.Error as exc:
        return [f"{name}: cannot open: {exc}"]
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    except apsw.Error as exc:
        return [f"{name}: {exc}"]
    finally:
        conn.close()
    return [] if rows == ["ok"] else [f"{name}: {r}" for r in rows]


def fsync_tree(path: Path) -> None:
    """Flush the files of a finished backup to disk."""
    for p in path.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
