"""Opening databases: persistence across reopen, missing/corrupt/newer files refused with the
file named while other accounts keep working, account creation rules, close semantics."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from app.store import AccountExists, AccountUnavailable, NewerSchema, Store, StoreClosed
from app.store.schema import SCHEMA_VERSION
from tests.store.conftest import make_msg


def test_reopen_persists(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = st.account("x", create=True)
    a.deliver("Inbox", make_msg(body="persist me"), ["\\Seen"])
    a.create_mailbox("Keep")
    st.close()
    st2 = Store(tmp_path)
    try:
        b = st2.account("x")
        assert b.mailbox("Inbox").counts.total == 1
        assert b.read(b.message_meta("Inbox", [1])[0]).endswith(b"persist me\r\n")
        assert "Keep" in [m.name for m in b.list_mailboxes()]
        assert b.verify() == []
        assert st2.account_names() == ["x"]
        assert st2.account("x") is b
    finally:
        st2.close()


def test_missing_account(store: Store) -> None:
    with pytest.raises(AccountUnavailable) as ei:
        store.account("nobody")
    assert "nobody.db" in str(ei.value) and ei.value.path.endswith("nobody.db")


def test_corrupt_db_refused_others_served(store: Store) -> None:
    good = store.account("good", create=True)
    bad = store.db_path("bad")
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(AccountUnavailable) as ei:
        store.account("bad")
    assert str(bad) in str(ei.value)
    good.deliver("Inbox", make_msg())
    assert good.mailbox("Inbox").counts.total == 1


def test_foreign_sqlite_db_refused(store: Store) -> None:
    p = store.db_path("foreign")
    p.parent.mkdir(parents=True, exist_ok=True)
    c = apsw.Connection(str(p))
    c.execute("CREATE TABLE t(x)")
    c.close()
    with pytest.raises(AccountUnavailable, match="not a moxpy account database"):
        store.account("foreign")


def test_newer_schema_refused(tmp_path: Path) -> None:
    st = Store(tmp_path)
    path = st.account("future", create=True).path
    st.close()
    c = apsw.Connection(str(path))
    c.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    c.close()
    s3 = Store(tmp_path)
    try:
        with pytest.raises(NewerSchema) as ei:
            s3.account("future")
        assert str(path) in str(ei.value) and "newer" in str(ei.value)
    finally:
        s3.close()


def test_create_account_rules(store: Store) -> None:
    store.create_account("new")
    with pytest.raises(AccountExists):
        store.create_account("new")
    for bad in ["", "../x", "a/b", ".hidden", "nul\0"]:
        with pytest.raises(AccountUnavailable):
            store.account(bad, create=True)
    store.remove_account("new")
    assert not store.db_path("new").exists()
    assert store.account_names() == []


def test_closed(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = st.account("x", create=True)
    st.close()
    with pytest.raises(StoreClosed):
        a.deliver("Inbox", make_msg())
    with pytest.raises(StoreClosed):
        a.mailbox("Inbox")
    with pytest.raises(StoreClosed):
        st.account("x")


def test_writer_group_isolation_and_aborted_transaction(store: Store) -> None:
    """One failing write in a group fails alone; a write whose failure aborts the whole SQLite
    transaction fails every write of the group with StorageFailure, and the writer goes on."""
    import threading

    from app.store import StorageFailure

    acc = store.account("w", create=True)
    w = acc._writer

    def block(gate: threading.Event) -> object:
        started = threading.Event()

        def fn(conn: apsw.Connection, tx: object) -> None:
            started.set()
            gate.wait(30)

        fut = w.submit(fn)
        started.wait(30)  # the writer is busy with this one; the next writes form one group
        return fut

    gate = threading.Event()
    blocker = block(gate)

    def setting(key: str) -> object:
        return w.submit(lambda conn, tx: conn.execute("INSERT INTO setting VALUES (?, 'v')", (key,)))

    def fails(conn: apsw.Connection, tx: object) -> None:
        raise ValueError("bad write")

    a = setting("a")
    b = w.submit(fails)
    c = setting("c")
    gate.set()
    blocker.result()  # type: ignore[attr-defined]
    a.result()  # type: ignore[attr-defined]
    c.result()  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        b.result()
    assert acc.setting("a") == "v" and acc.setting("c") == "v"

    gate2 = threading.Event()
    blocker = block(gate2)

    def aborts(conn: apsw.Connection, tx: object) -> None:
        conn.execute("ROLLBACK")  # what SQLite does itself on SQLITE_FULL or an I/O error
        raise apsw.FullError("database or disk is full")

    d = setting("d")
    e = w.submit(aborts)
    f = setting("f")
    gate2.set()
    blocker.result()  # type: ignore[attr-defined]
    for fut in (d, e, f):
        with pytest.raises(StorageFailure):
            fut.result()  # type: ignore[attr-defined]
    assert acc.setting("d") is None and acc.setting("f") is None
    acc.set_setting("after", "ok")
    assert acc.setting("after") == "ok"
