"""PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195 example), EXTERNAL, the resumable MD5 and
mechanism selection."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from app.sasl import (
    Challenge,
    CramMD5Client,
    CramMD5Server,
    ExternalServer,
    Failure,
    LoginClient,
    PlainClient,
    StoredCredentials,
    Success,
    derive_cram_md5,
    derive_credentials,
    md5state,
    new_server,
    server_mechanisms,
)

CREDS = derive_credentials("tanstaaftanstaaf")
LOOKUP = {"tim": CREDS, "mjl@mox.example": derive_credentials("tést")}.get


@given(st.binary(max_size=200))
@settings(max_examples=40)
def test_md5_resume_matches_hashlib(data: bytes) -> None:
    assert md5state.resume(md5state.INITIAL_STATE, data, 0) == hashlib.md5(data).digest()
    block = bytes(range(64))
    state = md5state.compress(md5state.INITIAL_STATE, block)
    assert md5state.resume(state, data, 64) == hashlib.md5(block + data).digest()


@given(
    st.text(min_size=1, max_size=100).filter(lambda s: s.isprintable() and s.strip() == s),
    st.binary(max_size=100),
)
@settings(max_examples=40)
def test_cram_md5_state_equals_hmac(password: str, msg: bytes) -> None:
    try:
        secret = derive_cram_md5(password)
    except ValueError:
        return
    from app.sasl import normalize_password

    key = normalize_password(password).encode()
    assert secret.hmac(msg) == hmac.new(key, msg, "md5").digest()


def test_cram_md5_rfc2195_example() -> None:
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    srv = CramMD5Server(LOOKUP, challenge=challenge)
    assert srv.step(None) == Challenge(challenge)
    resp = CramMD5Client("tim", "tanstaaftanstaaf").step(challenge)
    assert resp == b"tim b913a602c7eda7a495b4e6e7334d3890"
    assert srv.step(resp) == Success("tim")
    srv = CramMD5Server(LOOKUP, challenge=challenge)
    srv.step(None)
    out = srv.step(b"tim b913a602c7eda7a495b4e6e7334d3891")
    assert isinstance(out, Failure) and not out.malformed and out.username == "tim"
    srv = CramMD5Server(LOOKUP)
    srv.step(None)
    out = srv.step(b"nospace")
    assert isinstance(out, Failure) and out.malformed


def test_cram_md5_challenge_unique() -> None:
    a = CramMD5Server(LOOKUP, "mox.example").step(None)
    b = CramMD5Server(LOOKUP, "mox.example").step(None)
    assert isinstance(a, Challenge) and isinstance(b, Challenge) and a != b
    assert a.data.startswith(b"<") and a.data.endswith(b"@mox.example>")


def test_plain() -> None:
    srv = new_server("plain", LOOKUP)
    assert srv is not None and srv.name == "PLAIN"
    assert srv.step(PlainClient("mjl@mox.example", "tést").start()) == Success("mjl@mox.example", "")
    # Without initial response: empty challenge first.
    srv = new_server("PLAIN", LOOKUP)
    assert srv is not None
    assert srv.step(None) == Challenge(b"")
    assert srv.step(b"mjl@mox.example\0mjl@mox.example\0t\xc3\xa9st") == Success(
        "mjl@mox.example", "mjl@mox.example"
    )
    for bad, malformed in [
        (b"\0mjl@mox.example\0wrong", False),
        (b"\0nobody@mox.example\0x", False),
        (b"other\0mjl@mox.example\0t\xc3\xa9st", False),
        (b"only-one-part", True),
        (b"\0\xff\0x", True),
        (b"\0\0x", True),
    ]:
        srv = new_server("PLAIN", LOOKUP)
        assert srv is not None
        out = srv.step(bad)
        assert isinstance(out, Failure) and out.malformed == malformed, bad


def test_plain_password_normalization() -> None:
    # U+212B ANGSTROM SIGN normalizes (NFC under OpaqueString) to U+00C5.
    lookup = {"u": derive_credentials("\u212b")}.get
    srv = new_server("PLAIN", lookup)
    assert srv is not None
    assert srv.step("\0u\0\u00c5".encode()) == Success("u", "")


def test_login() -> None:
    srv = new_server("LOGIN", LOOKUP)
    assert srv is not None
    cl = LoginClient("tim", "tanstaaftanstaaf")
    assert cl.start() is None
    out = srv.step(None)
    assert out == Challenge(b"Username:")
    out = srv.step(cl.step(out.data))
    assert out == Challenge(b"Password:")
    assert srv.step(cl.step(out.data)) == Success("tim", "")
    srv = new_server("LOGIN", LOOKUP)
    assert srv is not None
    assert srv.step(b"tim") == Challenge(b"Password:")
    assert isinstance(srv.step(b"bad"), Failure)


def test_external() -> None:
    srv = ExternalServer("mjl@mox.example")
    assert srv.step(None) == Challenge(b"")
    assert srv.step(b"") == Success("mjl@mox.example", "")
    assert ExternalServer("mjl@mox.example").step(b"mjl@mox.example") == Success(
        "mjl@mox.example", "mjl@mox.example"
    )
    assert isinstance(ExternalServer("mjl@mox.example").step(b"other@mox.example"), Failure)
    assert isinstance(ExternalServer(None).step(b""), Failure)


def test_no_password_credentials() -> None:
    lookup = {"u": StoredCredentials()}.get
    srv = new_server("PLAIN", lookup)
    assert srv is not None
    assert isinstance(srv.step(b"\0u\0anything"), Failure)
    srv = new_server("CRAM-MD5", lookup)
    assert srv is not None
    srv.step(None)
    assert isinstance(srv.step(b"u 00000000000000000000000000000000"), Failure)


def test_server_mechanisms() -> None:
    assert server_mechanisms(tls=False) == ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5"]
    names = server_mechanisms(tls=True, channel_binding=True, external=True)
    assert names[:2] == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]
    assert "PLAIN" in names and "EXTERNAL" in names
    assert new_server("NOPE", LOOKUP) is None
    for name in names:
        assert new_server(name, LOOKUP, channel_bindings={"tls-server-end-point": b"x"}) is not None


@given(st.lists(st.binary(max_size=80), min_size=1, max_size=4))
@settings(max_examples=80, deadline=None)
def test_fuzz_server_mechanisms_never_raise(responses: list[bytes]) -> None:
    for name in (
        "PLAIN",
        "LOGIN",
        "CRAM-MD5",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
        "SCRAM-SHA-256-PLUS",
        "EXTERNAL",
    ):
        srv = new_server(
            name, LOOKUP, channel_bindings={"tls-server-end-point": b"x" * 32}, external_identity="tim"
        )
        assert srv is not None
        for r in responses:
            out = srv.step(r)
            assert isinstance(out, (Challenge, Success, Failure))
            if not isinstance(out, Challenge):
                break
