"""Submission: smtplib with STARTTLS/implicit TLS and each SASL mechanism, SCRAM (-PLUS) via
raw transcripts with app.sasl's client, the message handed to the queue with the headers added
and the submitted bytes unchanged after them."""

from __future__ import annotations

import base64
import smtplib
import ssl

import pytest

from app.queue import Filter
from app.sasl import ScramClient, tls_server_end_point
from tests.harness import Transcript
from tests.smtpserver.server import PASSWORD, Server, noid

MSG = (
    b"From: mox@localhost\r\n"
    b"To: someone@remote.example\r\n"
    b"Subject: hello\r\n"
    b"Message-Id: <m1@localhost>\r\n"
    b"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"
    b"\r\n"
    b"hi there\r\n"
    b".dotted line\r\n"
)


def queued(srv: Server) -> list[bytes]:
    return [srv.queue.dump(m.id) for m in srv.queue.list_msgs(Filter())]


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_smtplib_starttls_auth_submit(srv: Server, mech: str) -> None:
    with smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=10) as c:
        c.ehlo("client.example")
        c.starttls(context=srv.client_tls())
        c.ehlo("client.example")
        c.user, c.password = "mox@localhost", PASSWORD
        code, _ = c.auth(mech, getattr(c, "auth_" + mech.lower().replace("-", "_")))
        assert code == 235
        refused = c.sendmail("mox@localhost", ["someone@remote.example"], MSG)
        assert refused == {}
    msgs = queued(srv)
    assert len(msgs) == 1
    data = msgs[0]
    assert data.endswith(MSG)  # byte-identical after the prepended headers
    head = data[: -len(MSG)]
    assert b"DKIM-Signature: " in head and b"d=localhost" in head
    assert b"Received: from localhost by localhost" in head and b"with ESMTPSA" in head  # client hidden
    assert b"Authentication-Results: localhost; auth=pass" in head
    assert srv.logins[-1]["result"] == "ok" and srv.logins[-1]["mechanism"] == mech


def test_submissions_implicit_tls_adds_message_id_and_date(srv: Server) -> None:
    msg = b"From: mox@localhost\r\nTo: x@remote.example\r\nSubject: no id\r\n\r\nbody\r\n"
    with smtplib.SMTP_SSL("127.0.0.1", srv.ports["submissions"], context=srv.client_tls(), timeout=10) as c:
        c.login("mox@localhost", PASSWORD)
        c.sendmail("mox+tag@localhost", ["x@remote.example"], msg)
    data = queued(srv)[0]
    assert data.endswith(msg)
    head = data[: -len(msg)]
    assert b"Message-Id: <" in head and b"Date: " in head


def test_bad_password_and_slow_down(srv: Server) -> None:
    with smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=10) as c:
        c.starttls(context=srv.client_tls())
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login("mox@localhost", "wrong")
        assert e.value.smtp_code == 535
    assert srv.logins[-1]["result"] == "badcreds"


def test_submission_requires_auth_and_matching_from(srv: Server) -> None:
    with smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=10) as c:
        c.ehlo("x.example")
        code, msg = c.mail("mox@localhost")
        assert noid((code, msg)) == (530, b"5.7.0 authentication required")
        c.starttls(context=srv.client_tls())
        c.login("mox@localhost", PASSWORD)
        code, msg = c.mail("other@localhost")
        assert noid((code, msg)) == (550, b"5.7.1 must match authenticated user")
        c.rset()
        bad_from = MSG.replace(b"From: mox@localhost", b"From: other@elsewhere.example")
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("mox@localhost", ["x@remote.example"], bad_from)
        assert e.value.smtp_code == 550
    assert queued(srv) == []


def _auth_scram(srv: Server, mech: str, plus: bool, password: str = PASSWORD) -> bytes:
    sock = srv.connect("submissions")
    assert isinstance(sock, ssl.SSLSocket)
    t = Transcript(sock)
    t.expect(b"220 *")
    t.send(b"EHLO x.example\r\n")
    while not t.readline().startswith(b"250 "):
        pass
    cb = None
    if plus:
        cert = sock.getpeercert(binary_form=True)
        assert cert is not None
        cb = ("tls-server-end-point", tls_server_end_point(cert))
    client = ScramClient("sha256" if "256" in mech else "sha1", "mox@localhost", password, channel_binding=cb)
    t.send(f"AUTH {client.name} {base64.b64encode(client.start()).decode()}\r\n".encode())
    line = t.readline()
    assert line.startswith(b"334 "), line
    resp = client.step(base64.b64decode(line[4:].strip()))
    t.send(base64.b64encode(resp) + b"\r\n")
    line = t.readline()
    if line.startswith(b"334 "):
        client.finish(base64.b64decode(line[4:].strip()))
        assert client.verified
        t.send(b"\r\n")
        line = t.readline()
    return line


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
@pytest.mark.parametrize("plus", [False, True])
def test_scram(srv: Server, mech: str, plus: bool) -> None:
    assert _auth_scram(srv, mech, plus) == b"235 2.7.0 nice\r\n"


