"""Export of an account's mailboxes to mbox files or maildirs (``moxpy export``), into a
directory or a .zip / .tgz (.tar.gz) / .tar archive, with flags and keywords (mailformats.py).

Layout: mailbox ``A/B`` becomes ``A/B.mbox`` (mbox) or the maildir ``A/B/`` with ``cur/``,
``new/``, ``tmp/`` and a ``dovecot-keywords`` file (maildir). Without a mailbox argument all
mailboxes are exported; with one, that mailbox and its children, or only it with ``single``.
Reads go through the account's reader connections, so exporting while the server delivers
is safe and gives each mailbox as of one moment.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from app.store.account import Account
from app.store.mailformats import maildir_filename, mbox_entry
from app.store.model import Mailbox, MessageMeta

Kind = Literal["mbox", "maildir"]
_META_BATCH = 500


class ExportError(Exception):
    pass


@dataclass(frozen=True)
class ExportResult:
    mailboxes: int
    messages: int


class _Sink:
    """Files go into a directory, a zip or a tar.gz archive."""

    def __init__(self, dst: Path) -> None:
        self.dst = dst
        name = dst.name.lower()
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        if name.endswith(".zip"):
            self._zip = zipfile.ZipFile(dst, "x", zipfile.ZIP_DEFLATED)
        elif name.endswith((".tgz", ".tar.gz")):
            self._tar = tarfile.open(dst, "x:gz")  # noqa: SIM115 (closed by close())
        elif name.endswith(".tar"):
            self._tar = tarfile.open(dst, "x")  # noqa: SIM115 (closed by close())
        else:
            dst.mkdir(parents=True, exist_ok=True)

    def add_bytes(self, name: str, data: bytes, mtime: float) -> None:
        if self._zip is not None:
            info = zipfile.ZipInfo(name, time.gmtime(max(mtime, 315532800))[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            self._zip.writestr(info, data)
        elif self._tar is not None:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), int(mtime), 0o600
            self._tar.addfile(ti, io.BytesIO(data))
        else:
            p = self.dst / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.utime(p, (mtime, mtime))

    def add_dir(self, name: str) -> None:
        if self._zip is not None:
            self._zip.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), b"")
        elif self._tar is not None:
            ti = tarfile.TarInfo(name.rstrip("/"))
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o700, int(time.time())
            self._tar.addfile(ti)
        else:
            (self.dst / name).mkdir(parents=True, exist_ok=True)

    def open_stream(self, name: str) -> IO[bytes]:
        """A writable file for a large member; finish with ``close_stream``."""
        if self._zip is not None:
            return self._zip.open(name, "w", force_zip64=True)
        if self._tar is not None:
            return tempfile.TemporaryFile()
        p = self.dst / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p.open("xb")

    def close_stream(self, name: str, f: IO[bytes]) -> None:
        if self._tar is not None:
            size = f.tell()
            f.seek(0)
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = size, int(time.time()), 0o600
            self._tar.addfile(ti, f)
        f.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tar is not None:
            self._tar.close()


def _selected(mailboxes: list[Mailbox], mailbox: str | None, single: bool) -> list[Mailbox]:
    if mailbox is None:
        return mailboxes
    want = "Inbox" if mailbox.lower() == "inbox" else mailbox
    out = [m for m in mailboxes if m.name == want or (not single and m.name.startswith(want + "/"))]
    if not any(m.name == want for m in out):
        raise ExportError(f"no mailbox {mailbox!r}")
    return out


def _messages(account: Account, mb: Mailbox) -> list[list[MessageMeta]]:
    uids = [uid for uid, _modseq, _flags in account.uids_flags(mb.id)]
    return [account.message_meta(mb.id, uids[i : i + _META_BATCH]) for i in range(0, len(uids), _META_BATCH)]


def export(
    account: Account,
    kind: Kind,
    dst: Path,
    mailbox: str | None = None,
    single: bool = False,
    progress: Callable[[str, int], object] | None = None,
) -> ExportResult:
    """Export to ``dst`` (a directory, created if needed, or a new .zip/.tgz/.tar file). An
    existing archive or mbox file is not overwritten (ExportError)."""
    boxes = _selected(account.list_mailboxes(), mailbox, single)
    try:
        sink = _Sink(dst)
    except FileExistsError:
        raise ExportError(f"{dst} already exists") from None
    total = 0
    try:
        for mb in boxes:
            n = _export_mbox(account, mb, sink) if kind == "mbox" else _export_maildir(account, mb, sink)
            total += n
            if progress is not None:
                progress(mb.name, n)
    except FileExistsError as exc:
        raise ExportError(f"{exc.filename} already exists") from None
    finally:
        sink.close()
    return ExportResult(len(boxes), total)


def _export_mbox(account: Account, mb: Mailbox, sink: _Sink) -> int:
    name = mb.name + ".mbox"
    f = sink.open_stream(name)
    n = 0
    try:
        for batch in _messages(account, mb):
            for meta in batch:
                f.write(mbox_entry(account.read(meta), sorted(meta.flags), meta.received))
                n += 1
    except BaseException:
        f.close()
        raise
    sink.close_stream(name, f)
    return n


def _export_maildir(account: Account, mb: Mailbox, sink: _Sink) -> int:
    base = mb.name
    for sub in ("cur", "new", "tmp"):
        sink.add_dir(f"{base}/{sub}")
    # Maildir has a letter for $Forwarded (P) only; other keywords, including the well-known
    # $Junk/$NotJunk/..., get letters a-z through dovecot-keywords (at most 26).
    found: dict[str, str] = {}
    for _uid, _modseq, flags in account.uids_flags(mb.id):
        for f in flags:
            if not f.startswith("\\") and f.lower() != "$forwarded":
                found.setdefault(f.lower(), f)
    keywords = [found[k] for k in sorted(found)][:26]
    letters = {k.lower(): chr(ord("a") + i) for i, k in enumerate(keywords)}
    n = 0
    for batch in _messages(account, mb):
        for meta in batch:
            fname = maildir_filename(meta.uid, meta.received, meta.flags, letters)
            sink.add_bytes(f"{base}/cur/{fname}", account.read(meta), meta.received)
            n += 1
    kwtext = "".join(f"{i} {k}\n" for i, k in enumerate(keywords))
    sink.add_bytes(f"{base}/dovecot-keywords", kwtext.encode(), time.time())
    return n
