"""Message operations: deliver, append, flags and modseq, copy, move, expunge and tombstones,
byte reads (whole, ranged, file-like, across chunks), parsed structure, FTS, quota, facts."""

from __future__ import annotations

import io
import os

import pytest

from app.store import (
    Account,
    AppendItem,
    DeliveryFacts,
    InvalidFlag,
    MailboxNotFound,
    MessageGone,
    QuotaExceeded,
    Store,
)
from app.store.schema import CHUNK_SIZE
from tests.store.conftest import make_msg


def test_deliver_and_read(acc: Account) -> None:
    data = make_msg("Greetings", "Hello Bob", msgid="a@b")
    d = acc.deliver("INBOX", data, ["\\Seen", "Custom", "$Junk"], received=1_700_000_000.0)
    assert (d.mailbox_name, d.uid, d.size) == ("Inbox", 1, len(data))
    [m] = acc.message_meta("Inbox", [1])
    assert m.flags == {"\\Seen", "custom", "$Junk"}
    assert m.received == 1_700_000_000.0 and m.modseq == d.modseq == m.createseq
    assert m.message_id == "a@b" and m.subject_base == "greetings" and m.preview.startswith("Hello Bob")
    assert acc.read(m) == data
    assert acc.read(d.id if False else m.data_id) == data
    st = acc.mailbox_status("Inbox")
    assert (st.uidnext, st.counts.total, st.counts.unread, st.counts.size) == (2, 1, 0, len(data))
    assert st.keywords == ("custom",)
    assert st.highest_modseq == acc.highest_modseq() >= d.modseq
    part = acc.parsed(m)
    assert data[part.body_start : part.body_end].startswith(b"Hello Bob")


def test_deliver_creates_missing_named_mailbox(acc: Account) -> None:
    d = acc.deliver("Lists/new", make_msg())
    assert d.mailbox_name == "Lists/new" and acc.mailbox("Lists").id > 0
    with pytest.raises(MailboxNotFound):
        acc.deliver(9999, make_msg())


def test_invalid_flags(acc: Account) -> None:
    with pytest.raises(InvalidFlag):
        acc.deliver("Inbox", make_msg(), ["\\Bogus"])
    with pytest.raises(InvalidFlag):
        acc.set_flags("Inbox", [1], "add", ["bad(kw"])
    assert acc.mailbox("Inbox").counts.total == 0


def test_append_atomic(acc: Account) -> None:
    items = [AppendItem(make_msg(f"s{i}"), ("\\Draft",) if i else (), 1_600_000_000.0 + i) for i in range(5)]
    uv, uids = acc.append("Drafts", items)
    assert uv == acc.mailbox("Drafts").uidvalidity and uids == [1, 2, 3, 4, 5]
    metas = acc.message_meta("Drafts", uids)
    assert [m.received for m in metas] == [1_600_000_000.0 + i for i in range(5)]
    assert len({m.modseq for m in metas}) == 1
    # A bad mailbox makes the whole append fail, nothing stored.
    with pytest.raises(MailboxNotFound):
        acc.append("nope", items)
    assert acc.append("Drafts", []) == (uv, [])


