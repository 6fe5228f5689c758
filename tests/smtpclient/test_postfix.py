"""The SMTP client and the queue against a real Postfix smtpd (Debian's postfix) on loopback:
verified STARTTLS, pipelining, chunking, DSN parameters, per-recipient refusals, and queue
delivery with a failure DSN for the refused recipient."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.dns import MockResolver
from app.queue import Filter, Queue, QueueDeps, Recipient
from app.runtime import run_blocking
from app.smtpclient import Client, RcptTo, TLSMode, dial
from tests.queue.helpers import CollectingDelivery, dsn_status, make_config, wait_for
from tests.smtpclient.postfix import DOMAIN, Postfix, running_postfix

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def postfix() -> Iterator[Postfix]:
    with running_postfix() as pf:
        yield pf


def verified(pf: Postfix) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pf.ca.configure_trust(ctx)
    return ctx


MSG = (
    "From: sender@example.org\r\nTo: a@postfix.test\r\nSubject: h\u00e9llo\r\n"
    "Message-ID: <pf1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n.dot line\r\nb\u00f6dy\r\n"
).encode()


def test_client_to_postfix(postfix: Postfix) -> None:
    before = len(postfix.messages())

    async def main() -> None:
        d = await dial(["127.0.0.1"], postfix.port)
        c = await Client.open(
            d.reader,
            d.writer,
            ehlo_hostname="client.example.org",
            remote_hostname=DOMAIN,
            tls_mode=TLSMode.REQUIRED,
            tls_context=verified(postfix),
        )
        assert c.tls_verified
        assert {"PIPELINING", "CHUNKING", "8BITMIME", "SMTPUTF8", "DSN"} <= set(c.extensions)
        res = await c.deliver(
            "sender@example.org",
            [
                RcptTo("a@postfix.test", ("FAILURE",), "rfc822;a@postfix.test"),
                RcptTo("b@elsewhere.example"),
                RcptTo("c@postfix.test"),
            ],
            MSG,
            has_8bit=True,
            dsn_envid="pf-env-1",
            dsn_ret="HDRS",
        )
        await c.close()
        assert [r.ok for r in res] == [True, False, True]
        assert res[1].permanent and res[1].code == 554 and res[1].secode == "5.7.1"

    asyncio.run(main())
    got = postfix.wait_messages(before + 2)[before:]
    for m in got:
        assert m.endswith(MSG.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n"))
        assert b"Return-Path: <sender@example.org>" in m
    assert b"with ESMTPS" in got[0]


def test_queue_to_postfix(postfix: Postfix, tmp_path: Path) -> None:
    before = len(postfix.messages())
    zone = f"{DOMAIN}. MX 10 mx.{DOMAIN}.\nmx.{DOMAIN}. A 127.0.0.1\n"

    async def main() -> None:
        ld = CollectingDelivery()
        q = Queue(
            QueueDeps(
                config=make_config(),
                data_dir=tmp_path,
                resolver=MockResolver.from_zone(zone),
                smtp_port=postfix.port,
                local_delivery=ld,
            )
        )
        await q.start()
        try:
            await run_blocking(
                q.add,
                "mjl",
                "mjl@example.org",
                [Recipient("x@postfix.test"), Recipient("y@postfix.test"), "z@nullroute.example"],
                MSG,
                has_8bit=True,
            )
            # The third recipient's domain has no DNS: permanent failure, DSN to the sender.
            await wait_for(lambda: not q.list_msgs(Filter()), 30)
            retired = {r.msg.recipient: r.success for r in q.retired(Filter())}
            assert retired == {"x@postfix.test": True, "y@postfix.test": True, "z@nullroute.example": False}
            assert dsn_status(ld.dsns()[0])[0]["final-recipient"] == "rfc822; z@nullroute.example"
        finally:
            await q.stop()
            q.close()

    asyncio.run(main())
    got = postfix.wait_messages(before + 2)[before:]
    assert all(b"Subject: h\xc3\xa9llo" in m for m in got)
    # Opportunistic STARTTLS was used (unverified: no MTA-STS/DANE policy).
    assert all(b"with ESMTPS" in m for m in got)
