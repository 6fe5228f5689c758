"""DKIM signing and verification with mox's policy, through MockResolver."""

from __future__ import annotations

import time

import pytest

from app.dns import MockResolver
from app.mailauth import dkim, dkimconf, dkimkeys
from tests.conftest import INTEROP, require_tool
from tests.mailauth.keys import MESSAGE, ed_key, publish, rsa_key


def setup(**sel: object) -> tuple[MockResolver, bytes]:
    r = MockResolver()
    publish(r, "rsa", "example.org", dkimkeys.txt_record(rsa_key()))
    publish(r, "ed", "example.org", dkimkeys.txt_record(ed_key()))
    sels = [dkim.SignSelector("rsa", rsa_key(), **sel), dkim.SignSelector("ed", ed_key(), **sel)]  # type: ignore[arg-type]
    return r, dkim.sign(MESSAGE, "example.org", sels) + MESSAGE


@pytest.mark.parametrize("relaxed", [True, False])
def test_sign_verify_rsa_and_ed25519(relaxed: bool) -> None:
    r, signed = setup(header_relaxed=relaxed, body_relaxed=relaxed)
    res = dkim.verify(r, signed)
    assert [(x.status, x.selector, x.algorithm) for x in res] == [
        ("pass", "rsa", "rsa-sha256"),
        ("pass", "ed", "ed25519-sha256"),
    ]
    assert all(x.domain == "example.org" and len(x.header_b) == 12 for x in res)


def test_lf_line_endings_verify() -> None:
    r, signed = setup()
    assert [x.status for x in dkim.verify(r, signed.replace(b"\r\n", b"\n"))] == ["pass", "pass"]


def test_modified_body_and_header_fail() -> None:
    r, signed = setup()
    assert {x.status for x in dkim.verify(r, signed.replace(b"this is a test", b"this is a TEST"))} == {
        "fail"
    }
    assert {
        x.status for x in dkim.verify(r, signed.replace(b"Subject: test message", b"Subject: changed"))
    } == {"fail"}


def test_sealing_prevents_added_headers() -> None:
    r, signed = setup()
    extra = signed.replace(b"From: Alice", b"Reply-To: evil@example.net\r\nFrom: Alice", 1)
    assert {x.status for x in dkim.verify(r, extra)} == {"fail"}
    r2, unsealed = setup(seal=False)
    extra2 = unsealed.replace(b"From: Alice", b"Reply-To: evil@example.net\r\nFrom: Alice", 1)
    assert {x.status for x in dkim.verify(r2, extra2)} == {"pass"}


def test_expiration() -> None:
    r = MockResolver()
    publish(r, "rsa", "example.org", dkimkeys.txt_record(rsa_key()))
    sel = dkim.SignSelector("rsa", rsa_key(), expiration=3600)
    fresh = dkim.sign(MESSAGE, "example.org", [sel]) + MESSAGE
    assert b"x=" in fresh and dkim.verify(r, fresh)[0].status == "pass"
    # dkimpy allows 10 hours of clock skew.
    old = dkim.sign(MESSAGE, "example.org", [sel], now=time.time() - 20 * 3600) + MESSAGE
    res = dkim.verify(r, old)[0]
    assert res.status == "permerror" and "x=" in res.reason


def test_policy_rules() -> None:
    r = MockResolver()
    publish(r, "rsa", "example.org", dkimkeys.txt_record(rsa_key()))
    no_subject = dkim.sign(
        MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key(), headers=("From", "To"))]
    )
    res = dkim.verify(r, no_subject + MESSAGE)[0]
    assert res.status == "policy" and "subject" in res.reason
    sha1 = dkim.sign(MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key(), hash="sha1")])
    res = dkim.verify(r, sha1 + MESSAGE)[0]
    assert res.status == "fail" and "sha1" in res.reason
    # l= is refused whatever the signature says.
    with_l = no_subject.replace(b"d=example.org;", b"d=example.org; l=10;")
    signed = dkim.sign(MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key())])
    with_l = signed.replace(b"d=example.org;", b"d=example.org; l=10;")
    assert dkim.verify(r, with_l + MESSAGE)[0].status == "policy"


def test_from_must_be_signed() -> None:
    r = MockResolver()
    publish(r, "rsa", "example.org", dkimkeys.txt_record(rsa_key()))
    # A signature that verifies cryptographically but does not cover From (RFC 6376 §6.1.1).
    from app.mailauth import dkimcrypto

    sig = dkim.sign(
        MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key(), headers=("From", "Subject"))]
    )
    assert dkim.verify(r, sig + MESSAGE)[0].status == "pass"
    import dkim as dkimpy

    d = dkimpy.DKIM(MESSAGE)
    c = dkimcrypto.policy(b"relaxed/relaxed")[0]
    fields = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"relaxed/relaxed"),
        (b"d", b"example.org"),
        (b"s", b"rsa"),
        (b"h", b"subject"),
        (b"bh", b""),
        (b"b", b""),
    ]
    import base64
    import hashlib

    fields[6] = (b"bh", base64.b64encode(hashlib.sha256(dkimcrypto.canonical_body(d.body, True)).digest()))
    value = b"; ".join(b"=".join(f) for f in fields)
    digest = dkimcrypto.header_digest(d.headers, c, [b"subject"], (b"DKIM-Signature", b" " + value), "sha256")
    fields[7] = (b"b", base64.b64encode(dkimcrypto.sign_digest(rsa_key(), "sha256", digest)))
    hdr = b"DKIM-Signature: " + b"; ".join(b"=".join(f) for f in fields) + b"\r\n"
    res = dkim.verify(r, hdr + MESSAGE)[0]
    assert res.status == "permerror" and "from header not signed" in res.reason