def test_scram_wrong_password(srv: Server) -> None:
    assert _auth_scram(srv, "SCRAM-SHA-256", True, "bad").startswith(b"535 5.7.8")


def test_auth_cancel_and_unknown_mech(srv: Server) -> None:
    t = Transcript(srv.connect("submissions"))
    t.expect(b"220 *")
    t.send(b"EHLO x.example\r\nAUTH NOPE\r\nAUTH LOGIN\r\n")
    while not t.readline().startswith(b"250 "):
        pass
    t.expect(b"504 5.5.4 mechanism NOPE not supported *")
    t.expect(b"334 VXNlcm5hbWU6")
    t.send(b"*\r\n")
    t.expect(b"501 5.5.0 authentication aborted *")
    t.send(b"AUTH PLAIN " + base64.b64encode(b"\0mox@localhost\0" + PASSWORD.encode()) + b"\r\n")
    t.expect(b"235 2.7.0 nice")
    t.send(b"AUTH PLAIN\r\n")
    t.expect(b"503 5.5.1 already authenticated *")


def test_auth_on_smtp_port_refused(srv: Server) -> None:
    t = Transcript(srv.connect("smtp"))
    t.expect(b"220 *")
    t.send(b"EHLO x.example\r\n")
    while not t.readline().startswith(b"250 "):
        pass
    t.send(b"AUTH PLAIN AGFiAGM=\r\n")
    t.expect(b"503 5.5.1 authentication only allowed on submission ports *")


def test_bdat_submission_and_dsn_params(srv: Server) -> None:
    t = Transcript(srv.connect("submissions"))
    t.expect(b"220 *")
    t.send(b"EHLO x.example\r\n")
    while not t.readline().startswith(b"250 "):
        pass
    t.send(b"AUTH PLAIN " + base64.b64encode(b"\0mox@localhost\0" + PASSWORD.encode()) + b"\r\n")
    t.expect(b"235 *")
    t.send(b"MAIL FROM:<mox@localhost> RET=HDRS ENVID=env1 HOLDFOR=3600\r\n")
    t.expect(b"250 2.1.0 looking good")
    t.send(b"RCPT TO:<a@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@remote.example\r\n")
    t.expect(b"250 2.1.0 now on the list")
    half = len(MSG) // 2
    t.send(f"BDAT {half}\r\n".encode() + MSG[:half])
    t.expect(b"250 2.0.0 %d bytes received" % half)
    rest = MSG[half:]
    t.send(f"BDAT {len(rest)} LAST\r\n".encode() + rest)
    t.expect(b"250 2.2.0 it is done")
    msgs = srv.queue.list_msgs(Filter())
    assert len(msgs) == 1
    m = msgs[0]
    assert m.dsn_ret == "HDRS" and m.dsn_envid == "env1"
    assert m.notify == ("SUCCESS", "FAILURE") and m.orcpt == "rfc822;a@remote.example"
    assert m.next_attempt > m.queued + 3000
    assert srv.queue.dump(m.id).endswith(MSG)


def test_bdat_without_transaction_reads_chunk(srv: Server) -> None:
    t = Transcript(srv.connect("smtp"))
    t.expect(b"220 *")
    t.send(b"BDAT 6\r\nNOOP\r\nNOOP\r\n")
    t.expect(b"503 5.5.1 missing MAIL FROM *")
    t.expect(b"250 2.0.0 alrighty")


def test_localserve_special_localparts_submission(srv: Server) -> None:
    with smtplib.SMTP_SSL("127.0.0.1", srv.ports["submissions"], context=srv.client_tls(), timeout=10) as c:
        c.login("mox@localhost", PASSWORD)
        code, _ = c.mail("mox@localhost")
        assert code == 250
        assert c.rcpt("rcpttotemperror@remote.example")[0] == 451
        assert c.rcpt("rcptto550@remote.example")[0] == 550
        assert c.rcpt("user452@remote.example")[0] == 250
        assert c.data(MSG)[0] == 452
    assert queued(srv) == []


