"""DMARC: record parsing, RFC 9989 tree walk and organizational domain, alignment, policy choice."""

from __future__ import annotations

import random

import pytest

from app.dns import MockResolver
from app.mailauth import dmarc, orgdomain

ZONE = """
_dmarc.example.org.          TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.org"
_dmarc.strict.example.       TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.sub.strict.example.   TXT "v=DMARC1; p=none"
_dmarc.np.example.           TXT "v=DMARC1; p=none; sp=none; np=reject"
exists.np.example.           A   192.0.2.1
_dmarc.pct.example.          TXT "v=DMARC1; p=reject; pct=0"
_dmarc.testing.example.      TXT "v=DMARC1; p=reject; t=y"
_dmarc.psd.example.          TXT "v=DMARC1; p=reject; psd=y"
_dmarc.org.psd.example.      TXT "v=DMARC1; p=none; psd=n"
_dmarc.bad.example.          TXT "v=DMARC1; p=bogus"
_dmarc.two.example.          TXT "v=DMARC1; p=none"
_dmarc.two.example.          TXT "v=DMARC1; p=reject"
_dmarc.a.b.c.d.e.f.g.h.i.example. TXT "v=DMARC1; p=quarantine"
_dmarc.dept.corp.example.    TXT "v=DMARC1; p=none"
_dmarc.corp.example.         TXT "v=DMARC1; p=reject"
_dmarc.dup.multi.example.    TXT "v=DMARC1; p=none"
_dmarc.dup.multi.example.    TXT "v=DMARC1; p=quarantine"
_dmarc.multi.example.        TXT "v=DMARC1; p=reject"
_dmarc.bank.                 TXT "v=DMARC1; p=reject; psd=y"
_dmarc.quar.example.         TXT "v=DMARC1; p=quarantine; t=y"
"""


def resolver(**kw: object) -> MockResolver:
    return MockResolver.from_zone(ZONE, **kw)  # type: ignore[arg-type]


def test_parse_record() -> None:
    rec = dmarc.parse_record(
        "v=DMARC1; p=quarantine; sp=none; adkim=s; pct=50; rua=mailto:a@x.example!10m,mailto:b@y"
    )
    assert (rec.policy, rec.subdomain_policy, rec.adkim, rec.aspf, rec.pct) == (
        "quarantine",
        "none",
        "s",
        "r",
        50,
    )
    assert rec.rua[0].address == "mailto:a@x.example" and rec.rua[0].max_size == "10m"
    assert dmarc.parse_record("v=DMARC1; rua=mailto:x@y.example").policy == "none"  # RFC 7489 §6.6.3
    assert dmarc.parse_record("v=DMARC1; p=none; future=yes").unknown == {"future": "yes"}
    for bad in [
        "",
        "p=none",
        "v=DMARC1",
        "v=DMARC1; p=none; adkim=x",
        "v=DMARC1; p=none; pct=101",
        "v=DMARC1; p=none; p=reject",
        "v=DMARC1; p=none; sp=maybe",
        "v=DMARC1; p=none; rua=nocolon",
    ]:
        with pytest.raises(dmarc.DMARCRecordError):
            dmarc.parse_record(bad)


def test_tree_walk_names() -> None:
    assert orgdomain.tree_walk_names("a.b.example.com") == [
        "a.b.example.com",
        "b.example.com",
        "example.com",
        "com",
    ]
    long = "1.2.3.4.5.6.7.8.9.example.com"
    names = orgdomain.tree_walk_names(long)
    assert names[0] == long and names[1] == "5.6.7.8.9.example.com" and len(names) == 8


def test_lookup_walks_up() -> None:
    r = resolver()
    look = dmarc.lookup(r, "deep.sub.example.org")
    assert look.status == "pass" and look.record_domain == "example.org"
    assert dmarc.lookup(r, "nothing.example").status == "none"
    assert dmarc.lookup(r, "bad.example").status == "permerror"
    assert dmarc.lookup(r, "two.example").status == "none"  # ambiguous: two records, none above
    assert dmarc.lookup(resolver(timeout={"_dmarc.example.org"}), "example.org").status == "temperror"
    # 11 labels: the walk jumps to 7 labels and misses the record at 10 labels, as RFC 9989 says.
    assert dmarc.lookup(r, "x.a.b.c.d.e.f.g.h.i.example").status == "none"


