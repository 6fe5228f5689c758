"""The SMTP server inside the composed server (tests/harness.py, localserve mode): submission
goes through the queue and comes back into the local account; port 25 delivers directly."""

from __future__ import annotations

import smtplib
import time

from tests.harness import RunningServer

MSG = b"From: mox@localhost\r\nTo: mox@localhost\r\nSubject: composed\r\n\r\nhello from the harness\r\n"


def _inbox(mox: RunningServer) -> list[bytes]:
    acc = mox.store.account("mox")
    uids = acc.uids("Inbox")
    return [acc.read(m) for m in acc.message_meta("Inbox", uids)]


def test_submission_and_delivery_in_composed_server(mox: RunningServer) -> None:
    with smtplib.SMTP("127.0.0.1", mox.ports["Submission"], timeout=10) as c:
        c.starttls(context=mox.client_tls_context())
        c.login("mox@localhost", "moxmoxmox")
        c.sendmail("mox@localhost", ["mox@localhost"], MSG)
    with smtplib.SMTP("127.0.0.1", mox.ports["SMTP"], timeout=10) as c:
        c.sendmail("other@example.com", ["whoever@elsewhere.example"], MSG.replace(b"composed", b"direct"))
    deadline = time.time() + 20
    msgs: list[bytes] = []
    while time.time() < deadline:
        msgs = _inbox(mox)
        if len(msgs) >= 2:
            break
        time.sleep(0.1)
    assert any(m.endswith(MSG) and b"DKIM-Signature:" in m for m in msgs), msgs
    assert any(b"Subject: direct" in m and b"Delivered-To: whoever@elsewhere.example" in m for m in msgs)
