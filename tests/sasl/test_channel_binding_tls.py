"""SCRAM-SHA-256-PLUS over a real TLS handshake (ssl MemoryBIO, no sockets): the server binds
with its own certificate, the client with the certificate it received (RFC 5929 section 4)."""

from __future__ import annotations

import ssl

import trustme

from app.sasl import Challenge, ScramClient, Success, derive_credentials, new_server, tls_server_end_point


def _handshake(ca: trustme.CA, server_cert: trustme.LeafCert) -> bytes:
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(sctx)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(cctx)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = cctx.wrap_bio(c_in, c_out, server_hostname="mail.mox.example")
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, obj in (("c", client), ("s", server)):
            if not done[name]:
                try:
                    obj.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    assert all(done.values())
    der = client.getpeercert(binary_form=True)
    assert der is not None
    return der


def test_scram_plus_over_tls() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("mail.mox.example")
    peer_der = _handshake(ca, leaf)
    # What the server computes from its configured certificate file.
    own_der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    assert own_der == peer_der
    lookup = {"mjl@mox.example": derive_credentials("pw")}.get
    srv = new_server(
        "SCRAM-SHA-256-PLUS", lookup, channel_bindings={"tls-server-end-point": tls_server_end_point(own_der)}
    )
    assert srv is not None
    cl = ScramClient(
        "sha256",
        "mjl@mox.example",
        "pw",
        channel_binding=("tls-server-end-point", tls_server_end_point(peer_der)),
    )
    out = srv.step(cl.start())
    while isinstance(out, Challenge):
        out = srv.step(cl.step(out.data))
    assert out == Success("mjl@mox.example") and cl.verified