def test_org_domain() -> None:
    r = resolver()
    assert orgdomain.org_domain(r, "mail.example.org") == "example.org"
    assert orgdomain.org_domain(r, "x.y.org.psd.example") == "org.psd.example"  # psd=n
    assert orgdomain.org_domain(r, "x.other.psd.example") == "other.psd.example"  # below a psd=y
    assert orgdomain.org_domain(r, "nothing.example") == "nothing.example"


def test_verify_pass_and_alignment() -> None:
    r = resolver()
    res = dmarc.verify(r, "example.org", ["mail.example.org"], "fail", "other.example")
    assert res.status == "pass" and res.aligned_dkim and not res.aligned_spf
    res = dmarc.verify(r, "example.org", [], "pass", "bounces.example.org")
    assert res.status == "pass" and res.aligned_spf
    res = dmarc.verify(r, "strict.example", ["sub.strict.example"], "pass", "sub.strict.example")
    assert res.status == "fail" and res.reject and res.policy == "reject"


def test_verify_policy_choice() -> None:
    r = resolver()
    res = dmarc.verify(r, "example.org", [], "fail", "example.org")
    assert (res.status, res.policy, res.reject) == ("fail", "reject", True)
    res = dmarc.verify(r, "sub.example.org", [], "none", "")
    assert (res.policy, res.reject) == ("quarantine", True) and "sp=" in res.reason
    res = dmarc.verify(r, "gone.np.example", [], "none", "")
    assert (res.policy, res.reject) == ("reject", True) and "np=" in res.reason
    res = dmarc.verify(r, "exists.np.example", [], "none", "")
    assert (res.policy, res.reject) == ("none", False)


def test_pct_and_testing_do_not_enforce() -> None:
    r = resolver()
    res = dmarc.verify(r, "pct.example", [], "fail", "pct.example", rng=random.Random(1))
    assert res.status == "fail" and not res.reject and "pct" in res.reason
    res = dmarc.verify(r, "testing.example", [], "fail", "testing.example")
    assert res.status == "fail" and not res.reject and "t=y" in res.reason


def test_external_report_authorization() -> None:
    r = resolver()
    r.add("example.org._report._dmarc.reports.example", "TXT", '"v=DMARC1"')
    assert dmarc.lookup_external_report(r, "example.org", "reports.example")[0]
    assert not dmarc.lookup_external_report(r, "other.org", "reports.example")[0]


def test_rfc9989_policy_discovery() -> None:
    r = resolver()
    # No record of its own: the record highest in the tree applies, not the nearest.
    look = dmarc.lookup(r, "x.dept.corp.example")
    assert (look.record_domain, look.org_domain) == ("corp.example", "corp.example")
    # Its own record applies to the author domain itself.
    assert dmarc.lookup(r, "dept.corp.example").record_domain == "dept.corp.example"
    # Duplicate records at one name are discarded and the walk continues.
    assert dmarc.lookup(r, "dup.multi.example").record_domain == "multi.example"
    # A public suffix domain's policy covers a registered domain without a record (RFC 9091).
    look = dmarc.lookup(r, "www.shop.bank")
    assert (look.record_domain, look.org_domain) == ("bank", "shop.bank")
    res = dmarc.verify(r, "www.shop.bank", ["shop.bank"], "none", "")
    assert res.status == "pass"  # aligned: same organizational domain shop.bank


def test_testing_mode_demotes_policy() -> None:
    r = resolver()
    res = dmarc.verify(r, "testing.example", [], "fail", "testing.example")
    assert (res.policy, res.reject, res.quarantine) == ("quarantine", False, True)
    res = dmarc.verify(r, "quar.example", [], "fail", "quar.example")
    assert (res.policy, res.reject, res.quarantine) == ("none", False, False)


def test_connection_lookups_reused_but_not_temperrors() -> None:
    """verify() with a connection's lookup dict asks DNS once per author domain; a temporary
    failure is not kept, so the next message of the connection asks again."""
    r = resolver()
    lookups: dict[str, dmarc.DMARCLookup] = {}
    first = dmarc.verify(r, "example.org", [], "fail", "example.org", lookups=lookups)
    asked = len(r.queries)
    again = dmarc.verify(r, "Example.ORG", [], "fail", "example.org", lookups=lookups)
    assert len(r.queries) == asked and (again.status, again.policy) == (first.status, first.policy)
    assert list(lookups) == ["example.org"]

    broken = resolver(timeout={"_dmarc.example.org"})
    other: dict[str, dmarc.DMARCLookup] = {}
    assert dmarc.verify(broken, "example.org", [], "fail", "example.org", lookups=other).status == "temperror"
    assert other == {}
