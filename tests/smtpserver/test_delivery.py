"""Incoming delivery into the store: destinations, catchall separators, aliases, unknown users,
disabled domains, rulesets, DMARC reject, loops, mixed results with a DSN, localserve's special
local parts, the Received id and ``moxpy cid``."""

from __future__ import annotations

import io
import re
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.queue import Filter
from app.smtpserver.recvid import RecvID, load_key
from tests.harness import Transcript
from tests.smtpserver.server import Server, noid, start

DOMAINS = """Domains:
\tlocalhost:
\t\tLocalpartCatchallSeparator: +
\texample.org:
\t\tLocalpartCatchallSeparator: +
\t\tTLSRPT:
\t\t\tLocalpart: tlsrpt
\t\t\tAccount: bob
\t\t\tMailbox: TLSRPT
\t\tAliases:
\t\t\tteam:
\t\t\t\tAddresses:
\t\t\t\t\t- alice@example.org
\t\t\t\t\t- bob@example.org
\t\t\t\tPostPublic: true
\t\t\tprivate:
\t\t\t\tAddresses:
\t\t\t\t\t- alice@example.org
\t\t\tsales:
\t\t\t\tAddresses:
\t\t\t\t\t- alice@example.org
\t\t\t\tPostPublic: true
\t\t\t\tAllowMsgFrom: true
\tcatchall.example:
\t\tDescription: catchall test domain
\tdisabled.example:
\t\tDisabled: true
Accounts:
\tmox:
\t\tDomain: localhost
\t\tDestinations:
\t\t\tmox@localhost: nil
\talice:
\t\tDomain: example.org
\t\tDestinations:
\t\t\talice@example.org:
\t\t\t\tRulesets:
\t\t\t\t\t-
\t\t\t\t\t\tHeadersRegexp:
\t\t\t\t\t\t\t^subject$: ^\\[list\\]
\t\t\t\t\t\tMailbox: Lists
\tbob:
\t\tDomain: example.org
\t\tDestinations:
\t\t\tbob@example.org: nil
\t\tRejectsMailbox: Rejects
\tcatcher:
\t\tDomain: catchall.example
\t\tDestinations:
\t\t\t@catchall.example: nil
\t\tIntrobox: Introbox
"""


def msg(frm: str = "a@remote.example", subject: str = "hello", to: str = "alice@example.org") -> bytes:
    return (
        f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-Id: <x@remote.example>\r\n\r\nbody line\r\n..not a dot\r\n"
    ).encode()


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Server]:
    s = start(tmp_path / "org", localserve=False, domains_text=DOMAINS)
    try:
        yield s
    finally:
        s.stop()


def test_localserve_delivery_byte_identical_and_cid(srv: Server) -> None:
    m = msg(to="whoever@anydomain.example")
    with smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=10) as c:
        c.ehlo("client.example")
        c.sendmail("a@remote.example", ["whoever@anydomain.example"], m)
    [stored] = srv.messages("mox")
    assert stored.endswith(m)  # byte-identical after the prepended header fields
    head = stored[: -len(m)]
    for h in (
        b"X-Mox-Reason: ",
        b"Delivered-To: whoever@anydomain.example",
        b"Return-Path: <a@remote.example>",
        b"Authentication-Results: localhost;",
        b"Received-SPF: pass",
        b"Received: from client.example",
    ):
        assert h in head
    rid = re.search(rb" id ([A-Za-z0-9_-]+)", head)
    assert rid is not None
    key = load_key(Path(srv.config.data_dir))
    cid = RecvID(key).decode(rid.group(1).decode())
    out = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(srv.dir / "mox.conf"), "cid", rid.group(1).decode()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{cid:x}"


def test_bdat_delivery(srv: Server) -> None:
    m = msg(to="mox@localhost")
    t = Transcript(srv.connect())
    t.expect(b"220 *")
    t.send(b"EHLO x.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<mox@localhost>\r\n")
    while not t.readline().startswith(b"250 "):
        pass
    t.expect(b"250 2.1.0 *")
    t.expect(b"250 2.1.0 *")
    t.send(f"BDAT {len(m)} LAST\r\n".encode() + m)
    t.expect(b"250 2.2.0 it is done")
    [stored] = srv.messages("mox")
    assert stored.endswith(m)


