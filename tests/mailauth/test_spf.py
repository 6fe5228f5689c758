"""SPF beyond the RFC suite: identities, Received-SPF, limits, failures, record syntax."""

from __future__ import annotations

from app.dns import MockResolver
from app.mailauth import spf, spfrecord

ZONE = """
example.org.        TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.example.org.   TXT "v=spf1 a -all"
mail.example.org.   A   192.0.2.5
loop.example.       TXT "v=spf1 include:loop.example -all"
many.example.       TXT "v=spf1 a:a1.example a:a2.example a:a3.example a:a4.example a:a5.example a:a6.example a:a7.example a:a8.example a:a9.example a:a10.example a:a11.example -all"
void.example.       TXT "v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example -all"
bad.example.        TXT "v=spf1 ip4:1.2.3.4/99 -all"
two.example.        TXT "v=spf1 -all"
two.example.        TXT "v=spf1 +all"
"""


def r(**kw: object) -> MockResolver:
    return MockResolver.from_zone(ZONE, **kw)  # type: ignore[arg-type]


def test_mailfrom_and_helo_identities() -> None:
    res = spf.verify(r(authentic={"example.org"}), "192.0.2.9", "alice@example.org", "mail.example.org")
    assert (res.status, res.identity, res.domain, res.authentic) == ("pass", "mailfrom", "example.org", True)
    res = spf.verify(r(), "192.0.2.5", "", "mail.example.org")
    assert (res.status, res.identity, res.domain) == ("pass", "helo", "mail.example.org")
    res = spf.verify(r(), "198.51.100.1", "alice@example.org", "x")
    assert res.status == "fail"
    assert spf.verify(r(), "192.0.2.5", "", "[192.0.2.5]").status == "none"
    assert spf.verify(r(), "192.0.2.5", "a@nospf.example", "x").status == "none"


def test_errors_and_limits() -> None:
    assert spf.check_host(r(), "192.0.2.1", "loop.example").status == "permerror"
    assert spf.check_host(r(), "192.0.2.1", "many.example").status == "permerror"
    assert spf.check_host(r(), "192.0.2.1", "void.example").status == "permerror"
    assert spf.check_host(r(), "192.0.2.1", "bad.example").status == "permerror"
    assert spf.check_host(r(), "192.0.2.1", "two.example").status == "permerror"
    assert spf.check_host(r(timeout={"example.org"}), "192.0.2.1", "example.org").status == "temperror"
    assert spf.check_host(r(fail={"example.org"}), "192.0.2.1", "example.org").status == "temperror"
    assert spf.check_host(r(), "not-an-ip", "example.org").status == "permerror"


def test_received_spf_header_filters_hostile_text() -> None:
    res = spf.verify(r(), "198.51.100.1", 'evil"\r\nX-Injected: 1@example.org', "helo (with) ;stuff\r\n")
    h = spf.received_spf_header(res, receiver="mx.example.com")
    assert not h.endswith("\r\n") and h.count("\r\n") == h.count("\r\n\t")  # only folding line breaks
    assert all(len(line) <= 78 or " " not in line.strip() for line in h.split("\r\n"))
    flat = h.replace("\r\n\t", " ")
    assert flat.startswith("Received-SPF: fail (")
    assert 'envelope-from="evil\\"X-Injected: 1@example.org";' in flat
    assert flat.endswith("receiver=mx.example.com; identity=mailfrom")


def test_record_syntax() -> None:
    rec = spfrecord.parse(
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx:mx.example.org/24//64 include:x.example ~all"
    )
    assert [d.mechanism for d in rec.directives] == ["ip4", "ip6", "a", "mx", "include", "all"]
    assert rec.directives[-1].qualifier == "~"
    assert spfrecord.parse("v=spf1 redirect=_spf.example.org").redirect == "_spf.example.org"
    for bad in [
        "v=spf2",
        "v=spf1 foo",
        "v=spf1 ip4:1.2.3",
        "v=spf1 all:x",
        "v=spf1 a:nodot",
        "v=spf1 exp=a.example exp=b.example",
        "v=spf1 include:%{z}.example",
        "v=spf1 ip6:zz::/200",
    ]:
        try:
            spfrecord.parse(bad)
        except spfrecord.SPFSyntaxError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_pyspf_never_uses_its_own_dns() -> None:
    import spf as pyspf

    assert pyspf.DNSLookup is spf._dns_lookup
    # Outside check_host there is no resolver: pyspf gets a temporary error, not the network.
    status, _code, _expl = pyspf.query(i="192.0.2.1", s="a@example.org", h="example.org").check()
    assert status == "temperror"