def test_set_flags_modes_and_modseq(acc: Account) -> None:
    for i in range(3):
        acc.deliver("Inbox", make_msg(f"m{i}"))
    base = acc.highest_modseq()
    r = acc.set_flags("Inbox", [1, 2], "add", ["\\Seen", "\\Deleted", "KW1"])
    assert {c.uid for c in r.changed} == {1, 2} and r.changed[0].modseq == base + 1
    assert r.changed[0].flags == {"\\Seen", "\\Deleted", "kw1"}
    mb = acc.mailbox("Inbox")
    assert (mb.counts.unread, mb.counts.deleted, mb.keywords) == (1, 2, ("kw1",))
    r = acc.set_flags("Inbox", [1], "remove", ["\\deleted", "kw1"])
    assert r.changed[0].flags == {"\\Seen"}
    r = acc.set_flags(
        "Inbox", [1, 3], "replace", ["$Forwarded", "$MDNSent", "$NotJunk", "$Phishing", "\\Flagged"]
    )
    assert r.changed[0].flags == {"$Forwarded", "$MDNSent", "$NotJunk", "$Phishing", "\\Flagged"}
    # No-op changes keep the modseq.
    before = acc.highest_modseq()
    r = acc.set_flags("Inbox", [2], "add", ["\\Seen"])
    assert r.changed == () and [u.uid for u in r.unchanged] == [2] and acc.highest_modseq() == before
    # Nonexistent uids are ignored.
    assert acc.set_flags("Inbox", [99], "add", ["\\Seen"]).changed == ()
    assert acc.changed_since("Inbox", before - 1)[0][0] in (1, 3)
    with pytest.raises(ValueError):
        acc.set_flags("Inbox", [1], "toggle", ["\\Seen"])


def test_unchanged_since(acc: Account) -> None:
    acc.deliver("Inbox", make_msg("a"))
    acc.deliver("Inbox", make_msg("b"))
    m1 = acc.message_meta("Inbox", [1])[0].modseq
    acc.set_flags("Inbox", [2], "add", ["\\Flagged"])
    r = acc.set_flags("Inbox", [1, 2], "add", ["\\Seen"], unchanged_since=m1)
    assert r.modified == (2,) and [c.uid for c in r.changed] == [1]


def test_copy_and_move(acc: Account) -> None:
    for i in range(3):
        acc.deliver("Inbox", make_msg(f"m{i}"), ["kw"])
    r = acc.copy("Inbox", [1, 3, 77], "Archive")
    assert (
        r.src_uids == (1, 3) and r.dst_uids == (1, 2) and r.uidvalidity == acc.mailbox("Archive").uidvalidity
    )
    arch = acc.message_meta("Archive", [1, 2])
    src = acc.message_meta("Inbox", [1, 3])
    assert [a.data_id for a in arch] == [s.data_id for s in src]
    assert arch[0].savedate >= src[0].savedate and arch[0].flags == {"kw"}
    assert acc.mailbox("Archive").keywords == ("kw",)
    usage = acc.quota_usage()[0]
    assert usage == 2 * sum(m.size for m in src) + acc.message_meta("Inbox", [2])[0].size
    m = acc.move("Inbox", [2], "Trash")
    assert m.src_uids == (2,) and m.dst_uids == (1,)
    assert acc.expunged_since("Inbox", 0) == [2]
    assert acc.quota_usage()[0] == usage
    assert [u for u, _, _ in acc.uids_flags("Inbox")] == [1, 3]
    with pytest.raises(ValueError):
        acc.move("Inbox", [1], "Inbox")
    assert acc.copy("Inbox", [], "Archive").dst_uids == ()


def test_expunge_variants_and_tombstones(acc: Account) -> None:
    for i in range(4):
        acc.deliver("Inbox", make_msg(f"m{i}"))
    acc.set_flags("Inbox", [1, 2, 3], "add", ["\\Deleted"])
    ms = acc.highest_modseq()
    r = acc.expunge("Inbox", [2, 4])  # UID EXPUNGE: only \Deleted among the given
    assert r.uids == (2,)
    r = acc.expunge("Inbox")
    assert r.uids == (1, 3)
    assert acc.expunged_since("Inbox", ms) == [1, 2, 3]
    assert acc.expunged_since("Inbox", r.modseq) == []
    r = acc.expunge("Inbox", [4], only_deleted=False)
    assert r.uids == (4,)
    assert acc.expunge("Inbox").uids == ()
    st = acc.mailbox_status("Inbox")
    assert st.counts.total == 0 and st.uidnext == 5 and acc.quota_usage()[0] == 0
    with pytest.raises(MessageGone):
        acc.read(1)


