"""Deliveries queued together run as one batch in the writer: one transaction and one set of
counter and mailbox updates, each caller still getting its own result and its own changes. A
batch that fails (quota, a missing mailbox) is undone and its deliveries run one by one, so only
the failing ones fail. And the writer waits a moment for the writers of its last group before
starting the next, so concurrent producers share commits instead of alternating."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from pathlib import Path

import apsw

from app.store import Account, Store
from app.store.changes import ChangeAddUID, ChangeMailboxCounts
from app.store.errors import MailboxNotFound, QuotaExceeded
from app.store.model import DeliveredMessage, DeliveryFacts
from app.store.writer import Tx
from tests.store.conftest import make_msg

_DATA_ID = "SELECT data_id FROM message WHERE id = ?"


def _blocked(acc: Account) -> tuple[concurrent.futures.Future[bool], threading.Event]:
    """Keep the account's writer busy until the returned gate is set."""
    gate, started = threading.Event(), threading.Event()

    def op(c: apsw.Connection, tx: Tx) -> bool:
        started.set()
        return gate.wait(10)

    f = acc._writer.submit(op)
    assert started.wait(5)
    return f, gate


def _queued(acc: Account, calls: list[Callable[[], DeliveredMessage]]) -> list[object]:
    """Run ``calls`` (deliveries) from threads while the writer is blocked, so they are all
    queued before it takes them; return each result or exception, in call order."""
    blocker, gate = _blocked(acc)
    out: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            out[i] = calls[i]()
        except Exception as e:
            out[i] = e

    threads = []
    for i in range(len(calls)):
        t = threading.Thread(target=run, args=(i,))
        t.start()
        threads.append(t)
        # Start them one at a time so the queue order is the call order.
        deadline = time.monotonic() + 5
        while acc._writer._q.qsize() < i + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    commits = acc.commits
    gate.set()
    assert blocker.result(5)
    for t in threads:
        t.join(10)
    # The blocker's group, then the deliveries' group.
    assert acc.commits - commits == 2
    return out


def test_batch_one_transaction_own_results_and_changes(acc: Account) -> None:
    sub = acc.subscribe()
    facts = DeliveryFacts(remote_ip="192.0.2.7", ehlo_domain="mx.example.org")
    calls: list[Callable[[], DeliveredMessage]] = [
        (
            lambda i=i: acc.deliver(
                "Inbox", make_msg(subject=f"m{i}", msgid=f"m{i}@x"), facts=facts if i % 2 else None
            )
        )
        for i in range(6)
    ]
    res = _queued(acc, calls)
    assert all(isinstance(r, DeliveredMessage) for r in res), res
    got = [r for r in res if isinstance(r, DeliveredMessage)]
    assert [r.uid for r in got] == [1, 2, 3, 4, 5, 6]
    assert len({r.modseq for r in got}) == 1  # one operation, one modseq
    assert len({r.id for r in got}) == 6
    changes, overflow = sub.take()
    assert not overflow
    added = [c for c in changes if isinstance(c, ChangeAddUID)]
    assert [c.uid for c in added] == [1, 2, 3, 4, 5, 6]
    cnt = [c for c in changes if isinstance(c, ChangeMailboxCounts)]
    assert cnt and cnt[-1].total == 6
    st = acc.mailbox_status("Inbox")
    assert st.counts.total == 6 and st.uidnext == 7
    # Each message got its own delivery facts.
    rows = acc.run_read(lambda c: list(c.execute("SELECT uid, remote_ip FROM message ORDER BY uid")))
    assert rows == [(i + 1, "192.0.2.7" if i % 2 else "") for i in range(6)]
    for i, r in enumerate(got):
        [(data_id,)] = acc.run_read(lambda c, mid=r.id: list(c.execute(_DATA_ID, (mid,))))
        assert acc.read(data_id) == make_msg(subject=f"m{i}", msgid=f"m{i}@x")


def test_batch_over_quota_only_the_excess_fails(tmp_path: Path) -> None:
    one = len(make_msg(subject="q0", body="x" * 200))
    st = Store(tmp_path / "data", quota=lambda name: int(one * 2.5))
    try:
        acc = st.account("small", create=True)
        sub = acc.subscribe()
        calls: list[Callable[[], DeliveredMessage]] = [
            (lambda i=i: acc.deliver("Inbox", make_msg(subject=f"q{i}", body="x" * 200))) for i in range(4)
        ]
        res = _queued(acc, calls)
        assert isinstance(res[0], DeliveredMessage) and isinstance(res[1], DeliveredMessage)
        assert isinstance(res[2], QuotaExceeded) and isinstance(res[3], QuotaExceeded)
        changes, _ = sub.take()
        assert [c.uid for c in changes if isinstance(c, ChangeAddUID)] == [1, 2]
        assert acc.mailbox_status("Inbox").counts.total == 2
        assert acc.quota_usage()[0] == 2 * one
        assert acc.search_text("Inbox", "q2") == set()
        assert acc.verify() == []
    finally:
        st.close()


def test_batch_missing_mailbox_fails_alone(acc: Account) -> None:
    inbox = acc.mailbox_status("Inbox").id
    calls: list[Callable[[], DeliveredMessage]] = [
        (lambda: acc.deliver(inbox, make_msg(subject="a"))),
        (lambda: acc.deliver(inbox, make_msg(subject="b"))),
        (lambda: acc.deliver(99999, make_msg(subject="lost"))),
        (lambda: acc.deliver(99999, make_msg(subject="lost2"))),
        (lambda: acc.deliver("New/Box", make_msg(subject="c"))),
        (lambda: acc.deliver("New/Box", make_msg(subject="d"))),
    ]
    res = _queued(acc, calls)
    assert [type(r).__name__ for r in res] == [
        "DeliveredMessage",
        "DeliveredMessage",
        "MailboxNotFound",
        "MailboxNotFound",
        "DeliveredMessage",
        "DeliveredMessage",
    ]
    assert isinstance(res[2], MailboxNotFound)
    assert acc.mailbox_status("Inbox").counts.total == 2
    assert acc.mailbox_status("New/Box").counts.total == 2
    assert acc.uids("New/Box") == [1, 2]


def test_writer_gathers_returning_writers(store: Store) -> None:
    """Eight producers delivering in a loop share commits: far fewer commits than deliveries."""
    acc = store.account("gather", create=True)
    n, producers = 160, 8

    def work(k: int) -> None:
        for i in range(k, n, producers):
            acc.deliver("Inbox", make_msg(subject=f"g{i}"))

    c0 = acc.commits
    ts = [threading.Thread(target=work, args=(k,)) for k in range(producers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert acc.mailbox_status("Inbox").counts.total == n
    assert acc.commits - c0 < n // 2


def test_gather_waits_only_with_concurrency(acc: Account) -> None:
    """After a group of one nothing is waited for; after a bigger group queued writes are taken,
    and an empty queue ends the wait after one gap."""
    w = acc._writer
    blocker, gate = _blocked(acc)  # the writer thread is not reading its queue meanwhile
    try:
        f = w.submit(lambda c, tx: 1)
        jobs: list = []
        assert w._gather(jobs, 1) and jobs == [] and w._q.qsize() == 1
        assert w._gather(jobs, 3) and len(jobs) == 1 and w._q.qsize() == 0
        t0 = time.monotonic()
        assert w._gather(jobs, 3) and len(jobs) == 1
        assert time.monotonic() - t0 < 1  # one gap, not a hang
        w._q.put(jobs.pop())  # give the job back to the writer
    finally:
        gate.set()
    assert blocker.result(5) and f.result(5) == 1
