"""Edge cases across operations: CONDSTORE bookkeeping through moves, shared bytes, readers of
expunged messages, asyncio callers through the runtime pool, flag and name normalization."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.runtime import run_blocking
from app.store import Account, InvalidFlag, MessageGone
from app.store.mailboxes import normalize_name
from app.store.model import normalize_flags
from tests.store.conftest import make_msg


def test_changed_since_and_vanished_through_moves(acc: Account) -> None:
    for i in range(3):
        acc.deliver("Inbox", make_msg(f"m{i}"))
    mark = acc.highest_modseq()
    acc.set_flags("Inbox", [1], "add", ["\\Answered"])
    acc.move("Inbox", [2], "Archive")
    assert [u for u, _, _ in acc.changed_since("Inbox", mark)] == [1]
    assert acc.expunged_since("Inbox", mark) == [2]
    [(uid, modseq, flags)] = acc.changed_since("Archive", mark)
    assert uid == 1 and modseq > mark and flags == frozenset()
    st_ = acc.mailbox_status("Inbox")
    assert st_.highest_modseq == acc.highest_modseq() and st_.counts.total == 2


def test_reader_of_expunged_message(acc: Account) -> None:
    acc.deliver("Inbox", make_msg(body="x" * 1000))
    [meta] = acc.message_meta("Inbox", [1])
    f = acc.open_reader(meta)
    assert f.read(4) == b"From"
    acc.expunge("Inbox", [1], only_deleted=False)
    with pytest.raises(MessageGone):
        acc.open_reader(meta)
    with pytest.raises(MessageGone):
        acc.parsed(meta)
    with pytest.raises(MessageGone):
        acc.read_range(meta, 0, 10)
    assert acc.message_by_id(meta.id) is None


def test_expunge_original_keeps_copy_bytes(acc: Account) -> None:
    acc.deliver("Inbox", make_msg(body="keep these bytes"))
    acc.copy("Inbox", [1], "Archive")
    acc.expunge("Inbox", [1], only_deleted=False)
    [meta] = acc.message_meta("Archive", [1])
    assert acc.read(meta).endswith(b"keep these bytes\r\n")
    assert acc.search_text("Archive", "keep these") == {1}
    acc.expunge("Archive", [1], only_deleted=False)
    assert acc.verify() == []


def test_create_with_special_use_and_set_flags_on_empty(acc: Account) -> None:
    mb = acc.create_mailbox("Spam", special_use="\\Junk")
    assert mb.special_use == "\\Junk" and acc.mailbox("Junk").special_use == ""
    assert acc.set_flags("Spam", [], "add", ["\\Seen"]).changed == ()
    assert acc.expunge("Spam").uids == ()


def test_asyncio_callers_through_runtime_pool(acc: Account) -> None:
    async def main() -> list[int]:
        results = await asyncio.gather(
            *(run_blocking(acc.deliver, "Inbox", make_msg(f"a{i}")) for i in range(30))
        )
        return sorted(d.uid for d in results)

    assert asyncio.run(main()) == list(range(1, 31))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\\Seen", "\\SEEN", "\\answered", "$junk", "$MDNSent", "Foo", "foo", "$label1"])
    )
)
def test_normalize_flags_canonical(flags: list[str]) -> None:
    fs = normalize_flags(flags).names()
    assert all(f in {"\\Seen", "\\Answered", "$Junk", "$MDNSent", "foo", "$label1"} for f in fs)
    assert normalize_flags(fs).names() == fs


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=3))
def test_normalize_flags_never_crashes(s: str) -> None:
    try:
        normalize_flags([s])
    except InvalidFlag:
        pass


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=30))
def test_normalize_name_idempotent(s: str) -> None:
    try:
        n = normalize_name(s)
    except Exception as e:
        assert type(e).__name__ == "InvalidMailboxName"
        return
    assert normalize_name(n) == n
    assert not n.startswith("/") and "//" not in n
