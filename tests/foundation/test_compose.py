"""The composed server end to end (the code path of serve/localserve, through the harness):
SMTP delivery, submission through the queue back into the account, IMAP reading, and the
CLI talking to the running server over the control socket.
"""

from __future__ import annotations

import imaplib
import smtplib
import subprocess
import sys
import time

from app import localserve as ls
from tests.conftest import ROOT
from tests.harness import LOCALHOST, RunningServer, run_transcript

MSG = (
    b"From: alice@localhost\r\nTo: bob@example.com\r\nSubject: composed\r\n"
    b"Message-ID: <composed-1@localhost>\r\nDate: Sun, 22 Nov 2026 05:00:00 +0000\r\n\r\nhello there\r\n"
)


def _imap(mox: RunningServer) -> imaplib.IMAP4_SSL:
    m = imaplib.IMAP4_SSL(LOCALHOST, mox.ports["IMAPS"], ssl_context=mox.client_tls_context())
    m.login(ls.ADDRESS, ls.PASSWORD)
    return m


def _wait_count(mox: RunningServer, n: int, timeout: float = 15) -> imaplib.IMAP4_SSL:
    end = time.time() + timeout
    while True:
        m = _imap(mox)
        _, data = m.select("INBOX")
        if int(data[0] or 0) >= n or time.time() > end:
            return m
        m.logout()
        time.sleep(0.2)


def test_smtp_delivery_is_readable_over_imap_byte_identical_body(mox: RunningServer) -> None:
    with smtplib.SMTP(LOCALHOST, mox.ports["SMTP"], timeout=10) as s:
        # localserve accepts senders of any domain, also ones its DNS does not know
        assert s.sendmail("alice@example.org", ["bob@example.com"], MSG) == {}
    m = _wait_count(mox, 1)
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK"
    raw = data[0][1]
    assert isinstance(raw, bytes)
    assert raw.endswith(MSG)  # only headers were prepended (Received, Authentication-Results, ...)
    m.logout()


def test_submission_goes_through_queue_to_local_account(mox: RunningServer) -> None:
    with smtplib.SMTP_SSL(
        LOCALHOST, mox.ports["Submissions"], context=mox.client_tls_context(), timeout=10
    ) as s:
        s.login(ls.ADDRESS, ls.PASSWORD)
        msg = b"From: mox@localhost\r\nTo: x@example.com\r\nSubject: submitted\r\n\r\nbody\r\n"
        assert s.sendmail(ls.ADDRESS, ["x@example.com"], msg) == {}
    m = _wait_count(mox, 1)
    _, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT DKIM-SIGNATURE)])")
    text = b"".join(p[1] for p in data if isinstance(p, tuple))
    assert b"Subject: submitted" in text
    assert b"DKIM-Signature:" in text  # signed with the localserve selector
    m.logout()


def test_wrong_password_refused(mox: RunningServer) -> None:
    m = imaplib.IMAP4_SSL(LOCALHOST, mox.ports["IMAPS"], ssl_context=mox.client_tls_context())
    try:
        m.login(ls.ADDRESS, "wrong")
        raise AssertionError("login with a wrong password succeeded")
    except imaplib.IMAP4.error:
        pass
    finally:
        m.shutdown()


def test_smtp_greeting_transcript(mox: RunningServer) -> None:
    import socket

    with socket.create_connection((LOCALHOST, mox.ports["SMTP"]), 10) as sock:
        t = run_transcript(
            sock,
            """
            S: 220 localhost ESMTP *
            C: EHLO client.example
            S: 250-localhost
            S: 250-PIPELINING
            S: 250-SIZE *
            S: 250-STARTTLS
            S: 250-ENHANCEDSTATUSCODES
            S: 250-8BITMIME
            S: 250-LIMITS RCPTMAX=1000
            S: 250-CHUNKING
            S: 250-DSN
            S: 250 SMTPUTF8
            C: QUIT
            S: 221 *
            """,
            chunk=3,
        )
        assert t.closed()


def test_cli_over_control_socket(mox: RunningServer) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(mox.config_path), "queue", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(mox.config_path), "config", "account", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "mox" in r.stdout.split()
