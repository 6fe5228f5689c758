"""Import of mox's interop mbox/maildir (flags, keywords), export round trips to a directory,
zip and tgz, and aborted/failed imports leaving nothing behind."""

from __future__ import annotations

import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import MailboxNotFound
from app.store.account import Account
from app.store.errors import ImportAborted, SourceError
from app.store.exporter import ExportError, export
from app.store.importer import import_messages, import_path, open_source
from app.store.mailformats import SourceMessage
from tests.conftest import INTEROP

TESTDATA = INTEROP / "mox-testdata"


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    acc = Account("mjl", tmp_path / "mjl.db", create=True)
    yield acc
    assert acc.verify() == []
    acc.close()


def _flags(acc: Account, mailbox: str) -> list[frozenset[str]]:
    return [f for _uid, _ms, f in acc.uids_flags(mailbox)]


def test_import_mbox(account: Account) -> None:
    seen: list[int] = []
    res = import_path(account, "mbox", "Imported", TESTDATA / "importtest.mbox", progress=seen.append)
    assert res.count == 2 and res.created_mailbox and seen == [2]
    f1, f2 = _flags(account, "Imported")
    assert f1 == {"\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted", "$NotJunk", "$Forwarded"}
    assert f2 == {"\\Seen"}
    metas = account.message_meta("Imported", account.uids("Imported"))
    assert metas[0].received == 1642970515.0
    assert account.read(metas[0]).endswith(b"\r\n\r\nFrom testing\r\ntest2\r\nend\r\n")
    st = account.mailbox_status("Imported")
    assert st.counts.total == 2 and st.counts.deleted == 1


def test_import_mbox_zip(account: Account) -> None:
    res = import_path(account, "mbox", "Inbox", TESTDATA / "importtest.mbox.zip")
    assert res.count == 2 and not res.created_mailbox


def test_import_maildir_tgz(account: Account) -> None:
    res = import_path(account, "maildir", "Maildir", TESTDATA / "importtest.maildir.tgz")
    assert res.count == 2
    flags = sorted(_flags(account, "Maildir"), key=len)
    assert flags[0] >= {"\\Deleted", "$Junk"} and "\\Seen" not in flags[0]
    assert flags[1] >= {"\\Answered", "\\Seen", "\\Flagged", "$Forwarded", "$NotJunk"}


def test_export_roundtrip(account: Account, tmp_path: Path) -> None:
    import_path(account, "mbox", "Archive/2022", TESTDATA / "importtest.mbox")
    import_path(account, "maildir", "Archive/Other", TESTDATA / "importtest.maildir.tgz")
    before = {mb: (_flags(account, mb), [account.read(m) for m in account.message_meta(mb, account.uids(mb))])
              for mb in ("Archive/2022", "Archive/Other")}  # fmt: skip
    for kind in ("mbox", "maildir"):
        for dst in (
            tmp_path / f"out-{kind}",
            tmp_path / f"out-{kind}.zip",
            tmp_path / f"out-{kind}.tgz",
            tmp_path / f"out-{kind}.tar",
        ):
            res = export(account, kind, dst, "Archive")  # type: ignore[arg-type]
            assert res.mailboxes == 3 and res.messages == 4
            src = dst
            if dst.suffix in (".zip", ".tgz", ".tar"):
                src = tmp_path / ("x-" + dst.name)
                if dst.suffix == ".zip":
                    zipfile.ZipFile(dst).extractall(src)
                else:
                    with tarfile.open(dst) as t:
                        t.extractall(src, filter="data")
            other = Account("copy", tmp_path / f"copy-{dst.name}.db", create=True)
            try:
                for mb in before:
                    path = src / (mb + ".mbox") if kind == "mbox" else src / mb
                    import_path(other, kind, mb, path)  # type: ignore[arg-type]
                    got = (_flags(other, mb), [other.read(m) for m in other.message_meta(mb, other.uids(mb))])
                    assert got == before[mb], (kind, dst, mb)
                assert other.verify() == []
            finally:
                other.close()
    with pytest.raises(ExportError):
        export(account, "mbox", tmp_path / "out-mbox.zip")
    with pytest.raises(ExportError):
        export(account, "mbox", tmp_path / "new", "NoSuchMailbox")


def test_export_single(account: Account, tmp_path: Path) -> None:
    import_path(account, "mbox", "A", TESTDATA / "importtest.mbox")
    import_path(account, "mbox", "A/B", TESTDATA / "importtest.mbox")
    res = export(account, "mbox", tmp_path / "single", "A", single=True)
    assert res.mailboxes == 1 and (tmp_path / "single" / "A.mbox").exists()
    assert not (tmp_path / "single" / "A" / "B.mbox").exists()
    res = export(account, "maildir", tmp_path / "all")
    assert (tmp_path / "all" / "A" / "B" / "cur").is_dir() and (tmp_path / "all" / "Inbox" / "new").is_dir()


