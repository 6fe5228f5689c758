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
