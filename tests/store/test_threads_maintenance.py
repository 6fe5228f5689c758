"""Threading at delivery, mute/collapse, and the repair operations (counts, uidvalidity, uids,
uid meta, threads) with verify() detecting damage."""

from __future__ import annotations

import time

from app.store import Account, ChangeFlags, ChangeThread, DeliveryFacts
from tests.store.conftest import make_msg


def test_threads_by_references_and_subject(acc: Account) -> None:
    now = time.time()
    a = acc.deliver("Inbox", make_msg("Plans", msgid="a@x"), received=now)
    b = acc.deliver(
        "Inbox", make_msg("Re: Plans", msgid="b@x", extra="In-Reply-To: <A@x>\r\n"), received=now + 1
    )
    c = acc.deliver(
        "Inbox", make_msg("Re: Plans", msgid="c@x", extra="References: <a@x> <b@x>\r\n"), received=now + 2
    )
    # References an unknown newest id: still joins b's thread, with a missing link.
    d = acc.deliver(
        "Inbox", make_msg("x", msgid="d@x", extra="References: <b@x> <zz@x>\r\n"), received=now + 3
    )
    # No references, reply subject: joins by base subject.
    e = acc.deliver("Sent", make_msg("RE: [list] plans", msgid="e@x"), received=now + 4)
    # Not a reply: new thread even though the base subject matches.
    f = acc.deliver("Inbox", make_msg("Plans", msgid="f@x"), received=now + 5)
    # DSNs are not threaded by subject.
    g = acc.deliver("Inbox", make_msg("Re: Plans"), received=now + 6, facts=DeliveryFacts(is_dsn=True))
    # Old messages are outside the subject window.
    h = acc.deliver("Inbox", make_msg("Re: Unrelated"), received=now)
    i = acc.deliver("Inbox", make_msg("Re: Unrelated"), received=now + 40 * 86400)
    assert a.thread_id == a.id
    assert b.thread_id == c.thread_id == d.thread_id == e.thread_id == a.id
    assert f.thread_id == f.id and g.thread_id == g.id and i.thread_id == i.id and h.thread_id == h.id
    meta = {m.id: m for m in acc.thread_messages(a.id)}
    assert meta[b.id].thread_parent_ids == (a.id,) and not meta[b.id].thread_missing_link
    assert meta[c.id].thread_parent_ids == (b.id, a.id)
    assert meta[d.id].thread_missing_link and meta[d.id].thread_parent_ids == (b.id, a.id)
    assert meta[e.id].thread_missing_link


def test_mute_collapse(acc: Account) -> None:
    a = acc.deliver("Inbox", make_msg("T", msgid="t1@x"))
    b = acc.deliver("Inbox", make_msg("Re: T", msgid="t2@x", extra="In-Reply-To: <t1@x>\r\n"))
    sub = acc.subscribe()
    acc.set_thread([b.id], muted=True)
    changes, _ = sub.take()
    assert any(isinstance(c, ChangeThread) and c.muted for c in changes)
    assert {c.uid for c in changes if isinstance(c, ChangeFlags)} == {1, 2}
    assert acc.mailbox("Inbox").counts.unread == 0
    # New replies in a muted thread arrive muted and read.
    c = acc.deliver("Inbox", make_msg("Re: T", extra="In-Reply-To: <t2@x>\r\n"))
    [m] = acc.message_meta("Inbox", [c.uid])
    assert m.thread_muted and "\\Seen" in m.flags and m.thread_id == a.id
    acc.set_thread([a.id], muted=False, collapsed=True)
    assert all(x.thread_collapsed and not x.thread_muted for x in acc.thread_messages(a.id))
    assert acc.set_thread([99999], muted=True) == 0


def _corrupt(acc: Account, sql: str) -> None:
    acc._write(lambda conn, tx: conn.execute(sql))


def test_verify_detects_and_repairs_counts(acc: Account) -> None:
    acc.deliver("Inbox", make_msg(), ["kw"])
    assert acc.verify() == []
    _corrupt(acc, "UPDATE mailbox SET total = 7, unread = 3, keywords = '' WHERE name = 'Inbox'")
    _corrupt(acc, "UPDATE syncstate SET disk_usage = 1")
    problems = acc.verify()
    assert any("counts" in p for p in problems) and any("disk usage" in p for p in problems)
    assert any("keywords" in p for p in problems)
    assert acc.recalculate_counts() == 1
    assert acc.verify() == []


def test_verify_detects_missing_chunk_and_uid_problems(acc: Account) -> None:
    acc.deliver("Inbox", make_msg())
    _corrupt(acc, "DELETE FROM chunk")
    assert any("chunks incomplete" in p for p in acc.verify())
    _corrupt(acc, "INSERT INTO chunk(data_id, seq, data) SELECT id, 0, zeroblob(size) FROM msgdata")
    assert acc.verify() == []
    _corrupt(acc, "UPDATE mailbox SET uidnext = 1 WHERE name = 'Inbox'")
    _corrupt(acc, "UPDATE syncstate SET next_uidvalidity = 1")
    problems = acc.verify()
    assert any("uidnext" in p for p in problems) and any("next uidvalidity" in p for p in problems)
    assert acc.fix_uid_meta() == 2
    assert acc.verify() == []
    _corrupt(acc, "DELETE FROM fts")
    assert any("full-text" in p for p in acc.verify())
    _corrupt(acc, "INSERT INTO fts(rowid, text) SELECT id, '' FROM msgdata")


def test_bump_uidvalidity_and_reassign_uids(acc: Account) -> None:
    for i in range(4):
        acc.deliver("Inbox", make_msg(f"m{i}"))
    acc.expunge("Inbox", [1, 3], only_deleted=False)
    uv = acc.mailbox("Inbox").uidvalidity
    assert acc.bump_uidvalidity("Inbox") == 1
    uv2 = acc.mailbox("Inbox").uidvalidity
    assert uv2 > uv
    assert acc.reassign_uids("Inbox") == 2
    mb = acc.mailbox("Inbox")
    assert [u for u, _, _ in acc.uids_flags("Inbox")] == [1, 2] and mb.uidnext == 3 and mb.uidvalidity > uv2
    assert acc.expunged_since("Inbox", 0) == []
    assert acc.bump_uidvalidity() == len(acc.list_mailboxes())


def test_reassign_threads(acc: Account) -> None:
    a = acc.deliver("Inbox", make_msg("Topic", msgid="p@x"))
    b = acc.deliver("Inbox", make_msg("Re: Topic", msgid="q@x", extra="In-Reply-To: <p@x>\r\n"))
    _corrupt(acc, "UPDATE message SET thread_id = id, thread_parent_ids = ''")
    assert acc.reassign_threads() == 2
    [mb] = acc.message_meta("Inbox", [b.uid])
    assert mb.thread_id == a.id and mb.thread_parent_ids == (a.id,)


def test_verify_detects_duplicate_special_use(acc: Account) -> None:
    _corrupt(acc, "UPDATE mailbox SET special_use = '\\Sent' WHERE name = 'Archive'")
    assert any("special-use" in p for p in acc.verify())
    _corrupt(acc, "UPDATE mailbox SET special_use = '\\Archive' WHERE name = 'Archive'")
