"""Authentication-Results rendering and ARC sealing/verification."""

from __future__ import annotations

from app.dns import MockResolver
from app.mailauth import arc, authres, dkim, dkimkeys, dmarc, iprev, spf
from tests.mailauth.keys import MESSAGE, publish, rsa_key


def test_auth_results_header() -> None:
    ar = authres.AuthResults(
        "mx.example.com",
        [
            authres.iprev_method(iprev.IPRevResult("pass", "192.0.2.1", "mail.example.org", authentic=False)),
            authres.spf_method(
                spf.SPFResult(
                    "pass", "mailfrom", "example.org", "a@example.org", "h", "192.0.2.1", authentic=True
                )
            ),
            *authres.dkim_methods(
                [
                    dkim.DKIMResult(
                        "pass",
                        "example.org",
                        "sel",
                        "",
                        "rsa-sha256",
                        "abcdefghijkl",
                        record=dkimkeys.parse_key_record("v=DKIM1; p=YQ=="),
                    )
                ]
            ),
            authres.dmarc_method(dmarc.DMARCResult("pass", "example.org")),
        ],
    )
    h = ar.header()
    assert h.startswith("Authentication-Results: mx.example.com;")
    assert h.endswith("\r\n")
    flat = h.replace("\r\n\t", " ")
    assert "iprev=pass (without dnssec) policy.iprev=192.0.2.1;" in flat
    assert "spf=pass (with dnssec) smtp.mailfrom=example.org;" in flat
    assert (
        "dkim=pass (without dnssec) header.d=example.org header.s=sel header.a=rsa-sha256 header.b=abcdefghijkl;"
        in flat
    )
    assert flat.rstrip().endswith("dmarc=pass (without dnssec) header.from=example.org")
    assert all(len(line) <= 78 for line in h.split("\r\n"))


def test_dkim_method_has_key_size_like_mox() -> None:
    from tests.mailauth.keys import MESSAGE as msg

    r = MockResolver()
    publish(r, "rsa", "example.org", dkimkeys.txt_record(rsa_key()))
    res = dkim.verify(r, dkim.sign(msg, "example.org", [dkim.SignSelector("rsa", rsa_key())]) + msg)
    assert authres.dkim_methods(res)[0].comment == "2048 bit rsa, without dnssec"


def test_auth_results_quotes_hostile_values() -> None:
    m = authres.AuthMethod(
        "spf",
        "permerror",
        "x) (y",
        'bad "reason"\r\nX-Evil: 1',
        (authres.AuthProp("smtp", "helo", "a b;c\r\n"),),
    )
    h = authres.AuthResults("mx.example.com", [m]).header()
    assert h.count("\r\n") == h.count("\r\n\t") + 1
    assert 'reason="bad \\"reason\\"X-Evil: 1"' in h.replace("\r\n\t", " ")
    assert (
        authres.AuthResults("mx.example.com").header() == "Authentication-Results: mx.example.com; none\r\n"
    )
    assert authres.dkim_methods([])[0].tokens() == ["dkim=none", 'reason="no dkim signatures"']


def test_arc_seal_and_verify() -> None:
    r = MockResolver()
    publish(r, "arc", "forwarder.example", dkimkeys.txt_record(rsa_key()))
    assert arc.verify(r, MESSAGE).status == "none"
    ar = authres.AuthResults("mx.forwarder.example", [authres.AuthMethod("spf", "pass")]).header().encode()
    msg = ar + MESSAGE
    sealed = arc.seal(msg, "forwarder.example", "arc", rsa_key(), "mx.forwarder.example") + msg
    res = arc.verify(r, sealed)
    assert (res.status, res.instance) == ("pass", 1)
    tampered = sealed.replace(b"this is a test", b"this is changed")
    assert arc.verify(r, tampered).status == "fail"
    r2 = MockResolver(timeout={"arc._domainkey.forwarder.example"})
    assert arc.verify(r2, sealed).status == "temperror"
    assert arc.verify(r, b"ARC-Seal: garbage\r\n" + MESSAGE).status == "fail"