def _state(acc: Account) -> list[tuple[str, int]]:
    return [(m.name, m.counts.total) for m in acc.list_mailboxes()]


def test_aborted_import_leaves_nothing(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.store.importer as importer

    monkeypatch.setattr(importer, "BATCH_MESSAGES", 1)
    before = _state(account)
    usage = account.quota_usage()[0]
    abort = threading.Event()

    def gen() -> Iterator[SourceMessage]:
        for i in range(5):
            if i == 3:
                abort.set()
            yield SourceMessage(b"Subject: %d\r\n\r\nbody\r\n" % i, ("\\Seen",), None, f"m{i}")

    with pytest.raises(ImportAborted):
        import_messages(account, "NewBox", gen(), abort=abort)
    assert _state(account) == before
    with pytest.raises(MailboxNotFound):
        account.mailbox("NewBox")
    # Into an existing mailbox: the messages added by the failed import are gone again.
    account.create_mailbox("Existing")
    before = _state(account)

    def failing() -> Iterator[SourceMessage]:
        for i in range(4):
            yield SourceMessage(b"Subject: %d\r\n\r\nx\r\n" % i, (), None, f"m{i}")
        raise OSError("disk read error")

    with pytest.raises(OSError):
        import_messages(account, "Existing", failing())
    assert _state(account) == before
    assert account.uids("Existing") == []
    assert account.quota_usage()[0] == usage


def test_bad_sources(account: Account, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mbox"
    bad.write_bytes(b"Subject: no from line\n\nx\n")
    before = _state(account)
    with pytest.raises(SourceError, match="not an mbox"):
        import_path(account, "mbox", "Bad", bad)
    assert _state(account) == before
    with pytest.raises(SourceError):
        import_path(account, "maildir", "Bad", tmp_path)
    with pytest.raises(SourceError):
        import_path(account, "mbox", "Bad", tmp_path / "missing")
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.mbox", "From x\n\n")
        z.writestr("b.mbox", "From x\n\n")
    with pytest.raises(SourceError, match="exactly one"), open_source("mbox", two):
        pass


def test_import_archive(account: Account, tmp_path: Path) -> None:
    from app.store.importer import import_archive

    mbox = (TESTDATA / "importtest.mbox").read_bytes()
    arc = tmp_path / "upload.tgz"
    with tarfile.open(TESTDATA / "importtest.maildir.tgz") as src, tarfile.open(arc, "w:gz") as dst:
        for m in src.getmembers():
            f = src.extractfile(m) if m.isfile() else None
            m.name = m.name.replace("maildir", "Lists/Md", 1)
            dst.addfile(m, f)
        for name, data in (
            ("INBOX.mbox", mbox),
            ("Lists/Sub.mbox", mbox),
            ("notes.txt", b"hello"),
            (".hidden.mbox", mbox),
        ):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            dst.addfile(ti, io.BytesIO(data))
    seen: list[tuple[str, int]] = []
    res = import_archive(account, arc, progress=lambda name, n: seen.append((name, n)))
    assert sorted((r.mailbox, r.count) for r in res) == [("Inbox", 2), ("Lists/Md", 2), ("Lists/Sub", 2)]
    assert ("Lists/Md", 2) in seen
    assert account.mailbox_status("Lists/Md").counts.total == 2


def test_import_archive_all_or_nothing(account: Account, tmp_path: Path) -> None:
    from app.store.importer import import_archive

    before = _state(account)
    arc = tmp_path / "upload.zip"
    with zipfile.ZipFile(arc, "w") as z:
        z.write(TESTDATA / "importtest.mbox", "New/a.mbox")
        z.write(TESTDATA / "importtest.mbox", "Inbox.mbox")
        z.writestr("New/b.mbox", "not an mbox\n")
    with pytest.raises(SourceError):
        import_archive(account, arc)
    assert _state(account) == before
    with pytest.raises(SourceError):
        import_archive(account, TESTDATA / "importtest.mbox")


def test_import_into_new_nested_mailbox_undone(account: Account) -> None:
    before = _state(account)

    def failing() -> Iterator[SourceMessage]:
        yield SourceMessage(b"Subject: 1\r\n\r\nx\r\n", (), None, "m1")
        raise OSError("read error")

    with pytest.raises(OSError):
        import_messages(account, "Parent/Child", failing())
    assert _state(account) == before
