"""Schema version 4: the generated ``flagmask`` column (the covering index's packed flags) equals
the flag columns bit for bit, before and after flag changes, and a version 3 database with
messages migrates with its flags intact."""

from __future__ import annotations

import random
from pathlib import Path

import apsw

from app.store import AppendItem, Store
from app.store.messages import FLAGS_MASK_SQL, flags_of_mask
from app.store.model import COLUMN_FLAG, FLAG_COLUMN_NAMES
from app.store.schema import APPLICATION_ID, MIGRATIONS
from tests.store.conftest import make_msg

SYSTEM = [COLUMN_FLAG[c] for c in FLAG_COLUMN_NAMES]


def _masks(c: apsw.Connection) -> list[tuple[int, int, int]]:
    return list(c.execute(f"SELECT uid, flagmask, {FLAGS_MASK_SQL} FROM message ORDER BY uid"))


def test_flagmask_follows_flag_changes(store: Store) -> None:
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
    rows = acc.run_read(_masks)
    assert len(rows) == 40 and all(m == want for _, m, want in rows)
    by_uid = {uid: fs for uid, _, fs in acc.uids_flags("Inbox")}
    for uid, m, _ in rows:
        assert by_uid[uid] - {"$custom"} == flags_of_mask(m, "")


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
        c.execute("ALTER TABLE message DROP COLUMN flagmask")
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
        assert all(m == w for _, m, w in _masks(c))
        c.close()
        assert acc.verify() == []
    finally:
        st.close()
