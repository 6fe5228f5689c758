"""Pure parts of the server: limits per IP class, the Received id, the analysis verdict,
localserve's special local parts."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from app.smtpserver import analyze, localserve
from app.smtpserver.limits import ConcurrencyLimit, WindowLimit, ip_classes
from app.smtpserver.recvid import RecvID, RecvIDError, load_key


def ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(s)


def test_ip_classes() -> None:
    a, b = ip_classes(ip("10.0.0.1")), ip_classes(ip("10.0.0.70"))
    assert a[0] != b[0] and a[1] != b[1] and a[2] == b[2]  # /32, /26 differ; same /21
    c, d = ip_classes(ip("2001:db8::1")), ip_classes(ip("2001:db8::2"))
    assert c == d  # same /64


def test_window_limit() -> None:
    now = [0.0]
    w = WindowLimit(60, (2, 3, 100), clock=lambda: now[0])
    assert w.add(ip("10.0.0.1")) and w.add(ip("10.0.0.1"))
    assert not w.add(ip("10.0.0.1"))  # class 1 full
    assert w.add(ip("10.0.0.2"))  # other /32, same /26: 3rd in class 2
    assert not w.add(ip("10.0.0.3"))  # class 2 full
    now[0] = 61
    assert w.add(ip("10.0.0.1"))


def test_concurrency_limit() -> None:
    c = ConcurrencyLimit((1, 10, 10))
    assert c.acquire(ip("192.0.2.1"))
    assert not c.acquire(ip("192.0.2.1"))
    c.release(ip("192.0.2.1"))
    assert c.acquire(ip("192.0.2.1"))


def test_recvid(tmp_path: Path) -> None:
    key = load_key(tmp_path)
    assert load_key(tmp_path) == key and (tmp_path / "receivedid.key").stat().st_mode & 0o777 == 0o600
    r = RecvID(key)
    s = r.encode(0x1234ABCD)
    assert r.decode(s) == 0x1234ABCD and "=" not in s
    with pytest.raises(RecvIDError):
        RecvID(b"k" * 16).decode(s)
    with pytest.raises(RecvIDError):
        r.decode("!!!")


def facts(**kw: object) -> analyze.Facts:
    base: dict[str, object] = dict(
        mail_from="a@remote.example",
        mail_from_domain="remote.example",
        msg_from="a@remote.example",
        msg_from_domain="remote.example",
        spf_status="pass",
        spf_domain="remote.example",
    )
    base.update(kw)
    return analyze.Facts(**base)  # type: ignore[arg-type]


def test_analyze_verdicts() -> None:
    dest = analyze.Destination(rejects_mailbox="Rejects")
    v = analyze.analyze(facts(), dest)
    assert v.accept and v.mailbox == "Inbox" and v.reason == "no-bad-signals"
    v = analyze.analyze(facts(dmarc_status="fail", dmarc_reject=True), dest)
    assert not v.accept and (v.code, v.secode, v.reason) == (550, "7.26", "dmarc-policy")
    assert v.reject_mailbox == "Rejects"
    fwd = analyze.Ruleset(smtp_mail_from_regexp="@remote\\.example$", is_forward=True, mailbox="Fwd")
    v = analyze.analyze(facts(dmarc_status="fail", dmarc_reject=True), analyze.Destination(rulesets=(fwd,)))
    assert v.accept and v.mailbox == "Fwd" and v.is_forward
    lst = analyze.Ruleset(list_allow_domain="lists.example", mailbox="Lists")
    v = analyze.analyze(
        facts(dkim_pass_domains=("lists.example",), dnsbl_listed=("bl.example",)),
        analyze.Destination(rulesets=(lst,)),
    )
    assert v.accept and v.reason == "list-allow"
    v = analyze.analyze(facts(dnsbl_listed=("bl.example",)), dest)
    assert not v.accept and v.code == 451 and v.reason == "dns-blocklisted"
    acc = analyze.Ruleset(verified_domain="remote.example", accept_rejects_to_mailbox="Maybe", mailbox="X")
    v = analyze.analyze(facts(dnsbl_listed=("bl.example",)), analyze.Destination(rulesets=(acc,)))
    assert v.accept and v.mailbox == "Maybe"
    v = analyze.analyze(
        facts(dmarc_status="none"), analyze.Destination(msg_auth_required_error="550 sign your mail")
    )
    assert not v.accept and (v.code, v.text, v.reason) == (550, "sign your mail", "msg-auth-required")
    v = analyze.analyze(facts(rate_ok=False), dest)
    assert not v.accept and v.code == 452 and v.reason == "high-rate"


def test_ruleset_headers_regexp() -> None:
    rs = analyze.Ruleset(headers_regexp=(("^list-id$", "example"),), mailbox="L")
    assert analyze.ruleset_matches(rs, facts(headers=(("List-Id", "<x.example>"),)))
    assert not analyze.ruleset_matches(rs, facts(headers=(("Subject", "example"),)))
    bad = analyze.Ruleset(msg_from_regexp="([", mailbox="L")
    assert not analyze.ruleset_matches(bad, facts())


@pytest.mark.parametrize(
    ("lp", "stage", "code", "timeout"),
    [
        ("usertemperror", "data", 451, False),
        ("userpermerror", "data", 550, False),
        ("x421", "data", 421, False),
        ("mailfrom550", "mailfrom", 550, False),
        ("rcpttotimeout", "rcptto", None, True),
        ("user", None, None, False),
        ("user399", None, None, False),
    ],
)
def test_localserve_needs_error(lp: str, stage: str | None, code: int | None, timeout: bool) -> None:
    ne = localserve.needs_error(lp)
    if stage is None:
        assert ne is None
        return
    assert ne is not None and ne.stage == stage and ne.timeout == timeout
    assert (ne.error.code if ne.error else None) == code


def test_composition_helpers(tmp_path: Path) -> None:
    from app.smtpserver import composition
    from app.store.authdb import TLSPublicKey, open_authdb

    db = open_authdb(tmp_path)
    try:
        composition.record_login(db)(
            account="mox",
            login="mox@localhost",
            result="ok",
            mechanism="PLAIN",
            remote_ip="127.0.0.1",
            tls="",
            protocol="submission",
        )
        [att] = db.login_attempts("mox")
        assert att.attempt.auth_mech == "PLAIN" and att.attempt.protocol == "submission"
        db.tls_public_key_add(TLSPublicKey("fp1", 0, "ecdsa", "laptop", False, b"", "mox", "mox@localhost"))
        assert composition.tls_public_key(db)("fp1") == ("mox", "mox@localhost", False)
        assert composition.tls_public_key(db)("other") is None
    finally:
        db.close()


def test_composition_new_server(tmp_path: Path) -> None:
    from app import localserve as ls
    from app.config import load
    from app.smtpserver import SMTPServer, composition

    ports = {
        "SMTP": 1,
        "Submission": 2,
        "Submissions": 3,
        "IMAP": 4,
        "IMAPS": 5,
        "HTTP": 6,
        "HTTPS": 7,
        "Metrics": 8,
    }
    ls.ensure_config(tmp_path, "127.0.0.1", ports)
    cfg = load(tmp_path / "mox.conf")
    srv = composition.new_server(
        config=cfg, store=None, resolver=None, queue=None, tls_context=lambda _n: None, localserve=True
    )
    assert isinstance(srv, SMTPServer) and srv.deps.pedantic  # localserve's mox.conf has Pedantic: true
    der = srv.deps.server_cert_der("local")
    assert der is not None and der[:1] == b"\x30"
    assert srv.deps.server_cert_der("nosuchlistener") is None


def test_outgoing_limits_persist(tmp_path: Path) -> None:
    from app.smtpserver import outgoing, senders
    from app.store.store import Store

    store = Store(tmp_path)
    try:
        store.account("a", create=True)
        now = 1_000_000.0
        assert outgoing.check(store, "a", ["x@y.example"], 2, 1, now) == ""
        outgoing.record(store, "a", ["x@y.example"], now)
        assert senders.is_known(store, "a", "X@y.example")
        assert outgoing.check(store, "a", ["z@y.example"], 2, 1, now) == "recipients"
        assert outgoing.check(store, "a", ["x@y.example"], 2, 1, now) == ""  # known: not first-time
        assert outgoing.check(store, "a", ["x@y.example", "x@y.example"], 2, 1, now) == "messages"
        assert outgoing.check(store, "a", ["z@y.example"], 2, 1, now + 24 * 3600 + 1) == ""
    finally:
        store.close()
    store = Store(tmp_path)  # kept in the account database
    try:
        assert outgoing.check(store, "a", ["x@y.example", "x@y.example"], 2, 1, 1_000_100.0) == "messages"
    finally:
        store.close()


def test_submission_limit_reply(tmp_path: Path) -> None:
    import smtplib

    from tests.smtpserver.server import PASSWORD, noid, start

    s = start(tmp_path / "m")
    try:
        s.config.dynamic.Accounts["mox"].MaxOutgoingMessagesPerDay = 1
        msg = b"From: mox@localhost\r\nSubject: x\r\n\r\nx\r\n"
        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=s.client_tls(), timeout=10) as c:
            c.login("mox@localhost", PASSWORD)
            c.sendmail("mox@localhost", ["a@remote.example"], msg)
            c.mail("mox@localhost")
            c.rcpt("b@remote.example")
            assert noid(c.data(msg)) == (
                451,
                b"4.7.1 max number of messages (1) over past 24h reached, "
                b"try increasing per-account setting MaxOutgoingMessagesPerDay",
            )
    finally:
        s.stop()
