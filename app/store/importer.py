"""Import of mbox and maildir mailboxes into an account (``moxpy import``), keeping flags and
keywords (see mailformats.py for where they come from).

Messages are appended in batches (one transaction each, through the account's writer), with
a progress callback after every batch; they are prepared (mbox entries finished, MIME parse,
preview, full-text and threading fields) in worker processes while earlier batches commit
(see import_pipeline.py). An import that fails or is aborted removes what it
added: the messages it appended are expunged and a mailbox it created is deleted again, so
the account is as before apart from UIDNEXT and the expunge tombstones that keep IMAP clients
with CONDSTORE/QRESYNC consistent (RFC 7162).

Sources may be a plain mbox file or maildir directory, or a .zip/.tgz/.tar.gz archive holding
one (archives are unpacked into a temporary directory, with tarfile's "data" filter against
path tricks). ``import_archive`` imports every mbox/maildir of an archive into mailboxes
named after their paths, all or nothing (for the account web interface's upload).
"""

from __future__ import annotations

import contextlib
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app import mlog
from app.store import import_pipeline
from app.store.account import Account
from app.store.errors import ImportAborted, MailboxNotFound, SourceError
from app.store.import_pipeline import Entry, mbox_entries
from app.store.mailformats import read_maildir, split_mbox

log = mlog.get("store.import")

Kind = Literal["mbox", "maildir"]
BATCH_MESSAGES = 1000
BATCH_BYTES = 8 << 20


@dataclass(frozen=True)
class ImportResult:
    mailbox: str
    count: int
    created_mailbox: bool
    mailbox_id: int = 0
    uids: tuple[int, ...] = ()


def _archive_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tgz", ".tar.gz")):
        return "tgz"
    if name.endswith(".tar"):
        return "tar"
    return ""


def _unpack(path: Path, dest: Path) -> None:
    kind = _archive_kind(path)
    if kind == "zip":
        with zipfile.ZipFile(path) as z:
            z.extractall(dest)  # zipfile strips absolute paths and ".." components
    else:
        with tarfile.open(path) as t:
            t.extractall(dest, filter="data")


def _find_mailbox(root: Path, kind: Kind) -> Path:
    if kind == "maildir":
        dirs = sorted({p.parent for p in root.rglob("*") if p.is_dir() and p.name in ("cur", "new")})
        if len(dirs) != 1:
            raise SourceError(f"archive must hold exactly one maildir, found {len(dirs)}")
        return dirs[0]
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) != 1:
        raise SourceError(f"archive must hold exactly one mbox file, found {len(files)}")
    return files[0]


