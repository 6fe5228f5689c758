"""Reputation from the account's history (mox's order of signals), and the schema migration
that added what it needs."""

from __future__ import annotations

from pathlib import Path

import apsw

from app.store import Account, DeliveryFacts, Store
from app.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from tests.store.conftest import make_msg


def _history(acc: Account, n: int, junk: bool, **facts: object) -> None:
    for _ in range(n):
        d = acc.deliver("Inbox", make_msg(), facts=DeliveryFacts(**facts))  # type: ignore[arg-type]
        acc.set_flags("Inbox", [d.uid], "add", ["$Junk" if junk else "$NotJunk"])


def test_no_history(acc: Account) -> None:
    r = acc.reputation("Inbox", DeliveryFacts(remote_ip="192.0.2.1", msg_from_domain="example.org"))
    assert (r.junk, r.conclusive, r.method) == (None, False, "none")


def test_full_address(acc: Account) -> None:
    who = {"msg_from_localpart": "alice", "msg_from_domain": "example.org", "msg_from_validated": True}
    _history(acc, 1, False, **who)
    r = acc.reputation("Inbox", DeliveryFacts(**who))  # type: ignore[arg-type]
    assert (r.junk, r.conclusive, r.method) == (False, True, "msgfromfull")
    # Unclassified messages and other destination mailboxes do not count.
    acc.deliver(
        "Archive", make_msg(), facts=DeliveryFacts(msg_from_localpart="bob", msg_from_domain="spam.example")
    )
    r = acc.reputation("Archive", DeliveryFacts(msg_from_localpart="alice", msg_from_domain="example.org"))
    assert r.method == "none"
    # Earlier mail from the address was validated, this one is not: suspicious.
    r = acc.reputation("Inbox", DeliveryFacts(msg_from_localpart="alice", msg_from_domain="example.org"))
    assert (r.junk, r.method) == (True, "msgfromfull")


def test_sent_to(acc: Account) -> None:
    acc.add_recipients([("carol", "Example.NET", "example.net")])
    r = acc.reputation("Inbox", DeliveryFacts(msg_from_localpart="carol", msg_from_domain="example.net"))
    assert (r.junk, r.conclusive, r.method) == (False, True, "msgtofull")
    r = acc.reputation("Inbox", DeliveryFacts(msg_from_localpart="dave", msg_from_domain="example.net"))
    assert (r.junk, r.method) == (False, "msgtodomain")


def test_domain_junk_needs_three_localparts(acc: Account) -> None:
    for lp in ("a", "b"):
        _history(acc, 1, True, msg_from_localpart=lp, msg_from_domain="spam.example", msg_from_validated=True)
    f = DeliveryFacts(msg_from_localpart="z", msg_from_domain="spam.example", msg_from_validated=True)
    r = acc.reputation("Inbox", f)
    assert (r.junk, r.conclusive, r.method) == (True, False, "msgfromdomain")
    _history(acc, 1, True, msg_from_localpart="c", msg_from_domain="spam.example", msg_from_validated=True)
    assert acc.reputation("Inbox", f).conclusive


def test_dkim_and_ip(acc: Account) -> None:
    _history(acc, 3, False, dkim_domains=("good.example",))
    r = acc.reputation("Inbox", DeliveryFacts(dkim_domains=("good.example", "other.example")))
    assert (r.junk, r.conclusive, r.method) == (False, True, "dkimspf")
    _history(acc, 3, True, remote_ip="198.51.100.7")
    r = acc.reputation("Inbox", DeliveryFacts(remote_ip="198.51.100.7"))
    assert (r.junk, r.conclusive, r.method) == (True, True, "ip1")
    r = acc.reputation("Inbox", DeliveryFacts(remote_ip="198.51.100.9"))
    assert (r.junk, r.conclusive, r.method) == (True, False, "ip2")  # /26 needs 5 messages


def test_migration_from_version_1(tmp_path: Path) -> None:
    path = tmp_path / "accounts" / "old.db"
    path.parent.mkdir(parents=True)
    c = apsw.Connection(str(path))
    c.execute("PRAGMA journal_mode=WAL")
    with c:
        c.execute(MIGRATIONS[0])
        c.execute(f"PRAGMA application_id={APPLICATION_ID}")
        c.execute("PRAGMA user_version=1")
    c.close()
    st = Store(tmp_path)
    try:
        acc = st.account("old")
        acc.add_recipients([("x", "example.org", "")])
        c = apsw.Connection(str(path))
        assert c.execute("PRAGMA user_version").fetchall()[0][0] == SCHEMA_VERSION == len(MIGRATIONS)
        c.close()
        assert acc.verify() == []
    finally:
        st.close()
