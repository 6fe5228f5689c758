"""MX resolution (CNAME, implicit MX, null MX, missing domain, DNS failure) and IP ordering."""

from __future__ import annotations

import asyncio

import pytest

from app.dns import MockResolver
from app.smtpclient import SMTPClientError, gather_destinations, gather_ips

ZONE = """
multi.example. MX 20 mx3.multi.example.
multi.example. MX 10 mx1.multi.example.
multi.example. MX 10 mx2.multi.example.
implicit.example. A 192.0.2.1
alias.example. CNAME target.example.
target.example. MX 10 mx.target.example.
nullmx.example. MX 0 .
dual.example. A 192.0.2.1
dual.example. A 192.0.2.2
dual.example. AAAA 2001:db8::1
dual.example. AAAA 2001:db8::2
broken.example. MX 10 mx.broken.example.
"""


def resolver() -> MockResolver:
    return MockResolver.from_zone(ZONE, fail=["servfail.example"])


def test_mx_ordering() -> None:
    d = asyncio.run(gather_destinations(resolver(), "Multi.Example."))
    assert d.hosts[2] == "mx3.multi.example"
    assert set(d.hosts[:2]) == {"mx1.multi.example", "mx2.multi.example"}
    assert not d.implicit


def test_implicit_mx_and_cname() -> None:
    d = asyncio.run(gather_destinations(resolver(), "implicit.example"))
    assert d.implicit and d.hosts == ["implicit.example"]
    d = asyncio.run(gather_destinations(resolver(), "alias.example"))
    assert d.expanded == "target.example" and d.hosts == ["mx.target.example"]


@pytest.mark.parametrize(
    "domain,permanent,secode",
    [
        ("nullmx.example", True, "5.1.10"),
        ("nonexistent.example", True, "5.1.2"),
        ("servfail.example", False, "4.4.3"),
    ],
)
def test_mx_errors(domain: str, permanent: bool, secode: str) -> None:
    with pytest.raises(SMTPClientError) as e:
        asyncio.run(gather_destinations(resolver(), domain))
    assert e.value.permanent == permanent and e.value.secode == secode


def test_ip_literal() -> None:
    d = asyncio.run(gather_destinations(resolver(), "[192.0.2.9]"))
    assert d.hosts == ["192.0.2.9"]


def test_ip_alternation() -> None:
    r = resolver()
    h = asyncio.run(gather_ips(r, "dual.example", []))
    fam = [":" in ip for ip in h.ips]
    assert fam == [True, False, True, False]
    # After dialing an IPv6 address, the next attempt starts with IPv4 and untried addresses.
    h2 = asyncio.run(gather_ips(r, "dual.example", [h.ips[0]]))
    assert ":" not in h2.ips[0]
    assert h2.ips.index(h.ips[0]) == 3
    h3 = asyncio.run(gather_ips(r, "dual.example", [], disable_ipv6=True))
    assert h3.ips == ["192.0.2.1", "192.0.2.2"]
    with pytest.raises(SMTPClientError):
        asyncio.run(gather_ips(r, "implicit.example", [], disable_ipv4=True))
    with pytest.raises(SMTPClientError) as e:
        asyncio.run(gather_ips(r, "mx.broken.example", []))
    assert not e.value.permanent