@contextlib.contextmanager
def open_source(kind: Kind, path: Path) -> Iterator[Iterator[Entry]]:
    """The messages of an mbox file / maildir directory, or of the one inside an archive
    (mbox entries are split here and finished while being prepared, see import_pipeline)."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    with contextlib.ExitStack() as stack:
        if _archive_kind(path) and path.is_file():
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="moxpy-import-")))
            try:
                _unpack(path, tmp)
            except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
                raise SourceError(f"{path}: cannot unpack archive: {exc}") from None
            path = _find_mailbox(tmp, kind)
        try:
            if kind == "maildir":
                yield read_maildir(path)
            else:
                f = stack.enter_context(path.open("rb"))
                yield mbox_entries(split_mbox(f, path.name), path.name)
        except ValueError as exc:
            raise SourceError(str(exc)) from None


def import_messages(
    account: Account,
    mailbox: str,
    messages: Iterable[Entry],
    *,
    progress: Callable[[int], object] | None = None,
    abort: threading.Event | None = None,
) -> ImportResult:
    """Append ``messages`` to ``mailbox`` (created when missing). On any error or abort, what
    was added is removed again (mailboxes it created, parents included, are deleted) and the
    exception propagates (ImportAborted for an abort)."""
    before: set[str] | None = None
    try:
        mb = account.mailbox(mailbox)
    except MailboxNotFound:
        before = {m.name for m in account.list_mailboxes()}
        mb = account.create_mailbox(mailbox)  # also creates missing parents
    added: list[int] = []

    def check_abort() -> None:
        if abort is not None and abort.is_set():
            raise ImportAborted(f"import into {mailbox!r} aborted")

    try:
        import_pipeline.run(
            account,
            mb.id,
            messages,
            added,
            batch_messages=BATCH_MESSAGES,
            batch_bytes=BATCH_BYTES,
            progress=progress,
            check_abort=check_abort,
        )
    except BaseException as exc:
        log.info("import failed, removing imported messages", mailbox=mb.name, count=len(added), err=str(exc))
        undo(account, [ImportResult(mb.name, len(added), before is not None, mb.id, tuple(added))], before)
        raise
    return ImportResult(mb.name, len(added), before is not None, mb.id, tuple(added))


def undo(account: Account, results: list[ImportResult], before: set[str] | None) -> None:
    """Remove what imports added: their messages from mailboxes that existed before, and
    every mailbox not in ``before`` (deepest first). Errors are logged, not raised."""
    try:
        existing = {m.name for m in account.list_mailboxes()}
        new = set() if before is None else existing - before
        for r in results:
            if r.mailbox not in new and r.uids:
                account.expunge(r.mailbox_id, list(r.uids), only_deleted=False)
        for name in sorted(new, key=lambda n: (-n.count("/"), n)):
            account.delete_mailbox(name)
    except Exception as exc:
        log.exception("removing the messages of a failed import", exc)


def _archive_sources(root: Path) -> list[tuple[Kind, str, Path]]:
    """(kind, mailbox name, path) of every mbox file and maildir under an unpacked archive.
    An mbox is a file named ``*.mbox`` or a file without extension starting with "From ";
    a maildir is a directory with ``cur/`` or ``new/``. Names are the relative paths."""
    out: list[tuple[Kind, str, Path]] = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith((".", "__MACOSX")) for part in rel.parts):
            continue
        if p.is_dir() and ((p / "cur").is_dir() or (p / "new").is_dir()):
            out.append(("maildir", rel.as_posix(), p))
        elif p.is_file() and rel.parts[-2:-1] not in (("cur",), ("new",), ("tmp",)):
            if p.suffix == ".mbox":
                out.append(("mbox", rel.with_suffix("").as_posix(), p))
            elif not p.suffix and p.name != "dovecot-keywords":
                with p.open("rb") as f:
                    if f.read(5) == b"From ":
                        out.append(("mbox", rel.as_posix(), p))
    return [(k, "Inbox" if n.lower() == "inbox" else n, p) for k, n, p in out]


def import_archive(
    account: Account,
    path: Path,
    *,
    progress: Callable[[str, int], object] | None = None,
    abort: threading.Event | None = None,
) -> list[ImportResult]:
    """Import every mbox file and maildir in a .zip/.tgz archive (as the account web page's
    upload), each into the mailbox named by its path. All or nothing: on failure or abort
    everything imported so far is removed again."""
    if not _archive_kind(path):
        raise SourceError(f"{path}: not a .zip, .tgz, .tar.gz or .tar archive")
    before = {m.name for m in account.list_mailboxes()}
    results: list[ImportResult] = []
    with tempfile.TemporaryDirectory(prefix="moxpy-import-") as d:
        tmp = Path(d)
        try:
            _unpack(path, tmp)
        except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
            raise SourceError(f"{path}: cannot unpack archive: {exc}") from None
        sources = _archive_sources(tmp)
        if not sources:
            raise SourceError(f"{path}: no mbox files or maildirs found")
        try:
            for kind, name, src in sources:

                def report(n: int, name: str = name) -> None:
                    if progress is not None:
                        progress(name, n)

                with open_source(kind, src) as messages:
                    results.append(import_messages(account, name, messages, progress=report, abort=abort))
        except BaseException:
            undo(account, results, before)
            raise
    return results


def import_path(
    account: Account,
    kind: Kind,
    mailbox: str,
    path: Path,
    *,
    progress: Callable[[int], object] | None = None,
    abort: threading.Event | None = None,
) -> ImportResult:
    """Import an mbox file or maildir directory (or an archive with one) into ``mailbox``."""
    with open_source(kind, path) as messages:
        return import_messages(account, mailbox, messages, progress=progress, abort=abort)
