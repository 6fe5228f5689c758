"""SCRAM server and client against the example exchanges of RFC 5802 section 5 (SHA-1) and
RFC 7677 section 3 (SHA-256), plus channel binding and negotiation rules."""

from __future__ import annotations

import base64
import hashlib

import pytest
import trustme

from app.sasl import (
    Challenge,
    Failure,
    ScramClient,
    ScramError,
    ScramServer,
    StoredCredentials,
    Success,
    derive_credentials,
    derive_scram,
    new_server,
    tls_server_end_point,
)

RFC5802 = {
    "hash": "sha1",
    "cnonce": "fyko+d2lbbFgONRv9qkxdawL",
    "snonce": "3rfcNHYJY1ZVvWVs7j",
    "salt": "QSXCR+Q6sek8bf92",
    "proof": "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    "verifier": "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
}
RFC7677 = {
    "hash": "sha256",
    "cnonce": "rOprNGfwEbeRWgbNEkqO",
    "snonce": "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    "salt": "W22ZaJ0SNY7soEsUEjb6gQ==",
    "proof": "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "verifier": "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
}


def _creds(v: dict[str, str], password: str = "pencil") -> StoredCredentials:
    secret = derive_scram(v["hash"], password, base64.b64decode(v["salt"]), 4096)  # type: ignore[arg-type]
    if v["hash"] == "sha1":
        return StoredCredentials(scram_sha1=secret)
    return StoredCredentials(scram_sha256=secret)


@pytest.mark.parametrize("v", [RFC5802, RFC7677], ids=["rfc5802", "rfc7677"])
def test_rfc_example_server(v: dict[str, str]) -> None:
    creds = _creds(v)
    looked: list[str] = []

    def lookup(u: str) -> StoredCredentials | None:
        looked.append(u)
        return creds if u == "user" else None

    srv = ScramServer(v["hash"], lookup, nonce=v["snonce"])  # type: ignore[arg-type]
    out = srv.step(f"n,,n=user,r={v['cnonce']}".encode())
    nonce = v["cnonce"] + v["snonce"]
    assert out == Challenge(f"r={nonce},s={v['salt']},i=4096".encode())
    out = srv.step(f"c=biws,r={nonce},p={v['proof']}".encode())
    assert out == Challenge(f"v={v['verifier']}".encode())
    assert srv.step(b"") == Success("user", "")
    assert looked == ["user"]


@pytest.mark.parametrize("v", [RFC5802, RFC7677], ids=["rfc5802", "rfc7677"])
def test_rfc_example_client(v: dict[str, str]) -> None:
    cl = ScramClient(v["hash"], "user", "pencil", nonce=v["cnonce"])  # type: ignore[arg-type]
    assert cl.start() == f"n,,n=user,r={v['cnonce']}".encode()
    nonce = v["cnonce"] + v["snonce"]
    final = cl.step(f"r={nonce},s={v['salt']},i=4096".encode())
    assert final == f"c=biws,r={nonce},p={v['proof']}".encode()
    assert cl.step(f"v={v['verifier']}".encode()) == b""
    assert cl.verified


def test_client_rejects_bad_server_signature() -> None:
    v = RFC7677
    cl = ScramClient("sha256", "user", "pencil", nonce=v["cnonce"])
    cl.start()
    cl.step(f"r={v['cnonce']}{v['snonce']},s={v['salt']},i=4096".encode())
    with pytest.raises(ScramError):
        cl.finish(b"v=" + base64.b64encode(b"x" * 32))
    with pytest.raises(ScramError):
        ScramClient("sha256", "u", "p", nonce="abc").step(b"r=other,s=QQ==,i=4096")


def _run(client: ScramClient, server: ScramServer) -> Success | Failure:
    out = server.step(client.start())
    while isinstance(out, Challenge):
        try:
            resp = client.step(out.data)
        except ScramError as exc:
            return Failure(str(exc))
        out = server.step(resp)
    return out


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_roundtrip_and_wrong_password(hash_name: str) -> None:
    creds = derive_credentials("sécret wörd")
    lookup = {"mjl@mox.example": creds}.get
    ok = _run(ScramClient(hash_name, "mjl@mox.example", "sécret wörd"), ScramServer(hash_name, lookup))  # type: ignore[arg-type]
    assert ok == Success("mjl@mox.example", "")
    bad = _run(ScramClient(hash_name, "mjl@mox.example", "wrong"), ScramServer(hash_name, lookup))  # type: ignore[arg-type]
    assert isinstance(bad, Failure) and "invalid-proof" in bad.reason and not bad.malformed
    unknown = _run(ScramClient(hash_name, "nobody@mox.example", "x"), ScramServer(hash_name, lookup))  # type: ignore[arg-type]
    assert isinstance(unknown, Failure)


