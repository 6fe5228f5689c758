"""Debian's Postfix, on loopback with a private configuration, relays a message to our SMTP
server (over STARTTLS), which delivers it into the account; and our queue delivers back to
Postfix."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.dns import MockResolver
from tests.queue.test_two_servers import domains, submit, wait_messages
from tests.smtpclient.postfix import DOMAIN, Postfix, running_postfix
from tests.smtpserver.server import Server, start

pytestmark = pytest.mark.timeout(120)

ZONE = f"""
b.example. MX 10 mx.b.example.
mx.b.example. A 127.0.0.1
b.example. TXT "v=spf1 ip4:127.0.0.1 -all"
{DOMAIN}. MX 10 mx.{DOMAIN}.
mx.{DOMAIN}. A 127.0.0.1
{DOMAIN}. TXT "v=spf1 ip4:127.0.0.1 -all"
"""


@pytest.fixture
def ours(tmp_path: Path) -> Iterator[Server]:
    s = start(tmp_path / "b", localserve=False, domains_text=domains("b.example", "bob"), zone=ZONE)
    try:
        yield s
    finally:
        s.call(s.queue.stop())
        s.stop()


def test_postfix_and_us(ours: Server) -> None:
    port = ours.ports["smtp"]
    extra = f"relayhost = [127.0.0.1]:{port}\nsmtp_tls_security_level = may\n"
    with running_postfix(extra) as pf:
        _exchange(pf, ours)


def _exchange(pf: Postfix, ours: Server) -> None:
    msg = f"From: carol@{DOMAIN}\nTo: bob@b.example\nSubject: via postfix\n\nHello from Postfix.\n".encode()
    r = subprocess.run(
        ["/usr/sbin/sendmail", "-C", str(pf.dir / "conf"), "-f", f"carol@{DOMAIN}", "bob@b.example"],
        input=msg,
        capture_output=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    try:
        # Postfix's pickup is woken by sendmail; if that wake-up is lost (a loaded machine), it
        # still scans the maildrop every 60 s.
        got = wait_messages(ours, "bob", 1, 75)
    except AssertionError:
        raise AssertionError(f"not delivered; postfix log:\n{pf.log()[-3000:]}") from None
    assert b"Subject: via postfix" in got[0] and b"Hello from Postfix." in got[0]
    assert b"spf=pass" in got[0] and b"with ESMTPS" in got[0]

    # And back: our queue delivers to Postfix (its MX in our resolver, on its port).
    ours.queue.deps.resolver = MockResolver.from_zone(ZONE)
    ours.queue.deps.store = ours.store
    ours.queue.deps.smtp_port = pf.port
    ours.call(ours.queue.start())
    before = len(pf.messages())
    submit(ours, "bob@b.example", [f"carol@{DOMAIN}"], "reply to postfix")
    got2 = pf.wait_messages(before + 1)
    assert b"Subject: reply to postfix" in got2[-1]
    end = time.monotonic() + 10
    while ours.queue.db.count() and time.monotonic() < end:
        time.sleep(0.05)
    assert ours.queue.db.count() == 0
