"""Sending-limit history under concurrent submissions: no count is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.smtpserver import outgoing


def test_concurrent_records_all_counted(tmp_path: Path) -> None:
    from app.store.store import Store

    store = Store(tmp_path)
    try:
        store.account("a", create=True)
        now = 1_000_000.0
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda i: outgoing.record(store, "a", [f"r{i % 5}@y.example"], now), range(200)))
        assert outgoing.check(store, "a", [], 200, 10**6, now) == ""
        assert outgoing.check(store, "a", ["r0@y.example"], 200, 10**6, now) == "messages"
    finally:
        store.close()
    # Every count was stored (settings writes are ordered, the last one holds all).
    store = Store(tmp_path)
    try:
        assert outgoing.check(store, "a", [], 200, 10**6, now + 2) == ""
        assert outgoing.check(store, "a", ["x@y.example"], 200, 10**6, now + 2) == "messages"
    finally:
        store.close()


def test_record_does_not_wait_for_the_write(tmp_path: Path) -> None:
    """A submission's reply does not wait for a second commit: record() returns while the
    account's writer is busy, and the queued write, run later, holds every count since."""
    import threading

    from app.store.store import Store

    store = Store(tmp_path)
    try:
        acc = store.account("a", create=True)
        outgoing.record(store, "a", ["known@y.example"], 1_000_000.0)  # loads the history
        gate, started = threading.Event(), threading.Event()

        def block(conn: object, tx: object) -> None:
            started.set()
            gate.wait(10)

        blocker = acc._writer.submit(block)  # type: ignore[arg-type]
        assert started.wait(5)
        done = threading.Event()

        def submit_three() -> None:
            for _ in range(3):
                outgoing.record(store, "a", ["known@y.example"], 1_000_000.0)
            done.set()

        t = threading.Thread(target=submit_three)
        t.start()
        assert done.wait(5), "record() waited for the blocked writer"
        gate.set()
        blocker.result(5)
        t.join(5)
    finally:
        store.close()
    store = Store(tmp_path)
    try:
        assert outgoing.check(store, "a", [], 4, 10**6, 1_000_000.0) == ""
        assert outgoing.check(store, "a", ["x@y.example"], 4, 10**6, 1_000_000.0) == "messages"
    finally:
        store.close()