def test_external_with_registered_client_certificate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from app.store.authdb import public_key_fingerprint
    from tests.smtpserver.server import start

    ca = trustme.CA()
    client_cert = ca.issue_cert("mox@localhost")
    cert = x509.load_pem_x509_certificate(client_cert.cert_chain_pems[0].bytes())
    fp = public_key_fingerprint(
        cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    def setup(ctx: ssl.SSLContext) -> None:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ca.configure_trust(ctx)

    s = start(
        tmp_path / "m",
        tls_setup=setup,
        tls_public_key=lambda f: ("mox", "mox@localhost", False) if f == fp else None,
    )
    try:
        ctx = s.client_tls()
        client_cert.configure_cert(ctx)
        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=ctx, timeout=10) as c:
            _code, resp = c.ehlo("x.example")
            assert b"AUTH EXTERNAL SCRAM-SHA-256-PLUS" in resp
            assert noid(c.docmd("AUTH", "EXTERNAL =")) == (235, b"2.7.0 nice")
            c.sendmail("mox@localhost", ["x@remote.example"], MSG)
        # Without a client certificate there is no EXTERNAL.
        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=s.client_tls(), timeout=10) as c:
            _code, resp = c.ehlo("x.example")
            assert b"EXTERNAL" not in resp
            assert c.docmd("AUTH", "EXTERNAL =")[0] == 504
    finally:
        s.stop()


def test_login_disabled_and_auth_rate_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.smtpserver.limits import AuthLimit, Limits, WindowLimit
    from tests.smtpserver.server import start

    s = start(tmp_path / "m", limits=Limits(auth=AuthLimit(per_minute=WindowLimit(60, (2, 30, 90)))))
    try:
        acc = s.config.dynamic.Accounts["mox"]
        acc.LoginDisabled = "account is being migrated"
        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=s.client_tls(), timeout=10) as c:
            with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                c.login("mox@localhost", PASSWORD)
            assert e.value.smtp_code == 525
            assert b"account is being migrated" in e.value.smtp_error
        acc.LoginDisabled = ""
        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=s.client_tls(), timeout=10) as c:
            c.ehlo("x.example")
            assert c.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0mox@localhost\0bad").decode())[0] == 535
            assert c.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0mox@localhost\0bad").decode())[0] == 535
            code, text = c.docmd(
                "AUTH", "PLAIN " + base64.b64encode(b"\0mox@localhost\0" + PASSWORD.encode()).decode()
            )
            assert noid((code, text)) == (421, b"4.7.0 too many authentication failures")
        # New connections from the same address are refused while the limit holds.
        t = Transcript(s.connect("submissions"))
        t.expect(b"421 4.7.0 too many auth failures")
    finally:
        s.stop()


def test_holduntil_and_pedantic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.smtpserver.server import start

    s = start(tmp_path / "m", pedantic=True)
    try:
        with smtplib.SMTP_SSL("127.0.0.1", s.ports["submissions"], context=s.client_tls(), timeout=10) as c:
            c.login("mox@localhost", PASSWORD)
            assert noid(c.docmd("MAIL", "FROM: <mox@localhost>")) == (
                501,
                b"5.5.2 space after colon not allowed",
            )
            assert c.docmd("MAIL", "FROM:<mox@localhost> HOLDUNTIL=2099-01-01T00:00:00Z")[0] == 554
            assert c.docmd("MAIL", "FROM:<mox@localhost> HOLDFOR=10 HOLDUNTIL=2030-01-01T00:00:00Z")[0] == 501
            assert c.docmd("MAIL", "FROM:<mox@localhost>")[0] == 250
            assert c.rcpt("x@remote.example")[0] == 250
            # Pedantic: 8-bit content needs BODY=8BITMIME, and no Return-Path in submissions.
            assert c.data(MSG.replace(b"hi there", "hé".encode()))[0] == 500
            c.mail("mox@localhost")
            c.rcpt("x@remote.example")
            assert c.data(b"Return-Path: <x@y>\r\n" + MSG)[0] == 550
    finally:
        s.stop()


def test_submission_requires_starttls_when_configured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.smtpserver.server import start

    s = start(tmp_path / "m", static_edit=lambda t: t.replace("\t\t\tNoRequireSTARTTLS: true\n", "", 1))
    try:
        t = Transcript(s.connect("submission"))
        t.expect(b"220 *")
        t.send(b"EHLO x.example\r\n")
        lines = []
        while not (ln := t.readline()).startswith(b"250 "):
            lines.append(ln)
        assert b"250-AUTH\r\n" in lines and b"250-STARTTLS\r\n" in lines
        t.send(b"AUTH PLAIN AG1veEBsb2NhbGhvc3QAbW94bW94bW94\r\nMAIL FROM:<mox@localhost>\r\n")
        t.expect(b"538 5.7.11 authentication requires tls *")
        t.expect(b"530 5.7.0 authentication required *")
    finally:
        s.stop()