def test_big_message_chunks_and_ranges(acc: Account) -> None:
    body = os.urandom(3 * CHUNK_SIZE + 1234).hex().encode()
    data = make_msg("big").replace(b"some body text", body)
    acc.deliver("Inbox", data)
    [m] = acc.message_meta("Inbox", [1])
    assert acc.read(m) == data
    for off, n in [
        (0, 10),
        (CHUNK_SIZE - 5, 10),
        (CHUNK_SIZE * 2 + 7, CHUNK_SIZE * 2),
        (len(data) - 3, 100),
        (len(data) + 5, 10),
    ]:
        assert acc.read_range(m, off, n) == data[off : off + n]
    f = acc.open_reader(m)
    assert f.read(7) == data[:7]
    f.seek(CHUNK_SIZE + 3)
    assert f.read(CHUNK_SIZE) == data[CHUNK_SIZE + 3 : 2 * CHUNK_SIZE + 3]
    f.seek(0)
    assert f.read() == data
    assert io.BytesIO(data).read(5) == acc.read_range(m, 0, 5)
    with pytest.raises(ValueError):
        acc.read_range(m, -1, 4)


def test_fts_search(acc: Account) -> None:
    acc.deliver("Inbox", make_msg("Quarterly report", "The zyxwvut numbers are fine"))
    acc.deliver("Inbox", make_msg("Lunch", "Shall we eat? Ünïcödé text here"))
    acc.copy("Inbox", [1], "Archive")
    assert acc.search_text("Inbox", "ZYXWVUT") == {1}
    assert acc.search_text("Inbox", "zyxw") == {1}  # the last word may be a prefix
    assert acc.search_text("Inbox", "wvut") == set()  # word search, not substring
    assert acc.search_text("Inbox", "quarterly") == {1}  # headers are indexed
    assert acc.search_text("Inbox", "unicode text") == {2}  # diacritics folded
    assert acc.search_text("Inbox", "ünïcödé") == {2}
    assert acc.search_text("Inbox", "text unicode") == set()  # phrase order
    assert acc.search_text("Archive", "zyxwvut") == {1}
    assert acc.search_text("Inbox", 'we "eat') == {2}  # quotes are not query syntax
    assert acc.search_text("Inbox", "?! ") is None
    acc.expunge("Inbox", [1], only_deleted=False)
    assert acc.search_text("Inbox", "zyxwvut") == set()
    assert acc.search_text("Archive", "zyxwvut") == {1}


def test_quota(tmp_path: object, store: Store) -> None:
    st = Store(store.data_dir, quota=lambda name: 300 if name == "small" else 0)
    try:
        a = st.account("small", create=True)
        sub = a.subscribe()
        a.deliver("Inbox", make_msg(body="x" * 100))
        sub.take()
        before = (a.mailbox_status("Inbox"), a.quota_usage(), a.highest_modseq())
        with pytest.raises(QuotaExceeded):
            a.deliver("Inbox", make_msg(body="y" * 200))
        with pytest.raises(QuotaExceeded):
            a.append("Inbox", [AppendItem(make_msg(body="z" * 100)), AppendItem(make_msg(body="w" * 100))])
        with pytest.raises(QuotaExceeded):
            a.copy("Inbox", [1], "Archive")
        assert (a.mailbox_status("Inbox"), a.quota_usage(), a.highest_modseq()) == before
        assert sub.take() == ([], False)
        assert a.search_text("Inbox", "yyyy") == set()
        assert a.quota_usage()[1] == 300
        assert a.verify() == []
        a.move("Inbox", [1], "Archive")  # moving takes no extra space
    finally:
        st.close()


def _masks(acc: Account, mid: int) -> tuple[object, ...]:
    sql = "SELECT remote_ip_masked1, remote_ip_masked2, remote_ip_masked3 FROM message WHERE id = ?"
    return tuple(acc._read(lambda c: c.execute(sql, (mid,)).fetchall())[0])


