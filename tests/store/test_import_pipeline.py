"""The import pipeline (import_pipeline.py): mbox splitting over a read buffer, preparation in
forked worker processes or in a thread, batches committed in source order, and failures
(source errors, aborts, a dying worker) leaving nothing behind."""

from __future__ import annotations

import concurrent.futures
import io
import multiprocessing
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Account, import_pipeline, importer
from app.store.errors import ImportAborted
from app.store.import_pipeline import MboxEntry, PreparedTuple
from app.store.mailformats import SourceMessage, mbox_entry, read_mbox, split_mbox

PARENT = os.getpid()
_prepare = import_pipeline.prepare
N = 700


def _mbox(n: int = N) -> bytes:
    out = []
    for i in range(n):
        flags = ["\\Seen"] if i % 2 else []
        if i % 7 == 0:
            flags.append("$Forwarded")
        body = f"line {i}\r\nFrom here\r\n>From there\r\n" + "text " * (i % 50) + "\r\n"
        msg = f"From: a{i % 5}@example.org\r\nSubject: message {i}\r\nMessage-ID: <m{i}@x>\r\n\r\n{body}"
        out.append(mbox_entry(msg.encode(), flags, 1_600_000_000.0 + i))
    return b"".join(out)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_pipeline, "JOB_MESSAGES", 40)
    monkeypatch.setattr(importer, "BATCH_MESSAGES", 150)


def _imported(acc: Account, mailbox: str) -> list[tuple[bytes, frozenset[str], float]]:
    metas = acc.message_meta(mailbox, acc.uids(mailbox))
    flags = {uid: f for uid, _ms, f in acc.uids_flags(mailbox)}
    return [(acc.read(m), flags[m.uid], m.received) for m in metas]


@pytest.mark.parametrize("workers", [1, 0])
def test_import_mbox_in_order(
    acc: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: None, workers: int
) -> None:
    monkeypatch.setattr(import_pipeline, "WORKERS", workers)
    pools: list[object] = []
    start = import_pipeline.start_processes

    def recording_start(n: int) -> concurrent.futures.Executor | None:
        pool = start(n)
        pools.append(pool)
        return pool

    monkeypatch.setattr(import_pipeline, "start_processes", recording_start)
    path = tmp_path / "big.mbox"
    path.write_bytes(_mbox())
    seen: list[int] = []
    res = importer.import_path(acc, "mbox", "Big", path, progress=seen.append)
    assert res.count == N and res.created_mailbox
    assert seen[-1] == N and len(seen) >= N // 150 and seen == sorted(seen)
    want = [(m.data, frozenset(m.flags), m.received) for m in read_mbox(io.BytesIO(path.read_bytes()))]
    assert _imported(acc, "Big") == want
    assert b"\r\nFrom here\r\n>From there\r\n" in want[3][0]  # mboxrd quoting undone
    st = acc.mailbox_status("Big")
    assert st.counts.total == N and st.counts.unseen == N // 2
    assert len(pools) == 1 and (pools[0] is not None) == (workers > 0)  # forked when asked to


def test_no_processes_falls_back(acc: Account, monkeypatch: pytest.MonkeyPatch, small_batches: None) -> None:
    monkeypatch.setattr(import_pipeline, "WORKERS", 1)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert import_pipeline.start_processes(1) is None
    msgs = [SourceMessage(b"Subject: %d\r\n\r\nx\r\n" % i, (), None, f"m{i}") for i in range(300)]
    res = importer.import_messages(acc, "Inbox", msgs)
    assert res.count == 300 and acc.mailbox_status("Inbox").counts.total == 300


def test_abort_with_workers(acc: Account, monkeypatch: pytest.MonkeyPatch, small_batches: None) -> None:
    monkeypatch.setattr(import_pipeline, "WORKERS", 1)
    abort = threading.Event()
    raw = list(split_mbox(io.BytesIO(_mbox())))

    def entries() -> Iterator[MboxEntry]:
        for i, r in enumerate(raw):
            if i == 500:
                abort.set()
            yield MboxEntry(r, f"m{i}")

    seen: list[int] = []
    with pytest.raises(ImportAborted):
        importer.import_messages(acc, "Aborted", entries(), progress=seen.append, abort=abort)
    assert seen  # batches were committed before the abort, and removed again
    assert "Aborted" not in [m.name for m in acc.list_mailboxes()]
    assert acc.quota_usage()[0] == 0


def _crashing_prepare(job: list[MboxEntry]) -> list[PreparedTuple]:
    if os.getpid() != PARENT:
        os._exit(3)  # a worker killed (say, by the OOM killer)
    return _prepare(job)


def test_dead_worker_fails_import(acc: Account, monkeypatch: pytest.MonkeyPatch, small_batches: None) -> None:
    monkeypatch.setattr(import_pipeline, "WORKERS", 1)
    monkeypatch.setattr(import_pipeline, "prepare", _crashing_prepare)
    acc.create_mailbox("Existing")
    entries = [MboxEntry(r, f"m{i}") for i, r in enumerate(split_mbox(io.BytesIO(_mbox(200))))]
    with pytest.raises(Exception, match="process"):
        importer.import_messages(acc, "Existing", entries)
    assert acc.uids("Existing") == [] and acc.quota_usage()[0] == 0


def test_split_mbox_small_reads() -> None:
    data = b"\n\nFrom a\nx\nFrom b\n>From c\n\nFrom d"
    assert list(split_mbox(io.BytesIO(data), read_size=3)) == [
        b"From a\nx\n",
        b"From b\n>From c\n\n",
        b"From d",
    ]
    with pytest.raises(ValueError, match="not an mbox"):
        list(split_mbox(io.BytesIO(b"  From a\n"), read_size=2))
    assert list(split_mbox(io.BytesIO(b"\n \n"))) == []
