"""The SMTP client against a small in-test SMTP server on 127.0.0.1: extensions, pipelining,
chunking, DSN parameters, per-recipient results, RCPTMAX, data encoding, STARTTLS (verified,
opportunistic, injection), AUTH mechanisms."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trustme

from app.smtpclient import Client, RcptTo, SMTPClientError, TLSMode, dial, unverified_context
from tests.smtpclient.testserver import SMTPTestServer

CA = trustme.CA()
CERT = CA.issue_cert("mx.test.example", "localhost")


def server_tls() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    CERT.configure_cert(ctx)
    return ctx


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    CA.configure_trust(ctx)
    return ctx


def run(srv: SMTPTestServer, fn: Callable[[SMTPTestServer], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        await srv.start()
        try:
            return await asyncio.wait_for(fn(srv), 20)
        finally:
            await srv.stop()

    return asyncio.run(main())


async def connect(
    srv: SMTPTestServer,
    mode: TLSMode = TLSMode.SKIP,
    ctx: ssl.SSLContext | None = None,
    auth: tuple[str, str, tuple[str, ...]] | None = None,
    host: str = "mx.test.example",
) -> Client:
    d = await dial(["127.0.0.1"], srv.port)
    return await Client.open(
        d.reader,
        d.writer,
        ehlo_hostname="client.example",
        remote_hostname=host,
        tls_mode=mode,
        tls_context=ctx,
        auth=auth,
    )


MSG = (
    b"From: a@example.org\r\nTo: b@test.example\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n.\r\n..two\r\n"
)


def test_pipelined_delivery_with_dsn_params() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv)
        res = await c.deliver(
            "a@example.org",
            [
                RcptTo("b@test.example", ("FAILURE", "DELAY"), "rfc822;b+x=y@test.example"),
                RcptTo("perm@test.example"),
                RcptTo("temp@test.example"),
            ],
            MSG,
            has_8bit=True,
            dsn_ret="hdrs",
            dsn_envid="env 1",
        )
        await c.close()
        assert [r.ok for r in res] == [True, False, False]
        assert res[1].permanent and res[1].code == 550 and res[1].secode == "5.1.1"
        assert not res[2].permanent and res[2].code == 451
        m = srv.messages[0]
        assert m.data == MSG
        assert (
            "BODY=8BITMIME" in m.mail_params
            and "RET=HDRS" in m.mail_params
            and "ENVID=env+201" in m.mail_params
        )
        assert m.rcpts[0] == ("b@test.example", "NOTIFY=FAILURE,DELAY ORCPT=rfc822;b+2Bx+3Dy@test.example")
        # Pipelined: MAIL, RCPTs and DATA went out in one write before any reply was read.
        cmds = [x for x in srv.transcript if x.startswith(b"C: ")]
        assert [x.split()[1] for x in cmds[1:6]] == [b"MAIL", b"RCPT", b"RCPT", b"RCPT", b"DATA"]

    run(SMTPTestServer(), t)


def test_chunking_and_bare_lf_normalized() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv)
        res = await c.deliver("", [RcptTo("b@test.example")], b"Subject: x\n\nline1\rline2\n")
        await c.close()
        assert res[0].ok
        assert srv.messages[0].data == b"Subject: x\r\n\r\nline1\r\nline2\r\n"
        assert srv.messages[0].mail_from == ""
        assert any(x.startswith(b"C: BDAT ") for x in srv.transcript)

    run(SMTPTestServer(extensions=["PIPELINING", "CHUNKING", "SIZE"]), t)


def test_no_pipelining_all_rcpts_rejected() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv)
        res = await c.deliver(
            "a@example.org", [RcptTo("perm1@test.example"), RcptTo("perm2@test.example")], MSG
        )
        # Connection stays usable for the next transaction.
        res2 = await c.deliver("a@example.org", [RcptTo("ok@test.example")], MSG)
        await c.close()
        assert [r.ok for r in res] == [False, False] and res2[0].ok
        assert not any(b"DATA" in x and x.startswith(b"C: ") for x in srv.transcript[:12])

    run(SMTPTestServer(extensions=["ENHANCEDSTATUSCODES"]), t)


def test_rcptmax_splits_transactions() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv)
        rcpts = [RcptTo(f"u{i}@test.example") for i in range(5)]
        res = await c.deliver("a@example.org", rcpts, MSG)
        await c.close()
        assert all(r.ok for r in res)
        assert [len(m.rcpts) for m in srv.messages] == [2, 2, 1]

    run(SMTPTestServer(extensions=["PIPELINING", "LIMITS RCPTMAX=2 MAILMAX=10"]), t)


def test_requirements_not_met_are_permanent() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv)
        with pytest.raises(SMTPClientError) as e1:
            await c.deliver("a@example.org", [RcptTo("b\u00e9@test.example")], MSG, smtputf8=True)
        with pytest.raises(SMTPClientError) as e2:
            await c.deliver("a@example.org", [RcptTo("b@test.example")], MSG, requiretls=True)
        with pytest.raises(SMTPClientError) as e3:
            await c.deliver("a@example.org", [RcptTo("b@test.example")], MSG * 100)
        await c.close()
        assert e1.value.permanent and e1.value.secode == "5.6.7"
        assert e2.value.permanent and e2.value.secode == "5.7.30"
        assert e3.value.permanent and e3.value.secode == "5.3.4"
        assert not srv.messages

    run(SMTPTestServer(extensions=["SIZE 1000"]), t)


def test_data_rejected_temporarily() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv)
        res = await c.deliver("a@example.org", [RcptTo("b@test.example")], MSG)
        await c.close()
        assert not res[0].ok and res[0].code == 452 and res[0].secode == "4.3.1"

    run(SMTPTestServer(data_replies=["452 4.3.1 disk full"]), t)


def test_address_quoting_and_no_crlf_injection() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv)
        res = await c.deliver("a b@example.org", [RcptTo("b@test.example")], MSG)
        assert res[0].ok and srv.messages[0].mail_from == '"a b"@example.org'
        with pytest.raises(SMTPClientError):
            await c.deliver("a@example.org", [RcptTo("b@test.example\r\nRSET")], MSG)
        await c.close()
        mails = [x for x in srv.transcript if x.startswith(b"C: MAIL")]
        assert mails[0] == b'C: MAIL FROM:<"a b"@example.org> SIZE=%d\r\n' % len(MSG)

    run(SMTPTestServer(extensions=["SIZE"]), t)


def test_starttls_verified() -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv, TLSMode.REQUIRED, client_tls())
        assert c.tls and c.tls_verified
        res = await c.deliver("a@example.org", [RcptTo("b@test.example")], MSG, requiretls=True)
        await c.close()
        assert res[0].ok and srv.messages[0].tls and "REQUIRETLS" in srv.messages[0].mail_params

    run(SMTPTestServer(tls_context=server_tls(), extensions=["PIPELINING", "REQUIRETLS"]), t)


def test_starttls_wrong_name_fails_verification() -> None:
    async def t(srv: SMTPTestServer) -> None:
        with pytest.raises(SMTPClientError) as e:
            await connect(srv, TLSMode.REQUIRED, client_tls(), host="other.example")
        assert e.value.kind == "tls"
        # Opportunistic without verification succeeds with the same server.
        c = await connect(srv, TLSMode.OPPORTUNISTIC, unverified_context(), host="other.example")
        assert c.tls and not c.tls_verified
        await c.close()

    run(SMTPTestServer(tls_context=server_tls()), t)


def test_starttls_required_but_not_offered() -> None:
    async def t(srv: SMTPTestServer) -> None:
        with pytest.raises(SMTPClientError) as e:
            await connect(srv, TLSMode.REQUIRED, client_tls())
        assert e.value.kind == "tls"
        c = await connect(srv, TLSMode.OPPORTUNISTIC)
        assert not c.tls
        await c.close()

    run(SMTPTestServer(), t)


def test_starttls_response_injection_refused() -> None:
    async def t(srv: SMTPTestServer) -> None:
        with pytest.raises(SMTPClientError) as e:
            await connect(srv, TLSMode.OPPORTUNISTIC, unverified_context())
        assert "after STARTTLS" in str(e.value)

    run(SMTPTestServer(tls_context=server_tls(), inject_after_starttls=True), t)


@pytest.mark.parametrize(
    "mechs,expect", [((), "SCRAM-SHA-256"), (("CRAM-MD5",), "CRAM-MD5"), (("PLAIN",), "PLAIN")]
)
def test_auth_mechanisms(mechs: tuple[str, ...], expect: str) -> None:
    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv, TLSMode.REQUIRED, client_tls(), auth=("mjl", "s3cret", mechs))
        await c.deliver("a@example.org", [RcptTo("b@test.example")], MSG)
        await c.close()
        assert srv.messages[0].auth_user == "mjl"
        assert any(
            x.startswith(b"C: AUTH " + expect.encode() + b"\r\n")
            or x.startswith(b"C: AUTH " + expect.encode() + b" ")
            for x in srv.transcript
        )

    run(SMTPTestServer(tls_context=server_tls(), users={"mjl": "s3cret"}), t)


def test_auth_scram_plus_channel_binding() -> None:
    import base64 as b64

    der = ssl.PEM_cert_to_DER_cert(CERT.cert_chain_pems[0].bytes().decode())

    async def t(srv: SMTPTestServer) -> None:
        c = await connect(srv, TLSMode.REQUIRED, client_tls(), auth=("mjl", "s3cret", ()))
        await c.close()
        auth = next(x for x in srv.transcript if x.startswith(b"C: AUTH "))
        assert auth.split()[2] == b"SCRAM-SHA-256-PLUS"
        assert b64.b64decode(auth.split()[3]).startswith(b"p=tls-server-end-point,,")
        with pytest.raises(SMTPClientError) as e:
            await connect(srv, TLSMode.REQUIRED, client_tls(), auth=("mjl", "bad", ()))
        assert e.value.kind == "auth"

    srv = SMTPTestServer(
        tls_context=server_tls(),
        users={"mjl": "s3cret"},
        auth_mechs=["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
        cert_der=der,
    )
    run(srv, t)


def test_auth_plain_not_used_by_default_and_bad_password() -> None:
    async def t(srv: SMTPTestServer) -> None:
        with pytest.raises(SMTPClientError) as e:
            await connect(srv, TLSMode.REQUIRED, client_tls(), auth=("mjl", "s3cret", ()))
        assert e.value.kind == "auth" and "no usable" in str(e.value)
        srv.auth_mechs = ["SCRAM-SHA-256"]
        with pytest.raises(SMTPClientError) as e2:
            await connect(srv, TLSMode.REQUIRED, client_tls(), auth=("mjl", "wrong", ()))
        assert e2.value.kind == "auth" and e2.value.code == 535

    run(SMTPTestServer(tls_context=server_tls(), users={"mjl": "s3cret"}, auth_mechs=["PLAIN"]), t)


def test_greeting_refused() -> None:
    async def t(srv: SMTPTestServer) -> None:
        with pytest.raises(SMTPClientError) as e:
            await connect(srv)
        assert e.value.permanent and e.value.code == 554

    run(SMTPTestServer(greeting="554 5.7.1 go away"), t)
