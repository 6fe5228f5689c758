"""Bad input: parsers raise only their declared error, checks never raise, and big or looping
DNS data is bounded."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.dns import MockResolver
from app.mailauth import authres, dkim, dkimkeys, dmarc, iprev, mtasts, spf, spfrecord, tlsa, tlsrpt

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text built from the characters these records are made of, plus some hostile ones.
record_text = st.text(
    alphabet=st.sampled_from(list('v=spf1DMARCSTKIMTLSRPTv1 ;:./-+~?%{}_@!,0123456789abcxyz\t\r\n"\\é\x00')),
    max_size=80,
)


@SETTINGS
@given(record_text)
def test_record_parsers_raise_only_their_errors(text: str) -> None:
    for fn, err in [
        (spfrecord.parse, spfrecord.SPFSyntaxError),
        (dmarc.parse_record, dmarc.DMARCRecordError),
        (dkimkeys.parse_key_record, dkimkeys.DKIMKeyError),
        (mtasts.parse_record, mtasts.MTASTSError),
        (mtasts.parse_policy, mtasts.MTASTSError),
        (tlsrpt.parse_record, tlsrpt.TLSRPTRecordError),
        (tlsa.parse, tlsa.TLSAError),
    ]:
        try:
            fn(text)  # type: ignore[operator]
        except err:
            pass


@SETTINGS
@given(record_text)
def test_spf_with_arbitrary_record_gives_a_result(text: str) -> None:
    r = MockResolver()
    r.add_txt("example.org", text)
    res = spf.check_host(r, "192.0.2.1", "example.org")
    assert res.status in spf.STATUSES
    h = spf.received_spf_header(res)
    assert h.count("\r\n") == h.count("\r\n\t") and "\n" not in h.replace("\r\n", "")


@SETTINGS
@given(
    st.binary(max_size=300),
    st.sampled_from([b"", b"DKIM-Signature: ", b"DKIM-Signature: v=1; a=rsa-sha256; "]),
)
def test_dkim_verify_never_raises(data: bytes, prefix: bytes) -> None:
    for res in dkim.verify(MockResolver(), prefix + data):
        assert res.status in ("none", "pass", "fail", "policy", "neutral", "temperror", "permerror")


@SETTINGS
@given(st.text(max_size=40), st.text(max_size=40))
def test_dmarc_and_authres_with_hostile_domains(a: str, b: str) -> None:
    res = dmarc.verify(MockResolver(), a, [b], "pass", b)
    assert res.status in ("none", "pass", "fail", "temperror", "permerror")
    h = authres.AuthResults(a, [authres.dmarc_method(res), authres.AuthMethod("x", "pass", b, b)]).header()
    assert h.endswith("\r\n") and "\r\n" not in h.replace("\r\n\t", "")[:-2]


def test_dmarc_tree_walk_is_bounded() -> None:
    r = MockResolver()
    dmarc.lookup(r, ".".join(f"l{i}" for i in range(60)) + ".example")
    assert len(r.queries) <= 8


def test_iprev_many_ptr_names_bounded() -> None:
    r = MockResolver()
    for i in range(100):
        r.add("1.2.0.192.in-addr.arpa", "PTR", f"h{i}.example.")
    r.add("h50.example", "A", "192.0.2.1")
    res = iprev.lookup(r, "192.0.2.1")
    assert res.status == "fail" and len(res.names) == iprev.MAX_NAMES
    assert len(r.queries) <= 1 + iprev.MAX_NAMES


def test_spf_many_mx_and_include_chains_bounded() -> None:
    r = MockResolver()
    r.add("mx.example", "TXT", '"v=spf1 mx -all"')
    for i in range(20):
        r.add("mx.example", "MX", f"{i} m{i}.example.")
    assert spf.check_host(r, "192.0.2.1", "mx.example").status == "permerror"
    for i in range(30):
        r.add(f"c{i}.example", "TXT", f'"v=spf1 include:c{i + 1}.example -all"')
    assert spf.check_host(r, "192.0.2.1", "c0.example").status == "permerror"
    assert len(r.queries) < 60


@SETTINGS
@given(st.lists(st.sampled_from([b" ", b"\t", b"a", b"\r\n", b"b ", b"\r", b"\n", b"  \r\n"]), max_size=30))
def test_body_canonicalization_matches_dkimpy(parts: list[bytes]) -> None:
    from dkim.canonicalization import Relaxed, Simple

    from app.mailauth.dkimcrypto import canonical_body

    body = b"".join(parts)
    assert canonical_body(body, True) == Relaxed.canonicalize_body(body)
    assert canonical_body(body, False) == Simple.canonicalize_body(body)
