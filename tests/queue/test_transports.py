"""Transports and connection details: Socks (through a SOCKS5 proxy), Submissions (implicit
TLS), temporary DNS failures, IPv6/IPv4 alternation, plaintext fallback after a failed
opportunistic STARTTLS, and REQUIRETLS."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from types import SimpleNamespace

import pytest
import trustme

from app.dns import MockResolver
from app.queue import Filter, Queue
from app.runtime import run_blocking
from tests.queue.helpers import MSG, ZONE, CollectingDelivery, dsn_status, make_config, wait_for
from tests.queue.socks5 import Socks5Proxy
from tests.queue.test_delivery import queued, run_queue
from tests.smtpclient.test_client import client_tls, server_tls
from tests.smtpclient.testserver import SMTPTestServer


def test_socks_transport(tmp_path: Path) -> None:
    transports = {
        "proxy": SimpleNamespace(
            Socks=SimpleNamespace(Address="", RemoteIPs=["198.51.100.1"], RemoteHostname="out.example.org")
        )
    }
    routes = [SimpleNamespace(ToDomain=[], FromDomain=[], MinimumAttempts=0, Transport="proxy")]

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        proxy = await Socks5Proxy({"mx.dest.example": "127.0.0.1"}).start()
        try:
            transports["proxy"].Socks.Address = f"127.0.0.1:{proxy.port}"
            await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example"], MSG)
            await wait_for(lambda: queued(q) == 0)
            assert proxy.requests == [("mx.dest.example", srv.port)]
            assert b"C: EHLO out.example.org\r\n" in srv.transcript
            assert len(srv.messages) == 1
        finally:
            await proxy.stop()

    run_queue(tmp_path, t, config=make_config(transports=transports, routes=routes))


def test_submissions_smarthost_implicit_tls(tmp_path: Path) -> None:
    transports = {"relay": SimpleNamespace(Submissions=SimpleNamespace(Host="localhost", Port=0, Auth=None))}
    routes = [SimpleNamespace(ToDomain=[], FromDomain=[], MinimumAttempts=0, Transport="relay")]

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        transports["relay"].Submissions.Port = srv.port
        await run_blocking(q.add, "mjl", "mjl@example.org", ["a@anywhere.example"], MSG)
        await wait_for(lambda: queued(q) == 0)
        assert srv.messages[0].tls and not any(b"STARTTLS" in x for x in srv.transcript)

    run_queue(
        tmp_path,
        t,
        SMTPTestServer(implicit_tls=server_tls()),
        config=make_config(transports=transports, routes=routes),
        tls_context=client_tls(),
    )


def test_temporary_dns_failure_is_retried(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        q.deps.resolver = MockResolver.from_zone(ZONE, fail=["dest.example"])
        await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example"], MSG)
        await wait_for(
            lambda: bool(q.list_msgs(Filter())) and q.list_msgs(Filter())[0].attempts == 1 and not q._busy
        )
        m = q.list_msgs(Filter())[0]
        assert not m.results[-1].success and m.results[-1].secode == "4.4.3"
        q.deps.resolver = MockResolver.from_zone(ZONE)
        await run_blocking(q.schedule, Filter(), 0, True)
        await wait_for(lambda: queued(q) == 0)
        assert not ld.dsns() and len(srv.messages) == 1

    run_queue(tmp_path, t)


def _has_ipv6_loopback() -> bool:
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_first_then_ipv4(tmp_path: Path) -> None:
    zone = "dual.example. MX 10 mx.dual.example.\nmx.dual.example. A 127.0.0.1\nmx.dual.example. AAAA ::1\n"

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        q.deps.resolver = MockResolver.from_zone(zone)
        ids = await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dual.example"], MSG)
        await wait_for(lambda: queued(q) == 0)
        # The server listens on 127.0.0.1 only: ::1 was tried first and refused.
        r = q.retired(Filter(ids=ids))[0]
        assert r.msg.dialed_ips["mx.dual.example"] == ["::1", "127.0.0.1"]

    run_queue(tmp_path, t)


def test_opportunistic_starttls_falls_back_to_plaintext(tmp_path: Path) -> None:
    broken = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no certificate: every handshake fails

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example"], MSG)
        await wait_for(lambda: queued(q) == 0)
        assert len(srv.messages) == 1 and not srv.messages[0].tls
        assert srv.connections == 2

    run_queue(tmp_path, t, SMTPTestServer(tls_context=broken))


def test_requiretls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("mx.dest.example")
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(sctx)
    cctx = ssl.create_default_context()
    ca.configure_trust(cctx)

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example"], MSG, requiretls=True)
        await wait_for(lambda: queued(q) == 0)
        assert srv.messages[0].tls and "REQUIRETLS" in srv.messages[0].mail_params
        # Without REQUIRETLS support at the server: permanent failure, no plaintext.
        srv.extensions = [x for x in srv.extensions if x != "REQUIRETLS"]
        await run_blocking(q.add, "mjl", "mjl@example.org", ["b@dest.example"], MSG, requiretls=True)
        await wait_for(lambda: queued(q) == 0 and len(ld.dsns()) == 1)
        assert dsn_status(ld.dsns()[0])[0]["status"] == "5.7.30"
        assert len(srv.messages) == 1

    srv = SMTPTestServer(tls_context=sctx, extensions=["PIPELINING", "REQUIRETLS", "ENHANCEDSTATUSCODES"])
    run_queue(tmp_path, t, srv, tls_context=cctx)


def test_connection_not_reused_across_tls_requirements(tmp_path: Path) -> None:
    ca = trustme.CA()
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("mx.dest.example").configure_cert(sctx)
    cctx = ssl.create_default_context()
    ca.configure_trust(cctx)

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        rule = await run_blocking(q.holdrule_add, "", "", "")
        await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example"], MSG)
        await run_blocking(q.add, "mjl", "mjl@example.org", ["b@dest.example"], MSG, requiretls=True)
        await run_blocking(q.add, "mjl", "mjl@example.org", ["c@dest.example"], MSG)
        await run_blocking(q.holdrule_remove, rule.id)
        await run_blocking(q.hold, Filter(), False)
        await wait_for(lambda: queued(q) == 0)
        assert not ld.dsns() and len(srv.messages) == 3
        assert 2 <= srv.connections <= 3

    srv = SMTPTestServer(tls_context=sctx, extensions=["PIPELINING", "REQUIRETLS", "ENHANCEDSTATUSCODES"])
    run_queue(tmp_path, t, srv, tls_context=cctx)
