"""``moxpy queue ...`` commands through the real control socket to a queue with the real
(localserve-generated) configuration, and ``sendmail`` / ``config describe-sendmail``."""

from __future__ import annotations

import asyncio
import io
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import localserve
from app.cli.main import main
from app.config import load
from app.ctl.server import CtlServer
from app.queue import Filter, Queue, QueueDeps
from app.queue.ctl_handlers import handlers
from tests.queue.helpers import MSG, CollectingDelivery
from tests.smtpclient.test_client import CA, server_tls
from tests.smtpclient.testserver import SMTPTestServer


class Running:
    def __init__(self, conf: Path, queue: Queue, loop: asyncio.AbstractEventLoop) -> None:
        self.conf, self.queue, self.loop = conf, queue, loop

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main(["-config", str(self.conf), *args])
        out, err = capsys.readouterr()
        return code, out, err


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    localserve.ensure_config(tmp_path)
    cfg = load(tmp_path / "mox.conf")
    q = Queue(QueueDeps(config=cfg, data_dir=cfg.data_dir, local_delivery=CollectingDelivery()))
    loop = asyncio.new_event_loop()
    ctl = CtlServer(cfg.data_dir / "ctl")
    for name, h in handlers(q).items():
        ctl.register(name, h)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(ctl.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(ctl.close())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ready.wait(10)
    try:
        yield Running(tmp_path / "mox.conf", q, loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        q.close()


def test_queue_commands(running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    q = running.queue
    q.holdrule_add("", "", "")
    ids = q.add("mox", "mox@localhost", ["a@dest.example", "b@other.example"], MSG)
    code, out, _ = running.cli(capsys, "queue", "list")
    assert code == 0
    assert f"{ids[0]} queued" in out and "to:a@dest.example" in out and "hold" in out
    code, out, _ = running.cli(capsys, "queue", "list", "-to", "@other.example")
    assert "b@other.example" in out and "a@dest.example" not in out
    code, out, _ = running.cli(capsys, "queue", "holdrules", "list")
    assert "(all messages)" in out
    code, out, _ = running.cli(capsys, "queue", "holdrules", "add", "-recipientdom", "dest.example")
    assert code == 0 and "added" in out
    assert [r.recipient_domain for r in q.holdrules()] == ["", "dest.example"]
    code, out, _ = running.cli(capsys, "queue", "holdrules", "remove", str(q.holdrules()[1].id))
    assert code == 0 and len(q.holdrules()) == 1
    code, out, _ = running.cli(capsys, "queue", "schedule", "-ids", str(ids[1]), "-now", "1h")
    assert "1 message(s)" in out
    assert (
        q.list_msgs(Filter(ids=[ids[1]]))[0].next_attempt
        > q.list_msgs(Filter(ids=[ids[0]]))[0].next_attempt + 3000
    )
    code, out, err = running.cli(capsys, "queue", "transport", "-ids", str(ids[0]), "nosuch")
    assert code == 1 and "unknown transport" in err
    code, out, _ = running.cli(capsys, "queue", "requiretls", "-ids", str(ids[0]), "yes")
    assert q.list_msgs(Filter(ids=[ids[0]]))[0].requiretls is True
    code, out, _ = running.cli(capsys, "queue", "unhold", "-hold", "true", "-account", "mox")
    assert "2 message(s)" in out
    code, out, _ = running.cli(capsys, "queue", "hold", "-ids", f"{ids[0]},{ids[1]}")
    assert "2 message(s)" in out

    code, out, _ = running.cli(capsys, "queue", "dump", str(ids[0]))
    assert code == 0 and out.replace("\r\n", "\n") == MSG.decode().replace("\r\n", "\n")

    code, out, _ = running.cli(capsys, "queue", "fail", "-ids", str(ids[0]))
    assert "1 message(s)" in out
    code, out, _ = running.cli(capsys, "queue", "drop", "-to", "b@other.example")
    assert "1 message(s)" in out
    assert q.list_msgs(Filter()) == []
    code, out, _ = running.cli(capsys, "queue", "retired", "list")
    assert f"{ids[0]} queued" in out and "failed" in out  # localserve config keeps retired messages
    code, out, _ = running.cli(capsys, "queue", "retired", "print", str(ids[0]))
    assert '"Success": false' in out
    code, out, err = running.cli(capsys, "queue", "dump", "999")
    assert code == 1 and "no message" in err
    code, out, err = running.cli(capsys, "queue", "list", "-submitted", "1h")
    assert code == 1 and "bad filter" in err
    code, out, err = running.cli(capsys, "queue", "list", "-bogus")
    assert code == 2


def test_suppress_commands(running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = running.cli(capsys, "queue", "suppress", "add", "mox", "Some.One+tag@Example.com")
    assert code == 0
    code, out, _ = running.cli(capsys, "queue", "suppress", "list")
    assert "mox someone@example.com (Some.One+tag@Example.com) manual" in out
    code, out, _ = running.cli(capsys, "queue", "suppress", "lookup", "someone@example.com")
    assert "present in account mox" in out
    code, out, err = running.cli(capsys, "queue", "suppress", "add", "nosuchaccount", "x@example.com")
    assert code == 1 and "unknown account" in err
    assert running.queue.add("mox", "mox@localhost", ["someone-else@example.com"], MSG) == []
    code, out, _ = running.cli(capsys, "queue", "suppress", "remove", "mox", "someone@example.com")
    assert code == 0
    code, out, _ = running.cli(
        capsys, "queue", "suppress", "lookup", "-account", "mox", "someone@example.com"
    )
    assert "not present" in out


def test_describe_sendmail(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "describe-sendmail"]) == 0
    out = capsys.readouterr().out
    for key in (
        "Host:",
        "Port:",
        "TLS:",
        "STARTTLS:",
        "Username:",
        "Password:",
        "From:",
        "DefaultDestination:",
    ):
        assert f"\n{key}" in out


def test_sendmail_submits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = SMTPTestServer(
        tls_context=server_tls(), users={"cron@example.org": "pw"}, auth_mechs=["SCRAM-SHA-256"]
    )
    loop = asyncio.new_event_loop()
    loop.run_until_complete(srv.start())
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    try:
        conf = tmp_path / "moxsubmit.conf"
        conf.write_text(
            f"LocalHostname: host.example.org\nHost: localhost\nPort: {srv.port}\nSTARTTLS: true\n"
            "Username: cron@example.org\nPassword: pw\nFrom: cron@example.org\nDefaultDestination: admin@example.org\n"
        )
        monkeypatch.setenv("MOXSUBMITCONF", str(conf))
        cafile = tmp_path / "ca.pem"
        CA.cert_pem.write_to_path(str(cafile))
        monkeypatch.setenv("SSL_CERT_FILE", str(cafile))
        stdin: Any = io.TextIOWrapper(
            io.BytesIO(b"To: root, b@example.com\nBcc: hidden@example.com\nSubject: cron\n\nout\n")
        )
        monkeypatch.setattr(sys, "stdin", stdin)
        assert main(["sendmail", "-t", "-oi", "extra@example.net"]) == 0
        m = srv.messages[0]
        assert m.mail_from == "cron@example.org" and m.tls and m.auth_user == "cron@example.org"
        assert sorted(a for a, _ in m.rcpts) == [
            "admin@example.org",
            "b@example.com",
            "extra@example.net",
            "hidden@example.com",
        ]
        assert b"Bcc" not in m.data and b"From: cron@example.org\r\n" in m.data and b"\r\nout\r\n" in m.data
        assert b"Message-ID: <" in m.data and b"@host.example.org>" in m.data
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)


def test_sendmail_failure_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = SMTPTestServer()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(srv.start())
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    try:
        conf = tmp_path / "moxsubmit.conf"
        conf.write_text(f"Host: 127.0.0.1\nPort: {srv.port}\nUsername:\nPassword:\nFrom: cron@example.org\n")
        monkeypatch.setenv("MOXSUBMITCONF", str(conf))
        monkeypatch.setenv("HOME", str(tmp_path))
        stdin: Any = io.TextIOWrapper(io.BytesIO(b"Subject: x\n\nbody\n"))
        monkeypatch.setattr(sys, "stdin", stdin)
        # A recipient the server refuses permanently, one without domain and no DefaultDestination.
        assert main(["sendmail", "perm@example.com"]) == 1
        assert "550" in capsys.readouterr().err
        saved = (tmp_path / "moxsubmit.failures").read_bytes()
        assert saved.startswith(b"From MAILER-DAEMON ") and b"\nbody\n" in saved
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Subject: x\n\nbody\n")))
        assert main(["sendmail", "root"]) == 1
        assert "DefaultDestination" in capsys.readouterr().err
        assert not srv.messages
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)


def test_dump_larger_than_a_control_frame(running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    running.queue.holdrule_add("", "", "")
    big = MSG + b"".join(b"line %07d of a large message body\r\n" % i for i in range(150_000))
    assert len(big) > 5_000_000
    (mid,) = running.queue.add("mox", "mox@localhost", ["a@dest.example"], big)
    code, out, _ = running.cli(capsys, "queue", "dump", str(mid))
    assert code == 0 and out.replace("\r\n", "\n").encode() == big.replace(b"\r\n", b"\n")
