"""MockResolver: zone text, CNAMEs, wildcards, empty non-terminals, failures, authentic flags."""

from __future__ import annotations

import asyncio

import pytest

from app.dns import DNSNoData, DNSNotFound, DNSTemporary, DNSTimeout, MockResolver, Resolver, new_resolver

ZONE = """
$ORIGIN example.com.
@           MX   10 mail
@           TXT  "v=spf1 mx" " -all"
mail        A    192.0.2.1
mail        AAAA 2001:db8::1
alias       CNAME mail
loop1       CNAME loop2
loop2       CNAME loop1
*.wild      TXT  "wild"
a.b         TXT  "deep"
_25._tcp.mail TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000000
$ORIGIN 2.0.192.in-addr.arpa.
1           PTR  mail.example.com.
"""


def mock(**kw: object) -> MockResolver:
    return MockResolver.from_zone(ZONE, **kw)  # type: ignore[arg-type]


def test_protocol() -> None:
    assert isinstance(mock(), Resolver)


def test_answers() -> None:
    r = mock(authentic={"example.com"})
    assert r.lookup_txt_sync("example.com").records == ["v=spf1 mx -all"]
    assert r.lookup_mx_sync("EXAMPLE.com.").records[0].host == "mail.example.com"
    ips = r.lookup_ip_sync("alias.example.com")
    assert sorted(ips.records) == ["192.0.2.1", "2001:db8::1"] and ips.authentic
    assert r.lookup_ip_sync("alias.example.com").cnames == []  # combined result
    assert r.lookup_a_sync("alias.example.com").cnames == ["mail.example.com"]
    assert r.lookup_addr_sync("192.0.2.1").records == ["mail.example.com"]
    assert not r.lookup_addr_sync("192.0.2.1").authentic
    assert r.lookup_tlsa_sync(25, "tcp", "mail.example.com").records[0].usage == 3
    assert r.lookup_txt_sync("x.y.wild.example.com").records == ["wild"]


def test_absence_kinds() -> None:
    r = mock(authentic=True)
    with pytest.raises(DNSNoData):
        r.lookup_txt_sync("b.example.com")  # empty non-terminal
    with pytest.raises(DNSNotFound) as e:
        r.lookup_txt_sync("nope.example.com")
    assert e.value.authentic
    with pytest.raises(DNSNoData):
        r.lookup_txt_sync("mail.example.com")
    with pytest.raises(DNSNoData):
        r.lookup_a_sync("loop1.example.com")  # loop bounded, as a stub resolver reports it


def test_failures() -> None:
    r = mock(fail={"example.com TXT"}, timeout={"mail.example.com"})
    with pytest.raises(DNSTemporary):
        r.lookup_txt_sync("example.com")
    assert r.lookup_mx_sync("example.com").records
    with pytest.raises(DNSTimeout):
        r.lookup_a_sync("mail.example.com")


def test_async() -> None:
    r = mock()

    async def go() -> list[str]:
        return (await r.lookup_ip("mail.example.com")).records

    assert sorted(asyncio.run(go())) == ["192.0.2.1", "2001:db8::1"]


def test_bad_zone_text() -> None:
    with pytest.raises(ValueError):
        MockResolver.from_zone("example.com. IN A not-an-ip\n")


def test_add_and_large_record_set() -> None:
    r = MockResolver()
    for i in range(500):
        r.add("big.example", "A", f"10.0.{i // 256}.{i % 256}")
    assert len(r.lookup_a_sync("big.example").records) == 500


def test_new_resolver_from_env(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    z = tmp_path / "zone"
    z.write_text(ZONE)
    monkeypatch.setenv("MOXPY_TEST_ZONEFILE", str(z))
    monkeypatch.setenv("MOXPY_TEST_ZONE_AUTHENTIC", "example.com")
    r = new_resolver()
    assert isinstance(r, MockResolver)
    assert r.lookup_txt_sync("example.com").authentic


def test_timeout_delay_lets_callers_hit_their_own_deadline() -> None:
    r = MockResolver.from_zone(ZONE, timeout={"example.com TXT"}, timeout_delay=5.0)

    async def go() -> str:
        try:
            await asyncio.wait_for(r.lookup_txt("example.com"), 0.05)
        except TimeoutError:
            return "deadline"
        return "answered"

    assert asyncio.run(go()) == "deadline"
    assert r.lookup_mx_sync("example.com").records  # other names are not delayed