def test_unknown_user_salt_is_stable() -> None:
    # Same fake salt for the same unknown name: probing cannot tell unknown from known users.
    a = ScramServer("sha256", lambda u: None).step(b"n,,n=ghost,r=abc")
    b = ScramServer("sha256", lambda u: None).step(b"n,,n=ghost,r=abc")
    assert isinstance(a, Challenge) and isinstance(b, Challenge)
    assert a.data.split(b",")[1:] == b.data.split(b",")[1:]


def _cert_der() -> bytes:
    ca = trustme.CA()
    cert = ca.issue_cert("mail.mox.example")
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = cert.cert_chain_pems[0].bytes()
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


def test_tls_server_end_point_hash() -> None:
    der = _cert_der()
    # trustme signs with SHA-256 (ECDSA), so the binding is SHA-256 of the DER certificate.
    assert tls_server_end_point(der) == hashlib.sha256(der).digest()


def test_plus_channel_binding() -> None:
    cb = tls_server_end_point(_cert_der())
    creds = derive_credentials("pencil")
    lookup = {"user": creds}.get
    bindings = {"tls-server-end-point": cb}
    srv = new_server("SCRAM-SHA-256-PLUS", lookup, channel_bindings=bindings)
    assert isinstance(srv, ScramServer)
    cl = ScramClient("sha256", "user", "pencil", channel_binding=("tls-server-end-point", cb))
    assert cl.name == "SCRAM-SHA-256-PLUS"
    assert _run(cl, srv) == Success("user", "")
    # Different certificate data on the client side (a MITM terminating TLS): refused.
    srv = new_server("SCRAM-SHA-256-PLUS", lookup, channel_bindings=bindings)
    assert isinstance(srv, ScramServer)
    cl = ScramClient("sha256", "user", "pencil", channel_binding=("tls-server-end-point", b"x" * 32))
    res = _run(cl, srv)
    assert isinstance(res, Failure) and "channel-bindings-dont-match" in res.reason


def test_channel_binding_negotiation() -> None:
    lookup = {"user": derive_credentials("pencil")}.get
    bindings = {"tls-server-end-point": b"\1" * 32}
    # tls-exporter cannot be produced with Python's ssl module: refused as unsupported type.
    srv = new_server("SCRAM-SHA-256-PLUS", lookup, channel_bindings=bindings)
    assert srv is not None
    out = srv.step(b"p=tls-exporter,,n=user,r=abc")
    assert isinstance(out, Failure) and "unsupported-channel-binding-type" in out.reason
    # "y" while -PLUS was advertised: downgrade.
    srv = new_server("SCRAM-SHA-256", lookup, channel_bindings=bindings)
    assert srv is not None
    out = srv.step(b"y,,n=user,r=abc")
    assert isinstance(out, Failure) and "downgrade" in out.reason
    # "y" without -PLUS advertised (no TLS): fine.
    srv = new_server("SCRAM-SHA-256", lookup)
    assert srv is not None
    assert isinstance(srv.step(b"y,,n=user,r=abc"), Challenge)
    # p= with the non-PLUS mechanism, and -PLUS without bindings: refused / unavailable.
    srv = new_server("SCRAM-SHA-256", lookup, channel_bindings=bindings)
    assert srv is not None
    assert isinstance(srv.step(b"p=tls-server-end-point,,n=user,r=abc"), Failure)
    assert new_server("SCRAM-SHA-1-PLUS", lookup) is None


@pytest.mark.parametrize(
    "msg",
    [
        b"",
        b"x",
        b"n,,",
        b"n,,m=ext,n=user,r=a",
        b"q,,n=user,r=a",
        b"n,,n=us=3Zer,r=a",
        b"n,,r=a,n=user",
        b"\xff\xfe",
    ],
)
def test_malformed_client_first(msg: bytes) -> None:
    srv = ScramServer("sha256", lambda u: None)
    out = srv.step(msg)
    if msg == b"":
        assert out == Challenge(b"")
        out = srv.step(b"garbage")
    assert isinstance(out, Failure) and out.malformed


def test_authzid_rules() -> None:
    lookup = {"user": derive_credentials("pencil")}.get
    assert _run(
        ScramClient("sha256", "user", "pencil", authzid="user"), ScramServer("sha256", lookup)
    ) == Success("user", "user")
    res = _run(ScramClient("sha256", "user", "pencil", authzid="admin"), ScramServer("sha256", lookup))
    assert isinstance(res, Failure)


def test_saslname_escaping_and_nfc() -> None:
    # "e\u0301" (decomposed) logs in as the NFC form; "=" and "," escaped per RFC 5802.
    name = "a,b=c@e\u0301x.example"
    creds = derive_credentials("pencil")
    seen: list[str] = []

    def lookup(u: str) -> StoredCredentials | None:
        seen.append(u)
        return creds

    res = _run(ScramClient("sha256", name, "pencil"), ScramServer("sha256", lookup))
    assert res == Success("a,b=c@\u00e9x.example", "")
    assert seen == ["a,b=c@\u00e9x.example"]
