"""The queue database's writer thread: concurrent adds share transactions (group commit), each
returns only after its commit, a failing write rolls back alone, and readers do not wait."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import apsw
import pytest

from app.queue import Filter, Queue, QueueDeps
from app.queue.writer import QueueClosed, QueueWriter, Tx
from tests.queue.helpers import MSG, make_config


def test_concurrent_adds_group_commit(tmp_path: Path) -> None:
    q = Queue(QueueDeps(config=make_config(), data_dir=tmp_path))
    try:
        q.holdrule_add("", "", "")
        before = q.db.commits
        n = 200
        with ThreadPoolExecutor(16) as ex:
            ids = list(
                ex.map(lambda i: q.add("mjl", "mjl@example.org", [f"r{i}@dest.example"], MSG), range(n))
            )
        assert sorted(i for x in ids for i in x) == sorted({i for x in ids for i in x})
        assert q.db.count() == n
        # Each add returned after its commit: every id is readable by a new reader.
        for x in ids:
            m = q.db.get(x[0])
            assert m is not None and m.hold
        # The writes were grouped (on any machine, 16 threads keep the queue non-empty).
        assert q.db.commits - before < n
    finally:
        q.close()


def test_failing_write_rolls_back_alone(tmp_path: Path) -> None:
    conn = apsw.Connection(str(tmp_path / "t.db"))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (v INTEGER UNIQUE)")
    w = QueueWriter(conn)
    gate = threading.Event()
    try:
        # Hold the writer so the next three writes land in one group.
        blocked = w.submit(lambda c, tx: gate.wait(5))
        ok1 = w.submit(lambda c, tx: c.execute("INSERT INTO t VALUES (1)"))
        bad = w.submit(
            lambda c, tx: (c.execute("INSERT INTO t VALUES (2)"), c.execute("INSERT INTO t VALUES (1)"))
        )
        ok2 = w.submit(lambda c, tx: c.execute("INSERT INTO t VALUES (3)"))
        hooks: list[str] = []

        def with_hook(c: apsw.Connection, tx: Tx) -> None:
            tx.after_commit.append(lambda c: hooks.append("ran"))
            raise ValueError("no")

        failing_hook = w.submit(with_hook, durable=False)
        gate.set()
        blocked.result(5)
        ok1.result(5)
        ok2.result(5)
        with pytest.raises(apsw.ConstraintError):
            bad.result(5)
        with pytest.raises(ValueError):
            failing_hook.result(5)
        assert hooks == []  # hooks of a failed write do not run
        assert w.run(lambda c, tx: [r[0] for r in c.execute("SELECT v FROM t ORDER BY v")]) == [1, 3]
    finally:
        w.close()
    with pytest.raises(QueueClosed):
        w.submit(lambda c, tx: None)


def test_due_index_follows_commits(tmp_path: Path) -> None:
    q = Queue(QueueDeps(config=make_config(), data_dir=tmp_path))
    try:
        ids = q.add("mjl", "mjl@example.org", ["a@one.example", "b@two.example"], MSG)
        assert q.db.next_due() is not None
        assert {d for _, _, d in q.db.due(q.db.next_due() or 0, [], 10)} == {"one.example", "two.example"}
        q.hold(Filter(ids=[ids[0]]), True)
        assert [d for _, _, d in q.db.due(9e12, [], 10)] == ["two.example"]
    finally:
        q.close()


def test_durable_chooses_synchronous_per_group(tmp_path: Path) -> None:
    conn = apsw.Connection(str(tmp_path / "t.db"))
    conn.execute("PRAGMA journal_mode=WAL")
    w = QueueWriter(conn)
    sync = lambda c, tx: c.execute("PRAGMA synchronous").fetchall()[0][0]  # noqa: E731
    try:
        assert w.run(sync, durable=False) == 1  # NORMAL
        assert w.run(sync, durable=True) == 2  # FULL
        assert w.run(sync, durable=False) == 1
        with pytest.raises(RuntimeError, match="writer thread"):
            w.run(lambda c, tx: w.run(sync))
    finally:
        w.close()
