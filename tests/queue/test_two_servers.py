"""Two servers (SMTP server + store + queue each, as composed for the SMTP server's tests) on
127.0.0.1 exchange mail in both directions: submission at one, queue delivery through MX
records of a MockResolver to the other, delivery into the other's account; an unknown recipient
at the other side produces a DSN in the sender's Inbox."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.dns import MockResolver
from tests.smtpserver.server import PASSWORD, Server, start

ZONE = """
a.example. MX 10 mx.a.example.
mx.a.example. A 127.0.0.1
a.example. TXT "v=spf1 ip4:127.0.0.1 -all"
b.example. MX 10 mx.b.example.
mx.b.example. A 127.0.0.1
b.example. TXT "v=spf1 ip4:127.0.0.1 -all"
"""


def domains(domain: str, account: str) -> str:
    return (
        "Domains:\n"
        "\tlocalhost:\n"
        "\t\tLocalpartCatchallSeparator: +\n"
        f"\t{domain}:\n"
        "\t\tLocalpartCatchallSeparator: +\n"
        "Accounts:\n"
        "\tmox:\n"
        "\t\tDomain: localhost\n"
        "\t\tDestinations:\n"
        "\t\t\tmox@localhost: nil\n"
        f"\t{account}:\n"
        f"\t\tDomain: {domain}\n"
        "\t\tKeepRetiredMessagePeriod: 24h\n"
        "\t\tDestinations:\n"
        f"\t\t\t{account}@{domain}: nil\n"
        "\t\tNoFirstTimeSenderDelay: true\n"
    )


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    a = start(tmp_path / "a", localserve=False, domains_text=domains("a.example", "alice"), zone=ZONE)
    try:
        b = start(tmp_path / "b", localserve=False, domains_text=domains("b.example", "bob"), zone=ZONE)
        try:
            for me, other in ((a, b), (b, a)):
                me.queue.deps.resolver = MockResolver.from_zone(ZONE)
                me.queue.deps.store = me.store
                me.queue.deps.smtp_port = other.ports["smtp"]
                me.call(me.queue.start())
            yield a, b
        finally:
            b.call(b.queue.stop())
            b.stop()
    finally:
        a.call(a.queue.stop())
        a.stop()


def submit(srv: Server, login: str, to: list[str], subject: str) -> None:
    msg = f"From: {login}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n\r\nHello from {login}.\r\n"
    with smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=10) as c:
        c.starttls(context=srv.client_tls())
        c.login(login, PASSWORD)
        assert c.sendmail(login, to, msg.encode()) == {}


def wait_messages(srv: Server, account: str, n: int, timeout: float = 20) -> list[bytes]:
    end = time.monotonic() + timeout
    while True:
        got = srv.messages(account)
        if len(got) >= n:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"{account} has {len(got)} of {n} messages")
        time.sleep(0.05)


def test_exchange_both_directions(pair: tuple[Server, Server]) -> None:
    a, b = pair
    submit(a, "alice@a.example", ["bob@b.example"], "from a to b")
    got = wait_messages(b, "bob", 1)
    assert b"Subject: from a to b" in got[0] and b"Hello from alice@a.example." in got[0]
    assert b"spf=pass" in got[0]

    submit(b, "bob@b.example", ["alice@a.example"], "reply from b")
    got = wait_messages(a, "alice", 1)
    assert b"Subject: reply from b" in got[0]

    # Unknown user at b: b refuses the recipient, a's queue fails it and tells alice.
    submit(a, "alice@a.example", ["nobody@b.example", "bob@b.example"], "partly unknown")
    got = wait_messages(a, "alice", 2)
    dsn = got[1]
    assert b"multipart/report" in dsn and b"Final-Recipient: rfc822; nobody@b.example" in dsn
    assert b"Action: failed" in dsn
    assert len(wait_messages(b, "bob", 2)) == 2
