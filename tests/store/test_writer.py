"""The store's writer thread on a bare database: writes queued together share one transaction,
a failing write rolls back alone (its full-text rows, changes and hooks too), database errors
reach callers as StorageFailure, subscribers hear of a change only once readers can see it, and
a closed writer refuses work."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import apsw
import pytest

from app.store.blobs import PendingText
from app.store.changes import Broadcaster, ChangeSubscription
from app.store.errors import StorageFailure, StoreClosed
from app.store.writer import Tx, Writer


@pytest.fixture
def db(tmp_path: Path) -> Path:
    p = tmp_path / "w.db"
    c = apsw.Connection(str(p))
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t (v INTEGER UNIQUE)")
    c.execute("CREATE VIRTUAL TABLE fts USING fts5(text)")
    c.close()
    return p


@pytest.fixture
def writer(db: Path) -> Iterator[Writer]:
    w = Writer(apsw.Connection(str(db)), Broadcaster(), "test")
    try:
        yield w
    finally:
        w.close()


def _block(w: Writer) -> tuple[concurrent.futures.Future[bool], threading.Event]:
    """Keep the writer busy in a write of its own until the returned gate is set, so the writes
    submitted meanwhile are grouped in one transaction after it."""
    gate, started = threading.Event(), threading.Event()

    def op(c: apsw.Connection, tx: Tx) -> bool:
        started.set()
        return gate.wait(5)

    f = w.submit(op)
    assert started.wait(5)
    return f, gate


def _insert(v: int, word: str = "", change: str = "") -> Callable[[apsw.Connection, Tx], int]:
    """A write inserting ``v``, queueing a full-text row ``word`` and recording a change."""

    def op(c: apsw.Connection, tx: Tx) -> int:
        c.execute("INSERT INTO t VALUES (?)", (v,))
        if word:
            assert isinstance(tx.fts, PendingText)
            tx.fts.add(v, word)
        if change:
            tx.add(ChangeSubscription(change, True))
        return v

    return op


def test_group_and_failing_write_rolls_back_alone(db: Path) -> None:
    b = Broadcaster()
    w = Writer(apsw.Connection(str(db)), b, "test")
    sub = b.subscribe()
    hooks: list[str] = []
    try:
        blocked, gate = _block(w)
        ok1 = w.submit(_insert(1, "alpha", "one"))

        def bad(c: apsw.Connection, tx: Tx) -> None:
            _insert(2, "beta", "two")(c, tx)
            tx.after_commit.append(lambda: hooks.append("bad"))
            c.execute("INSERT INTO t VALUES (1)")  # unique violation

        def hooked(c: apsw.Connection, tx: Tx) -> None:
            tx.after_commit.append(lambda: hooks.append("ok"))
            raise ValueError("no")

        f_bad = w.submit(bad)
        f_value = w.submit(hooked)
        ok3 = w.submit(_insert(3, "gamma", "three"))
        commits0 = w.commits
        gate.set()
        assert blocked.result(5) is True
        assert ok1.result(5) == 1 and ok3.result(5) == 3
        with pytest.raises(StorageFailure) as ei:
            f_bad.result(5)
        assert isinstance(ei.value.__cause__, apsw.ConstraintError)
        with pytest.raises(ValueError):
            f_value.result(5)
        # The blocked write committed alone; the other four shared one transaction.
        assert w.commits - commits0 == 2
        assert hooks == []
        changes, _ = sub.take()
        assert [c.name for c in changes if isinstance(c, ChangeSubscription)] == ["one", "three"]
        assert w.run(lambda c, tx: [r[0] for r in c.execute("SELECT v FROM t ORDER BY v")]) == [1, 3]
        rows = w.run(lambda c, tx: [r[0] for r in c.execute("SELECT rowid FROM fts ORDER BY rowid")])
        assert rows == [1, 3]
    finally:
        w.close()


def test_subscribers_hear_after_commit(db: Path) -> None:
    b = Broadcaster()
    w = Writer(apsw.Connection(str(db)), b, "test")
    reader = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    seen: list[int] = []
    done: list[int] = []

    def notify() -> None:
        seen.extend(r[0] for r in reader.execute("SELECT v FROM t"))

    b.subscribe(notify)
    try:
        f = w.submit(_insert(7, change="x"))
        f.add_done_callback(lambda _f: done.append(len(seen)))
        assert f.result(5) == 7
        assert seen == [7]  # the reader saw the row when told of the change
        assert done == [1]  # and the future completed after the subscribers were told
    finally:
        w.close()
        reader.close()


def test_origin_is_not_told(writer: Writer) -> None:
    b = writer._b
    mine = b.subscribe()
    other = b.subscribe()
    writer.run(_insert(1, change="a"), origin=mine)
    assert mine.take() == ([], False)
    assert [c.name for c in other.take()[0] if isinstance(c, ChangeSubscription)] == ["a"]


def test_run_on_writer_thread_refused(writer: Writer) -> None:
    def nested(c: apsw.Connection, tx: Tx) -> None:
        writer.run(lambda c2, tx2: None)

    with pytest.raises(RuntimeError, match="writer thread"):
        writer.run(nested)


def test_commit_failure_fails_all(writer: Writer) -> None:
    # The group's full-text rows go in just before COMMIT; make that fail (the table is gone).
    def drop(c: apsw.Connection, tx: Tx) -> None:
        assert tx.fts is not None
        tx.fts.add(1, "x")
        c.execute("DROP TABLE fts")

    blocked, gate = _block(writer)
    a = writer.submit(drop)
    b = writer.submit(_insert(5))
    gate.set()
    blocked.result(5)
    for f in (a, b):
        with pytest.raises(StorageFailure):
            f.result(5)
    # The writer goes on, and nothing of the failed group was kept.
    assert writer.run(lambda c, tx: c.execute("SELECT count(*) FROM t").fetchall()[0][0]) == 0


def test_closed(db: Path) -> None:
    w = Writer(apsw.Connection(str(db)), Broadcaster(), "test")
    f = w.submit(_insert(1))
    w.close()
    assert f.result(5) == 1  # queued writes finish before close returns
    w.close()
    with pytest.raises(StoreClosed):
        w.submit(lambda c, tx: None)


def test_latch_result_exception_and_waiters() -> None:
    """run()'s lightweight completion: the value or the write's own exception, for every waiter."""
    from app.store.groupcommit import Latch

    ok: Latch[int] = Latch()
    got: list[int] = []
    waiters = [threading.Thread(target=lambda: got.append(ok.result())) for _ in range(3)]
    for t in waiters:
        t.start()
    assert not ok.done()
    ok.set_result(7)
    for t in waiters:
        t.join(5)
    assert got == [7, 7, 7] and ok.done() and ok.result() == 7

    bad: Latch[int] = Latch()
    bad.set_exception(StorageFailure("disk full"))
    with pytest.raises(StorageFailure, match="disk full"):
        bad.result()
    with pytest.raises(StorageFailure):
        bad.result()  # asked again: the same answer
