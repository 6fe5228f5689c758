"""Change broadcast: typed changes after commit, origin exclusion, thread-safety with concurrent
producers, asyncio wake-up through call_soon_threadsafe, bounded queues with overflow."""

from __future__ import annotations

import asyncio
import threading

from app.store import (
    Account,
    ChangeAddUID,
    ChangeAnnotation,
    ChangeFlags,
    ChangeMailboxCounts,
    ChangeMailboxKeywords,
    ChangeMailboxRemove,
    ChangeMailboxSpecialUse,
    ChangeRemoveUIDs,
    ChangeSubscription,
    readpool,
)
from tests.store.conftest import make_msg


def test_change_types(acc: Account) -> None:
    sub = acc.subscribe()
    d = acc.deliver("Inbox", make_msg(), ["kw"])
    changes, over = sub.take()
    assert not over
    add = [c for c in changes if isinstance(c, ChangeAddUID)]
    assert add == [ChangeAddUID(d.mailbox_id, 1, d.modseq, frozenset({"kw"}), d.id, d.thread_id)]
    assert any(isinstance(c, ChangeMailboxKeywords) and c.keywords == ("kw",) for c in changes)
    counts = [c for c in changes if isinstance(c, ChangeMailboxCounts)]
    assert counts[-1].total == 1 and counts[-1].unread == 1
    acc.set_flags("Inbox", [1], "add", ["\\Seen"])
    changes, _ = sub.take()
    assert isinstance(changes[0], ChangeFlags) and changes[0].flags == {"\\Seen", "kw"}
    assert isinstance(changes[1], ChangeMailboxCounts) and changes[1].unread == 0
    acc.expunge("Inbox", [1], only_deleted=False)
    changes, _ = sub.take()
    assert isinstance(changes[0], ChangeRemoveUIDs) and changes[0].uids == (1,)
    acc.create_mailbox("tmp")
    acc.set_special_use("tmp", "\\Archive")
    acc.set_annotation("tmp", "/private/x", b"1")
    acc.set_subscribed("tmp", False)
    acc.delete_mailbox("tmp")
    kinds = [type(c) for c in sub.take()[0]]
    for k in (ChangeMailboxSpecialUse, ChangeAnnotation, ChangeSubscription, ChangeMailboxRemove):
        assert k in kinds
    sub.close()
    acc.deliver("Inbox", make_msg())
    assert sub.take() == ([], False)


def test_failed_write_publishes_nothing(acc: Account) -> None:
    sub = acc.subscribe()
    try:
        acc.create_mailbox("Inbox")
    except Exception:
        pass
    assert sub.take() == ([], False)


def test_origin_excluded(acc: Account) -> None:
    mine = acc.subscribe()
    other = acc.subscribe()
    acc.deliver("Inbox", make_msg(), origin=mine)
    assert mine.take() == ([], False)
    assert other.take()[0]


def test_visible_to_readers_when_published(acc: Account) -> None:
    seen: list[bool] = []
    sub_holder: list[object] = []

    def notify() -> None:
        # Runs on the writer thread after commit: the change must already be readable.
        s = sub_holder[0]
        for c in s.take()[0]:  # type: ignore[attr-defined]
            if isinstance(c, ChangeAddUID):
                seen.append(bool(acc.message_meta(c.mailbox_id, [c.uid])))

    sub = acc.subscribe(notify)
    sub_holder.append(sub)
    for _ in range(5):
        acc.deliver("Inbox", make_msg())
    assert seen == [True] * 5


def test_concurrent_producers_group_commit(acc: Account) -> None:
    sub = acc.subscribe()
    n_threads, per = 8, 25
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per):
                acc.deliver("Inbox", make_msg(f"t{t} m{i}"))
        except BaseException as e:
            errors.append(e)

    commits0 = acc.commits
    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    total = n_threads * per
    st = acc.mailbox_status("Inbox")
    assert st.counts.total == total and st.uidnext == total + 1
    changes, over = sub.take()
    assert not over
    uids = [c.uid for c in changes if isinstance(c, ChangeAddUID)]
    assert sorted(uids) == list(range(1, total + 1))
    assert acc.commits - commits0 <= total


def test_overflow_bounded(acc: Account) -> None:
    sub = acc.subscribe(limit=5)
    for _ in range(4):
        acc.deliver("Inbox", make_msg())
    changes, over = sub.take()
    assert over and changes == []
    acc.set_flags("Inbox", [1], "add", ["\\Flagged"])
    changes, over = sub.take()
    assert not over and len(changes) == 1
    assert not sub.has_pending()


def test_thread_wait(acc: Account) -> None:
    sub = acc.subscribe()
    assert not sub.wait(0.01)
    t = threading.Thread(target=lambda: acc.deliver("Inbox", make_msg()))
    t.start()
    assert sub.wait(30)
    t.join()
    assert sub.take()[0]


def test_asyncio_wakeup(acc: Account) -> None:
    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        ev = asyncio.Event()
        woke_on: list[object] = []

        def notify() -> None:
            woke_on.append(threading.current_thread())
            ev.set()

        sub = acc.subscribe(notify, loop)
        fut = loop.run_in_executor(None, acc.deliver, "Inbox", make_msg())
        await asyncio.wait_for(ev.wait(), 30)
        await fut
        changes, _ = sub.take()
        assert any(isinstance(c, ChangeAddUID) for c in changes)
        sub.close()
        return woke_on

    woke_on = asyncio.run(main())
    assert woke_on and woke_on[0] is threading.main_thread()


def test_closed_loop_drops_subscriber(acc: Account) -> None:
    loop = asyncio.new_event_loop()
    sub = acc.subscribe(lambda: None, loop)
    loop.close()
    acc.deliver("Inbox", make_msg())
    assert sub.closed
    acc.deliver("Inbox", make_msg())


def test_concurrent_readers_bounded_connections(acc: Account) -> None:
    acc.deliver("Inbox", make_msg(body="read me"))
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            for _ in range(30):
                meta = acc.message_meta("Inbox", [1])[0]
                assert acc.read(meta).endswith(b"read me\r\n")
                f = acc.open_reader(meta)
                f.seek(-9, 2)
                assert f.read() == b"read me\r\n"
        except BaseException as e:
            errors.append(e)

    def writer() -> None:
        while not stop.is_set():
            acc.set_flags("Inbox", [1], "add", ["\\Seen"])
            acc.set_flags("Inbox", [1], "remove", ["\\Seen"])

    wt = threading.Thread(target=writer)
    wt.start()
    ths = [threading.Thread(target=reader) for _ in range(12)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    stop.set()
    wt.join()
    assert not errors
    assert len(acc._pool._idle) <= readpool.MAX_IDLE