def test_key_record_rules() -> None:
    signed = dkim.sign(MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key())]) + MESSAGE
    p = rsa_key().public_b64
    cases = {
        f"v=DKIM1; h=sha1; p={p}": "permerror",  # hash not allowed
        "v=DKIM1; p=": "permerror",  # revoked
        f"v=DKIM1; k=ed25519; p={p}": "permerror",  # key type mismatch
        f"v=DKIM1; s=other; p={p}": "permerror",  # not for email
        f"v=DKIM1; h=sha256; s=email; t=y; p={p}": "pass",
        "v=DKIM1; p=%%%": "permerror",
        "garbage": "permerror",
    }
    for record, want in cases.items():
        r = MockResolver()
        publish(r, "rsa", "example.org", record)
        assert dkim.verify(r, signed)[0].status == want, record


def test_strict_identity_flag() -> None:
    r = MockResolver()
    publish(r, "rsa", "example.org", f"v=DKIM1; t=s; p={rsa_key().public_b64}")
    signed = dkim.sign(MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key())]) + MESSAGE
    assert dkim.verify(r, signed)[0].status == "pass"  # no i=, so i= defaults to @d


def test_dns_failures() -> None:
    signed = dkim.sign(MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key())]) + MESSAGE
    assert dkim.verify(MockResolver(), signed)[0].status == "permerror"
    r = MockResolver(timeout={"rsa._domainkey.example.org"})
    assert dkim.verify(r, signed)[0].status == "temperror"
    r = MockResolver(fail={"rsa._domainkey.example.org"})
    assert dkim.verify(r, signed)[0].status == "temperror"


def test_weak_rsa_key_refused() -> None:
    import base64
    import subprocess

    import dkim as dkimpy
    from cryptography.hazmat.primitives import serialization

    openssl = require_tool("openssl")
    pem = subprocess.run([openssl, "genrsa", "768"], capture_output=True, check=True).stdout
    with pytest.raises(dkimkeys.DKIMKeyError):
        dkimkeys.load_private_key(pem)
    # A signature made with such a key is refused by policy (RFC 8301 §3.2).
    key = serialization.load_pem_private_key(pem, None)
    pub = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    sig = dkimpy.sign(MESSAGE, b"weak", b"example.org", pkcs1, include_headers=[b"from", b"subject"])
    r = MockResolver()
    publish(r, "weak", "example.org", "v=DKIM1; p=" + base64.b64encode(pub).decode())
    res = dkim.verify(r, sig + MESSAGE)[0]
    assert res.status == "policy" and "small" in res.reason


def test_malformed_signatures_never_raise() -> None:
    r = MockResolver()
    for hdr in [
        b"DKIM-Signature: garbage\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=x; h=from; bh=!!; b=!!\r\n",
        b"DKIM-Signature: v=1; a=nope; d=example.org; s=x; h=from:subject; bh=YQ==; b=YQ==\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=x; h=from:subject; bh=YQ==; b=YQ==; i=@other.org\r\n",
    ]:
        res = dkim.verify(r, hdr + MESSAGE)
        assert len(res) == 1 and res[0].status in ("permerror", "policy", "fail"), res


def test_unsigned_message_has_no_results() -> None:
    assert dkim.verify(MockResolver(), MESSAGE) == []
    assert dkim.verify(MockResolver(), b"\x00\xff garbage without headers") == []


def test_many_signatures_bounded() -> None:
    sig = dkim.sign(MESSAGE, "example.org", [dkim.SignSelector("rsa", rsa_key())])
    res = dkim.verify(MockResolver(), sig * 25 + MESSAGE)
    assert len(res) == 25
    assert sum(1 for x in res if x.reason == "too many signatures") == 25 - dkim.MAX_SIGNATURES


def test_sign_requires_from() -> None:
    with pytest.raises(dkim.DKIMSignError):
        dkim.sign(b"To: x@example.org\r\n\r\nbody\r\n", "example.org", [dkim.SignSelector("rsa", rsa_key())])


def test_real_signed_reports_do_not_crash() -> None:
    # Real DKIM-signed messages from mox's test data; keys are not in our mock DNS.
    for p in sorted((INTEROP / "mox-testdata" / "dmarc-reports").glob("*.eml")):
        for res in dkim.verify(MockResolver(), p.read_bytes()):
            assert res.status in ("permerror", "policy", "fail"), (p.name, res)


def test_selectors_from_mox_localserve_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.config import parse_dynamic_text

    d = INTEROP / "mox-localserve"
    conf = parse_dynamic_text((d / "domains.conf").read_text())
    sels = dkimconf.selectors_from_config(conf.Domains["localhost"].DKIM, d)
    assert [(s.name, s.key.algorithm, s.expiration) for s in sels] == [("localserve", "ed25519", 72 * 3600)]
    r = MockResolver()
    publish(r, "localserve", "localhost", dkimkeys.txt_record(sels[0].key))
    msg = MESSAGE.replace(b"example.org", b"localhost")
    signed = dkim.sign(msg, "localhost", sels) + msg
    assert dkim.verify(r, signed)[0].status == "pass"


def test_key_records_for_local_verification() -> None:
    sels = [dkim.SignSelector("a", rsa_key()), dkim.SignSelector("b", ed_key())]
    recs = dkimconf.key_records("Example.ORG.", sels)
    assert set(recs) == {"a._domainkey.example.org", "b._domainkey.example.org"}
    r = MockResolver()
    for name, txt in recs.items():
        r.add_txt(name, txt)
    signed = dkim.sign(MESSAGE, "example.org", sels) + MESSAGE
    assert [x.status for x in dkim.verify(r, signed)] == ["pass", "pass"]
