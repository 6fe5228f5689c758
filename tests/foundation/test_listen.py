"""Listener sockets and TLS contexts."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
import trustme

from app.listen.sockets import BindError, Endpoint, bind, bind_all
from app.listen.tls import KeyCert, TLSConfigError, server_context


def test_port_in_use_names_listener_and_address() -> None:
    b = bind(Endpoint("public", "smtp", "127.0.0.1", 0))
    port = b.socks[0].getsockname()[1]
    try:
        with pytest.raises(BindError) as e:
            bind_all(
                [Endpoint("other", "imap", "127.0.0.1", 0), Endpoint("public", "smtp", "127.0.0.1", port)]
            )
        assert str(e.value) == f"listener public: smtp on 127.0.0.1:{port}: address already in use"
    finally:
        b.close()


def test_ipv6_endpoint() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        b = bind(Endpoint("l", "smtp", "::1", 0))
    except BindError as e:
        pytest.skip(f"no ::1 here: {e}")
    assert b.socks[0].family == socket.AF_INET6
    assert b.endpoint.addr.startswith("[::1]")
    b.close()


def _write(ca: trustme.CA, tmp: Path, *names: str) -> KeyCert:
    cert = ca.issue_cert(*names)
    cf, kf = tmp / f"{names[0]}.crt", tmp / f"{names[0]}.key"
    cert.private_key_pem.write_to_path(str(kf))
    cert.cert_chain_pems[0].write_to_path(str(cf))
    return KeyCert(cf, kf)


def _handshake(ctx: ssl.SSLContext, client: ssl.SSLContext, sni: str) -> str:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]

    def serve() -> None:
        c, _ = srv.accept()
        try:
            with ctx.wrap_socket(c, server_side=True) as s:
                s.recv(1)
        except (ssl.SSLError, OSError):
            pass

    t = threading.Thread(target=serve)
    t.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client.wrap_socket(raw, server_hostname=sni) as s,
        ):
            cert = s.getpeercert()
            assert cert is not None
            san = [v for k, v in cert["subjectAltName"] if k == "DNS"]
            version = s.version()
            s.sendall(b"x")
            assert version in ("TLSv1.2", "TLSv1.3")
            return str(san[0])
    finally:
        t.join(5)
        srv.close()


def test_sni_selects_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    a = _write(ca, tmp_path, "mail.example.org")
    b = _write(ca, tmp_path, "mail.example.com")
    ctx = server_context([a, b])
    client = ssl.create_default_context()
    ca.configure_trust(client)
    assert _handshake(ctx, client, "mail.example.org") == "mail.example.org"
    assert _handshake(ctx, client, "mail.example.com") == "mail.example.com"


def test_tls_minimum_is_1_2(tmp_path: Path) -> None:
    ca = trustme.CA()
    ctx = server_context([_write(ca, tmp_path, "localhost")])
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    ctx13 = server_context([_write(ca, tmp_path, "localhost")], "TLSv1.3")
    assert ctx13.minimum_version == ssl.TLSVersion.TLSv1_3


def test_bad_key_file_is_named(tmp_path: Path) -> None:
    ca = trustme.CA()
    kc = _write(ca, tmp_path, "localhost")
    kc.key_file.write_text("garbage")
    with pytest.raises(TLSConfigError) as e:
        server_context([kc])
    assert str(kc.key_file) in str(e.value)
