"""localserve: the queue never connects out; submitted mail comes back into the local account
through the real store, and the special localparts produce failures and DSNs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.queue import Filter
from tests.queue.test_two_servers import submit, wait_messages
from tests.smtpserver.server import Server, start


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    s = start(tmp_path / "ls", localserve=True)
    s.queue.deps.store = s.store
    s.call(s.queue.start())
    try:
        yield s
    finally:
        s.call(s.queue.stop())
        s.stop()


def test_localserve_queue_delivers_locally(srv: Server) -> None:
    submit(srv, "mox@localhost", ["someone@remote.example", "mox+tag@localhost"], "looped back")
    got = wait_messages(srv, "mox", 2)
    assert all(b"Subject: looped back" in m for m in got)
    # The SMTP server refuses special localparts at submission already; other ways into the
    # queue (webmail, webapi) meet them at local delivery.
    msg = b"From: mox@localhost\r\nSubject: fails\r\n\r\nx\r\n"
    srv.queue.add("mox", "mox@localhost", ["user550@remote.example", "laterpermerror@remote.example"], msg)
    got = wait_messages(srv, "mox", 3)
    dsn = got[2]
    assert b"multipart/report" in dsn
    assert b"Final-Recipient: rfc822; user550@remote.example" in dsn
    assert b"Final-Recipient: rfc822; laterpermerror@remote.example" in dsn
    srv.queue.add("mox", "mox@localhost", ["xtemperror@remote.example"], msg)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        msgs = srv.queue.list_msgs(Filter())
        if msgs and msgs[0].results:
            break
        time.sleep(0.05)
    m = srv.queue.list_msgs(Filter())[0]
    assert m.recipient == "xtemperror@remote.example" and m.results[-1].code == 451