def test_localserve_special_localparts_incoming(srv: Server) -> None:
    with smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=10) as c:
        c.ehlo("x.example")
        assert c.mail("mailfrom451@remote.example")[0] == 451
        assert c.mail("a@remote.example")[0] == 250
        assert c.rcpt("userpermerror@anydomain.example")[0] == 250
        assert noid(c.data(msg())) == (550, b"5.0.0 failure with code 550 due to special localpart")
        # Per recipient: the others get the message (and localserve sends no DSN).
        assert c.mail("a@remote.example")[0] == 250
        assert c.rcpt("x@anydomain.example")[0] == 250
        assert c.rcpt("user421@anydomain.example")[0] == 250
        assert c.data(msg()) == (250, b"2.2.0 it is done")
    assert len(srv.messages("mox")) == 1


def test_destinations_aliases_unknown_mixed_dsn(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        assert c.mail("a@remote.example")[0] == 250
        assert c.rcpt("Alice@Example.org")[0] == 250
        assert c.rcpt("bob+tag@example.org")[0] == 250
        assert c.rcpt("team@example.org")[0] == 250  # alice and bob, already reached
        assert c.rcpt("nobody@example.org")[0] == 250  # rejected only after DATA
        assert noid(c.rcpt("x@disabled.example")) == (450, b"4.2.1 recipient domain temporarily disabled")
        assert noid(c.rcpt("x@other.example")) == (550, b"5.1.1 not accepting email for domain")
        assert c.data(msg()) == (250, b"2.2.0 it is done")
    assert len(org.messages("alice")) == 1
    assert len(org.messages("bob")) == 1
    assert b"Delivered-To: bob+tag@example.org" in org.messages("bob")[0]
    # The DSN for nobody@ goes to the sender through the queue.
    import time

    for _ in range(50):
        dsns = org.queue.list_msgs(Filter())
        if dsns:
            break
        time.sleep(0.05)
    assert len(dsns) == 1 and dsns[0].rcpt_domain == "remote.example"
    assert b"nobody@example.org" in org.queue.dump(dsns[0].id)


def test_unknown_only_and_private_alias(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        c.mail("a@remote.example")
        c.rcpt("nobody@example.org")
        assert noid(c.data(msg())) == (550, b"5.1.1 no such user(s)")
        c.mail("a@remote.example")
        c.rcpt("private@example.org")
        assert c.data(msg())[0] == 550
    assert org.messages("alice") == []


def test_ruleset_mailbox(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        c.sendmail("a@remote.example", ["alice@example.org"], msg(subject="[list] news"))
    assert org.messages("alice") == []
    assert len(org.messages("alice", "Lists")) == 1


def test_dmarc_reject(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        c.mail("x@strict.example")
        c.rcpt("bob@example.org")
        assert noid(c.data(msg(frm="x@strict.example"))) == (550, b"5.7.26 dmarc policy")
    assert org.messages("bob") == []
    [rejected] = org.messages("bob", "Rejects")
    assert b"X-Mox-Reason: dmarc-policy" in rejected


def test_loop_detected(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        c.mail("a@remote.example")
        c.rcpt("bob@example.org")
        looped = b"Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n" * 101 + msg()
        assert noid(c.data(looped)) == (550, b"5.4.6 loop detected, more than 100 Received headers")


def test_multiple_recipients_need_spf_pass(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        c.mail("a@nospf.example")
        assert c.rcpt("alice@example.org")[0] == 250
        assert noid(c.rcpt("bob@example.org")) == (452, b"4.5.3 only one recipient allowed without spf pass")
        c.rset()
        c.mail("<>")
        assert c.rcpt("alice@example.org")[0] == 250
        assert c.rcpt("bob@example.org")[0] == 452
        c.rset()
        c.mail("a@remote.example")
        assert c.rcpt("alice@example.org")[0] == 250
        assert c.rcpt("bob@example.org")[0] == 250


def test_require_starttls_except_tlsrpt(tmp_path: Path) -> None:
    s = start(
        tmp_path / "m",
        localserve=False,
        domains_text=DOMAINS,
        static_edit=lambda t: t.replace(
            "\t\tSMTP:\n\t\t\tEnabled: true\n",
            "\t\tSMTP:\n\t\t\tEnabled: true\n\t\t\tRequireSTARTTLS: true\n",
        ),
    )
    try:
        with smtplib.SMTP("127.0.0.1", s.ports["smtp"], timeout=10) as c:
            c.ehlo("mail.remote.example")
            c.mail("a@remote.example")
            assert noid(c.rcpt("alice@example.org")) == (530, b"5.7.0 STARTTLS required for mail delivery")
            assert c.rcpt("tlsrpt@example.org")[0] == 250
            c.rset()
            c.starttls(context=s.client_tls())
            c.ehlo("mail.remote.example")
            c.mail("a@remote.example")
            assert c.rcpt("alice@example.org")[0] == 250
    finally:
        s.stop()


def test_swaks_delivery_and_submission(srv: Server) -> None:
    from tests.conftest import require_tool

    swaks = require_tool("swaks")
    out = subprocess.run(
        [
            swaks,
            "--server",
            "127.0.0.1",
            "--port",
            str(srv.ports["smtp"]),
            "--from",
            "a@remote.example",
            "--to",
            "mox@localhost",
            "--helo",
            "client.example",
            "--header",
            "Subject: via swaks",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert any(b"Subject: via swaks" in m for m in srv.messages("mox"))
    # localserve's submission port does not require TLS, so AUTH works in plain text there.
    args = [
        swaks,
        "--server",
        "127.0.0.1",
        "--port",
        str(srv.ports["submission"]),
        "--auth",
        "PLAIN",
        "--auth-user",
        "mox@localhost",
        "--auth-password",
        "moxmoxmox",
        "--from",
        "mox@localhost",
        "--to",
        "someone@remote.example",
        "--h-From",
        "mox@localhost",
    ]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(srv.queue.list_msgs(Filter())) == 1
    # With STARTTLS when swaks has its TLS module (Debian: libnet-ssleay-perl).
    if subprocess.run(["perl", "-MNet::SSLeay", "-e1"], capture_output=True).returncode == 0:
        out = subprocess.run(
            [*args, "--tls", "--tls-verify", "--tls-ca-path", str(srv.dir / "localhost.crt")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert len(srv.queue.list_msgs(Filter())) == 2


def _wait_queue(s: Server, n: int) -> list:  # type: ignore[type-arg]
    import time

    for _ in range(100):
        msgs = s.queue.list_msgs(Filter())
        if len(msgs) >= n:
            return msgs
        time.sleep(0.03)
    return s.queue.list_msgs(Filter())


def test_dsn_notify_success_and_never(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        assert c.mail("a@remote.example", ["RET=FULL", "ENVID=e1"])[0] == 250
        assert c.rcpt("alice@example.org", ["NOTIFY=SUCCESS", "ORCPT=rfc822;alice@example.org"])[0] == 250
        assert c.data(msg())[0] == 250
    [m] = _wait_queue(org, 1)
    dsn = org.queue.dump(m.id)
    assert b"Action: delivered" in dsn and b"Original-Envelope-Id: e1" in dsn
    assert b"Message-Id: <x@remote.example>" in dsn  # the original's header section
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        c.mail("a@remote.example")
        c.rcpt("bob@example.org")
        assert c.rcpt("nobody@example.org", ["NOTIFY=NEVER"])[0] == 250
        assert c.data(msg())[0] == 250
    import time

    time.sleep(0.3)
    assert len(org.queue.list_msgs(Filter())) == 1  # no failure DSN for NOTIFY=NEVER


def test_postmaster_and_catchall(org: Server) -> None:
    with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
        c.ehlo("mail.remote.example")
        c.mail("a@remote.example")
        assert c.rcpt("<Postmaster>")[0] == 250
        assert c.data(msg(to="postmaster"))[0] == 250
        c.sendmail("a@remote.example", ["anything.at.all@catchall.example"], msg())
    assert len(org.messages("mox")) == 1  # mox.conf Postmaster: account mox
    assert len(org.messages("catcher", "Introbox")) == 1  # a first-time sender: see test_introbox...


def test_quota_exceeded(tmp_path: Path) -> None:
    s = start(tmp_path / "q", localserve=False, domains_text=DOMAINS, quota=300)
    try:
        with smtplib.SMTP("127.0.0.1", s.ports["smtp"], timeout=10) as c:
            c.ehlo("mail.remote.example")
            c.mail("a@remote.example")
            c.rcpt("bob@example.org")
            assert noid(c.data(msg())) == (452, b"4.2.2 account storage full")
    finally:
        s.stop()


def test_submission_alias_extra_and_tls_required(org: Server) -> None:
    from tests.smtpserver.server import PASSWORD

    body = (
        b"From: sales@example.org\r\nTo: x@remote.example\r\nSubject: offer\r\n"
        b"X-Mox-Extra-Campaign: spring\r\nTLS-Required: No\r\n\r\nbuy\r\n"
    )
    with smtplib.SMTP_SSL("127.0.0.1", org.ports["submissions"], context=org.client_tls(), timeout=10) as c:
        c.login("alice@example.org", PASSWORD)
        c.sendmail("sales@example.org", ["x@remote.example"], body)  # alias with AllowMsgFrom
        with pytest.raises(smtplib.SMTPSenderRefused):
            c.sendmail("team@example.org", ["x@remote.example"], body)  # alias without AllowMsgFrom
    [m] = org.queue.list_msgs(Filter())
    assert m.extra == {"Campaign": "spring"} and m.requiretls is False and m.sender_account == "alice"


def test_first_time_sender_delay(tmp_path: Path, logs: io.StringIO) -> None:
    from app.smtpserver import senders

    s = start(tmp_path / "f", localserve=False, domains_text=DOMAINS, first_time_sender_delay=0.2)
    try:
        assert not senders.is_known(s.store, "alice", "a@remote.example")
        for _ in range(2):
            with smtplib.SMTP("127.0.0.1", s.ports["smtp"], timeout=10) as c:
                c.ehlo("mail.remote.example")
                c.sendmail("a@remote.example", ["alice@example.org"], msg())
        err = logs.getvalue()
        assert err.count("first-time sender, delaying") == 1  # only the first message waits
        assert senders.is_known(s.store, "alice", "a@remote.example")
        # Sending to someone makes their replies known too.
        from tests.smtpserver.server import PASSWORD

        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=s.client_tls(), timeout=10) as c:
            c.login("alice@example.org", PASSWORD)
            c.sendmail("alice@example.org", ["friend@remote.example"], msg(frm="alice@example.org"))
        assert senders.is_known(s.store, "alice", "friend@remote.example")
    finally:
        s.stop()


def test_submission_from_id(tmp_path: Path) -> None:
    from tests.smtpserver.server import PASSWORD

    domains = DOMAINS.replace(
        "\tbob:\n\t\tDomain: example.org\n",
        "\tbob:\n\t\tDomain: example.org\n\t\tFromIDLoginAddresses:\n\t\t\t- bob+id@example.org\n",
    )
    s = start(tmp_path / "fid", localserve=False, domains_text=domains)
    try:
        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=s.client_tls(), timeout=10) as c:
            c.login("bob+id@example.org", PASSWORD)
            c.sendmail("bob@example.org", ["x@remote.example"], msg(frm="bob@example.org"))
        [m] = s.queue.list_msgs(Filter())
        assert m.from_id and m.sender_localpart == f"bob+{m.from_id}"
    finally:
        s.stop()


def test_all_failed_multiline_reply(org: Server) -> None:
    t = Transcript(org.connect())
    t.expect(b"220 *")
    t.send(b"EHLO mail.remote.example\r\n")
    while not t.readline().startswith(b"250 "):
        pass
    t.send(
        b"MAIL FROM:<a@remote.example>\r\nRCPT TO:<private@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n"
    )
    t.expect(b"250 *")
    t.expect(b"250 *")
    t.expect(b"250 *")
    t.expect(b"354 *")
    t.send(msg() + b".\r\n")
    t.expect(b"554-5.3.0 550 5.7.2 not allowed to send to destination")
    t.expect(b"554-5.3.0 550 5.1.1 no such user")
    t.expect(b"554 5.3.0 multiple errors (*")


def test_introbox_for_unknown_senders(org: Server) -> None:
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", org.ports["smtp"], timeout=10) as c:
            c.ehlo("mail.remote.example")
            c.sendmail("a@remote.example", ["x@catchall.example"], msg(to="x@catchall.example"))
    # The first message from a new sender goes to the Introbox, later ones to the Inbox.
    assert len(org.messages("catcher", "Introbox")) == 1
    assert len(org.messages("catcher")) == 1
