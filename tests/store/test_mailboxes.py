"""Mailbox operations: initial mailboxes, create with parents, rename (children, Inbox rule),
delete, subscriptions, special-use, name rules."""

from __future__ import annotations

import pytest

from app.store import (
    Account,
    ChangeMailboxAdd,
    ChangeMailboxRename,
    InitialMailboxes,
    InvalidMailboxName,
    MailboxExists,
    MailboxNotEmpty,
    MailboxNotFound,
    Store,
    StoreError,
)
from tests.store.conftest import make_msg


def names(acc: Account) -> list[str]:
    return [m.name for m in acc.list_mailboxes()]


def test_initial_mailboxes(acc: Account) -> None:
    assert names(acc) == ["Archive", "Drafts", "Inbox", "Junk", "Sent", "Trash"]
    uses = {m.name: m.special_use for m in acc.list_mailboxes()}
    assert uses["Sent"] == "\\Sent" and uses["Drafts"] == "\\Drafts" and uses["Inbox"] == ""
    assert all(m.subscribed for m in acc.list_mailboxes())
    uvs = [m.uidvalidity for m in acc.list_mailboxes()]
    assert len(set(uvs)) == len(uvs)


def test_initial_mailboxes_from_config(store: Store, tmp_path: object) -> None:
    class SU:
        Sent = "Sent Items"
        Archive = ""
        Trash = "Deleted"
        Draft = ""
        Junk = ""

    class Cfg:
        SpecialUse = SU()
        Regular = ["Lists/dev"]

    st = Store(store.data_dir, InitialMailboxes.from_config(Cfg()))
    try:
        a = st.account("other", create=True)
        assert names(a) == ["Deleted", "Inbox", "Lists", "Lists/dev", "Sent Items"]
        assert a.mailbox("Sent Items").special_use == "\\Sent"
        assert a.verify() == []
    finally:
        st.close()


def test_create_with_parents_and_inbox_case(acc: Account) -> None:
    sub = acc.subscribe()
    mb = acc.create_mailbox("a/b/c")
    assert mb.name == "a/b/c" and mb.subscribed
    assert acc.mailbox("a/b").id == mb.parent_id
    assert acc.mailbox("a").parent_id is None
    changes, over = sub.take()
    assert not over
    assert [c.name for c in changes if isinstance(c, ChangeMailboxAdd)] == ["a", "a/b", "a/b/c"]
    child = acc.create_mailbox("inbox/sub")
    assert child.name == "Inbox/sub"
    assert acc.mailbox("INBOX").name == "Inbox"
    with pytest.raises(MailboxExists):
        acc.create_mailbox("A/B/C".lower())
    with pytest.raises(MailboxExists):
        acc.create_mailbox("INBOX")


@pytest.mark.parametrize("bad", ["", "/a", "a/", "a//b", "a\x01b", "a*", "a%b", " a", "x" * 1001])
def test_invalid_names(acc: Account, bad: str) -> None:
    with pytest.raises(InvalidMailboxName):
        acc.create_mailbox(bad)


def test_rename_moves_children(acc: Account) -> None:
    acc.create_mailbox("a/b/c")
    acc.deliver("a/b", make_msg())
    sub = acc.subscribe()
    a = acc.mailbox("a")
    r = acc.rename_mailbox("a", "x/y")
    assert r.id == a.id and r.name == "x/y" and r.uidvalidity == a.uidvalidity
    assert "a" not in names(acc) and {"x", "x/y", "x/y/b", "x/y/b/c"} <= set(names(acc))
    assert acc.mailbox("x/y/b").counts.total == 1
    assert acc.mailbox("x/y").parent_id == acc.mailbox("x").id
    changes, _ = sub.take()
    renames = {(c.old_name, c.new_name) for c in changes if isinstance(c, ChangeMailboxRename)}
    assert renames == {("a", "x/y"), ("a/b", "x/y/b"), ("a/b/c", "x/y/b/c")}
    assert "x/y/b" in acc.subscriptions() and "a/b" not in acc.subscriptions()


def test_rename_errors(acc: Account) -> None:
    acc.create_mailbox("a/b")
    with pytest.raises(MailboxExists):
        acc.rename_mailbox("a", "Sent")
    with pytest.raises(InvalidMailboxName):
        acc.rename_mailbox("a", "a/b/c")
    with pytest.raises(MailboxNotFound):
        acc.rename_mailbox("nope", "x")


def test_rename_inbox_moves_messages(acc: Account) -> None:
    for i in range(3):
        acc.deliver("Inbox", make_msg(f"m{i}"), ["\\Seen"] if i == 0 else [])
    inbox = acc.mailbox("Inbox")
    new = acc.rename_mailbox("INBOX", "Old Inbox")
    assert new.name == "Old Inbox" and new.counts.total == 3 and new.counts.unread == 2
    after = acc.mailbox("Inbox")
    assert after.id == inbox.id and after.counts.total == 0 and after.uidvalidity == inbox.uidvalidity
    assert acc.expunged_since("Inbox", 0) == [1, 2, 3]
    assert [u for u, _, _ in acc.uids_flags("Old Inbox")] == [1, 2, 3]


def test_delete(acc: Account) -> None:
    acc.create_mailbox("a/b")
    acc.deliver("a/b", make_msg())
    acc.set_annotation("a/b", "/private/comment", b"x")
    with pytest.raises(MailboxNotEmpty):
        acc.delete_mailbox("a")
    with pytest.raises(StoreError):
        acc.delete_mailbox("Inbox")
    used = acc.quota_usage()[0]
    assert used > 0
    acc.delete_mailbox("a/b")
    acc.delete_mailbox("a")
    assert "a/b" not in names(acc)
    assert acc.quota_usage()[0] == 0
    with pytest.raises(MailboxNotFound):
        acc.mailbox("a/b")
    # A new mailbox of the same name has a different UIDVALIDITY.
    assert acc.create_mailbox("a").uidvalidity > 0


def test_copy_shared_bytes_survive_delete(acc: Account) -> None:
    acc.create_mailbox("x")
    acc.deliver("x", make_msg(body="shared bytes"))
    acc.copy("x", [1], "Archive")
    acc.delete_mailbox("x")
    meta = acc.message_meta("Archive", [1])[0]
    assert b"shared bytes" in acc.read(meta)


def test_subscriptions_and_special_use(acc: Account) -> None:
    acc.set_subscribed("nonexistent/box", True)
    assert "nonexistent/box" in acc.subscriptions()
    acc.set_subscribed("Sent", False)
    assert not acc.mailbox("Sent").subscribed
    acc.create_mailbox("Old Sent")
    mb = acc.set_special_use("Old Sent", "\\sent")
    assert mb.special_use == "\\Sent"
    assert acc.mailbox("Sent").special_use == ""
    with pytest.raises(StoreError):
        acc.set_special_use("Old Sent", "\\Bogus")
    assert acc.set_special_use("Old Sent", "").special_use == ""