def test_delivery_facts(acc: Account) -> None:
    f = DeliveryFacts(
        remote_ip="192.0.2.77",
        ehlo_domain="mx.example.org",
        mail_from_domain="example.org",
        msg_from_domain="example.org",
        msg_from_validated=True,
        msg_from_validation="dmarc",
        dkim_domains=("example.org", "list.example"),
        mailbox_destined="Inbox",
        is_mailing_list=True,
    )
    d = acc.deliver("Junk", make_msg(), facts=f)
    got = acc.facts(d.id)
    assert got == f
    r = acc.copy("Junk", [d.uid], "Archive")
    [copied] = acc.message_meta("Archive", r.dst_uids)
    assert acc.facts(copied.id) == f
    row = _masks(acc, d.id)
    assert row == ("192.0.2.77", "192.0.2.64", "192.0.0.0")
    d6 = acc.deliver("Inbox", make_msg(), facts=DeliveryFacts(remote_ip="2001:db8:1:2:3::1"))
    row = _masks(acc, d6.id)
    assert row == ("2001:db8:1:2::", "2001:db8:1::", "2001:db8::")
    assert acc.facts(123456) is None


def test_annotations_and_settings(acc: Account) -> None:
    m1 = acc.set_annotation(None, "/private/Comment", b"hello")
    acc.set_annotation("Inbox", "/shared/comment", b"\x00bin", is_string=False)
    [a] = acc.annotations(None)
    assert (a.key, a.value, a.is_string, a.modseq, a.mailbox_id) == (
        "/private/comment",
        b"hello",
        True,
        m1,
        None,
    )
    [b] = acc.annotations("Inbox")
    assert b.value == b"\x00bin" and not b.is_string
    acc.set_annotation(None, "/private/comment", None)
    assert acc.annotations(None) == []
    from app.store import AnnotationLimit, StoreError

    with pytest.raises(StoreError):
        acc.set_annotation(None, "/other/x", b"")
    with pytest.raises(StoreError):
        acc.set_annotation(None, "/private/vendor/x", b"")
    with pytest.raises(AnnotationLimit):
        acc.set_annotation(None, "/private/big", b"x" * (1 << 20 + 1))
    acc.set_setting("theme", "dark")
    assert acc.setting("theme") == "dark"
    acc.set_setting("theme", None)
    assert acc.setting("theme") is None


def test_rejects_housekeeping(acc: Account) -> None:
    import time as _time

    now = _time.time()
    acc.deliver("Rejects", make_msg(msgid="Old@x"), received=now - 20 * 86400)
    for i in range(5):
        acc.deliver("Rejects", make_msg(msgid=f"r{i}@x"), received=now - 100 + i)
    r = acc.tidy_rejects("Rejects", max_messages=3)
    assert r.uids == (1, 2, 3)
    assert [m.message_id for m in acc.message_meta("Rejects", acc.uids("Rejects"))] == [
        "r2@x",
        "r3@x",
        "r4@x",
    ]
    assert acc.remove_by_message_id("Rejects", "<R3@x>").uids == (5,)
    assert acc.remove_by_message_id("Rejects", "<nope@x>").uids == ()
    assert acc.tidy_rejects("NoSuchMailbox").uids == ()
    assert acc.remove_by_message_id("NoSuchMailbox", "a@b").uids == ()


def test_list_messages_pages(acc: Account) -> None:
    for i in range(7):
        acc.deliver("Inbox", make_msg(f"p{i}"), received=1_700_000_000.0 + (i % 3))
    seen: list[int] = []
    before = None
    while True:
        page = acc.list_messages("Inbox", 3, before)
        if not page:
            break
        seen += [m.id for m in page]
        before = (page[-1].received, page[-1].id)
    metas = acc.message_meta("Inbox", acc.uids("Inbox"))
    want = [m.id for m in sorted(metas, key=lambda m: (m.received, m.id), reverse=True)]
    assert seen == want
