"""Schema version 4: the covering index holds the flags packed into one integer. The queries for
UIDs and flags must select exactly that expression so SQLite reads it from the index (a covering
index scan, no table row per message); the packed value follows flag changes; a version 3
database with messages migrates with its flags intact."""

from __future__ import annotations

import random
from pathlib import Path

import apsw

from app.store import AppendItem, Store
from app.store.messages import FLAGS_MASK_SQL, flags_of_mask
from app.store.model import COLUMN_FLAG, FLAG_COLUMN_NAMES
from app.store.schema import APPLICATION_ID, FLAGS_MASK_V4, MIGRATIONS
from tests.store.conftest import make_msg

SYSTEM = [COLUMN_FLAG[c] for c in FLAG_COLUMN_NAMES]
UIDS_FLAGS = f"SELECT uid, modseq, {FLAGS_MASK_SQL}, keywords FROM message WHERE mailbox_id = ? ORDER BY uid"


def test_index_expression_is_the_query_expression(store: Store) -> None:
    assert FLAGS_MASK_V4 == FLAGS_MASK_SQL
    acc = store.account("p", create=True)
    acc.append("Inbox", [AppendItem(make_msg())])
    plan = acc.run_read(lambda c: list(c.execute("EXPLAIN QUERY PLAN " + UIDS_FLAGS, (1,))))
    assert any("COVERING INDEX message_mailbox_flags" in str(r) for r in plan), plan


def test_packed_flags_follow_flag_changes(store: Store) -> None:
    acc = store.account("f", create=True)
    rnd = random.Random(4)
    acc.append(
        "Inbox", [AppendItem(make_msg(subject=f"s{i}"), flags=rnd.sample(SYSTEM, i % 4)) for i in range(40)]
    )
    for _ in range(30):
        uids = rnd.sample(range(1, 41), 5)
        acc.set_flags(
            "Inbox", uids, rnd.choice(["add", "remove", "replace"]), [*rnd.sample(SYSTEM, 3), "$custom"]
        )
    cols = ", ".join(FLAG_COLUMN_NAMES)
    rows = acc.run_read(lambda c: list(c.execute(f"SELECT uid, {cols} FROM message ORDER BY uid")))
    by_uid = {uid: fs for uid, _, fs in acc.uids_flags("Inbox")}
    assert len(rows) == len(by_uid) == 40
    for uid, *bits in rows:
        want = {COLUMN_FLAG[c] for c, b in zip(FLAG_COLUMN_NAMES, bits, strict=True) if b}
        assert by_uid[uid] - {"$custom"} == want
        assert flags_of_mask(sum(b << i for i, b in enumerate(bits)), "") == want


def test_migration_from_version_3_keeps_flags(tmp_path: Path) -> None:
    path = tmp_path / "accounts" / "v3.db"
    path.parent.mkdir(parents=True)
    st = Store(tmp_path)
    try:
        acc = st.account("v3", create=True)
        acc.append(
            "Inbox",
            [AppendItem(make_msg(subject="a"), flags=["\\Seen", "\\Flagged"]), AppendItem(make_msg())],
        )
        acc.set_flags("Inbox", [2], "add", ["\\Deleted", "$Junk", "kw1"])
        want = acc.uids_flags("Inbox")
    finally:
        st.close()
    # Take the database back to version 3 (as an older moxpy left it).
    c = apsw.Connection(str(path))
    with c:
        c.execute("DROP INDEX message_mailbox_flags")
        c.execute(
            "CREATE INDEX message_mailbox_flags ON message(mailbox_id, uid, modseq, seen, answered, flagged,"
            " deleted, draft, forwarded, junk, notjunk, phishing, mdnsent, keywords)"
        )
        c.execute(f"PRAGMA application_id={APPLICATION_ID}")
        c.execute("PRAGMA user_version=3")
    c.close()
    st = Store(tmp_path)
    try:
        acc = st.account("v3")
        assert acc.uids_flags("Inbox") == want
        c = apsw.Connection(str(path))
        assert c.execute("PRAGMA user_version").fetchall()[0][0] == len(MIGRATIONS) == 4
        plan = list(c.execute("EXPLAIN QUERY PLAN " + UIDS_FLAGS, (1,)))
        assert any("COVERING INDEX message_mailbox_flags" in str(r) for r in plan), plan
        c.close()
        assert acc.verify() == []
    finally:
        st.close()
