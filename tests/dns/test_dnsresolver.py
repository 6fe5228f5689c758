"""DnsResolver against a scripted local DNS server: error kinds, AD bit, shared cache."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from app.dns import DNSNoData, DNSNotFound, DnsResolver, DNSTemporary, DNSTimeout
from tests.dns.fakeserver import FakeDNS, Script


@pytest.fixture
def server() -> Iterator[FakeDNS]:
    s = Script(
        answers={
            ("example.org", "TXT"): ['"v=spf1 -all"', '"two" "parts"'],
            ("example.org", "MX"): ["20 mx2.example.org.", "10 mx1.example.org."],
            ("mx1.example.org", "A"): ["192.0.2.1"],
            ("fail.example", "TXT"): "servfail",
            ("slow.example", "TXT"): "drop",
            ("signed.example", "TXT"): ['"ok"'],
        },
        ad={"signed.example"},
    )
    srv = FakeDNS(s)
    yield srv
    srv.close()


def resolver(srv: FakeDNS, timeout: float = 2.0) -> DnsResolver:
    return DnsResolver([f"127.0.0.1:{srv.port}"], timeout=timeout)


def test_records_and_types(server: FakeDNS) -> None:
    r = resolver(server)
    assert sorted(r.lookup_txt_sync("example.org").records) == ["twoparts", "v=spf1 -all"]
    mx = r.lookup_mx_sync("Example.ORG.")
    assert [(m.pref, m.host) for m in mx.records] == [(10, "mx1.example.org"), (20, "mx2.example.org")]
    assert not mx.authentic
    assert r.lookup_txt_sync("signed.example").authentic


def test_error_kinds(server: FakeDNS) -> None:
    r = resolver(server, timeout=0.5)
    with pytest.raises(DNSNotFound):
        r.lookup_txt_sync("nx.example.org")
    with pytest.raises(DNSNoData):
        r.lookup_a_sync("example.org")
    with pytest.raises(DNSTemporary):
        r.lookup_txt_sync("fail.example")
    with pytest.raises(DNSTimeout):
        r.lookup_txt_sync("slow.example")


def test_cache_shared_between_sync_and_async(server: FakeDNS) -> None:
    r = resolver(server)
    r.lookup_txt_sync("example.org")
    n = len(server.script.queries)

    async def go() -> list[str]:
        return (await r.lookup_txt("example.org")).records

    assert len(asyncio.run(go())) == 2
    with pytest.raises(DNSNotFound):
        r.lookup_txt_sync("nx.example.org")
    with pytest.raises(DNSNotFound):
        r.lookup_txt_sync("nx.example.org")  # negative answer cached
    assert len(server.script.queries) == n + 1


def test_ip_lookup_combines_families(server: FakeDNS) -> None:
    r = resolver(server)
    res = r.lookup_ip_sync("mx1.example.org")
    assert res.records == ["192.0.2.1"]
    with pytest.raises(DNSNotFound):
        r.lookup_ip_sync("nothere.example.org")


def test_invalid_name_is_permanent(server: FakeDNS) -> None:
    from app.dns import DNSPermanent

    r = resolver(server)
    with pytest.raises(DNSPermanent):
        r.lookup_txt_sync("a" * 64 + ".example")
    with pytest.raises(DNSPermanent):
        r.lookup_txt_sync("a..b")


def test_async_under_the_runtime_event_loop(server: FakeDNS) -> None:
    from app.runtime import new_event_loop

    r = resolver(server)

    async def go() -> tuple[list[str], bool]:
        mx, txt = await asyncio.gather(r.lookup_mx("example.org"), r.lookup_txt("signed.example"))
        return [m.host for m in mx.records], txt.authentic

    loop = new_event_loop()  # uvloop where installed
    try:
        assert loop.run_until_complete(go()) == (["mx1.example.org", "mx2.example.org"], True)
    finally:
        loop.close()


def test_timeouts_become_temperror_in_mail_authentication(server: FakeDNS) -> None:
    from app.mailauth import dkim, dmarc, spf
    from tests.mailauth.keys import MESSAGE, rsa_key

    r = resolver(server, timeout=0.5)
    assert spf.check_host(r, "192.0.2.1", "slow.example").status == "temperror"
    server.script.answers[("_dmarc.slow.example", "TXT")] = "drop"
    assert dmarc.lookup(r, "slow.example").status == "temperror"
    server.script.answers[("sel._domainkey.slow.example", "TXT")] = "drop"
    signed = dkim.sign(MESSAGE, "slow.example", [dkim.SignSelector("sel", rsa_key())]) + MESSAGE
    assert dkim.verify(r, signed)[0].status == "temperror"
