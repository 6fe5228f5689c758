"""iprev, DNSBL, MTA-STS (with a real HTTPS policy fetch), TLSRPT and TLSA."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme

from app.dns import MockResolver
from app.mailauth import dnsbl, iprev, mtasts, tlsa, tlsrpt

ZONE = """
1.2.0.192.in-addr.arpa.   PTR  mail.example.org.
2.2.0.192.in-addr.arpa.   PTR  liar.example.org.
mail.example.org.         A    192.0.2.1
liar.example.org.         A    192.0.2.99
2.0.0.127.bl.example.     A    127.0.0.2
2.0.0.127.bl.example.     TXT  "listed for testing"
9.2.0.192.bl.example.     A    127.0.0.2
_mta-sts.example.org.     TXT  "v=STSv1; id=20261122"
_mta-sts.bad.example.     TXT  "v=STSv1; id=has space"
_smtp._tls.example.org.   TXT  "v=TLSRPTv1; rua=mailto:tls@example.org,https://r.example/x"
_smtp._tls.bad.example.   TXT  "v=TLSRPTv1; rua=ftp://x"
_mta-sts.two.example.     TXT  "v=STSv1; id=1"
_mta-sts.two.example.     TXT  "v=STSv1; id=2"
_smtp._tls.two.example.   TXT  "v=TLSRPTv1; rua=mailto:a@two.example"
_smtp._tls.two.example.   TXT  "v=TLSRPTv1; rua=mailto:b@two.example"
mta-sts.example.org.      A    127.0.0.1
"""


def r(**kw: object) -> MockResolver:
    return MockResolver.from_zone(ZONE, **kw)  # type: ignore[arg-type]


def test_iprev() -> None:
    res = iprev.lookup(r(authentic=True), "192.0.2.1")
    assert (res.status, res.host, res.authentic) == ("pass", "mail.example.org", True)
    assert iprev.lookup(r(), "192.0.2.2").status == "fail"
    assert iprev.lookup(r(), "192.0.2.3").status == "permerror"
    assert iprev.lookup(r(fail={"1.2.0.192.in-addr.arpa"}), "192.0.2.1").status == "temperror"
    assert iprev.lookup(r(), "nonsense").status == "permerror"


def test_dnsbl() -> None:
    assert dnsbl.query_name("bl.example", "192.0.2.9") == "9.2.0.192.bl.example"
    assert dnsbl.query_name("bl.example", "2001:db8::1").startswith("1.0.0.0.")
    res = dnsbl.lookup(r(), "bl.example", "192.0.2.9")
    assert res.listed
    assert dnsbl.lookup(r(), "bl.example", "192.0.2.10").status == "pass"
    assert (
        dnsbl.lookup(r(timeout={"10.2.0.192.bl.example"}), "bl.example", "192.0.2.10").status == "temperror"
    )
    dnsbl.check_health(r(), "bl.example")
    with pytest.raises(dnsbl.DNSBLUnhealthy):
        dnsbl.check_health(r(), "empty.example")


def test_mtasts_record_and_policy() -> None:
    assert mtasts.lookup_record(r(), "example.org").record == mtasts.STSRecord("20261122")
    assert mtasts.lookup_record(r(), "bad.example").status == "permerror"
    assert mtasts.lookup_record(r(), "none.example").status == "none"
    two = mtasts.lookup_record(r(), "two.example")
    assert two.status == "permerror" and "multiple" in two.reason
    assert mtasts.lookup_record(r(fail={"_mta-sts.example.org"}), "example.org").status == "temperror"
    pol = mtasts.parse_policy(
        "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.example.net\r\nmax_age: 86400\r\n"
    )
    assert pol.mode == "enforce" and pol.max_age == 86400
    assert (
        pol.matches("mail.example.org")
        and pol.matches("a.example.net")
        and not pol.matches("a.b.example.net")
    )
    assert not pol.matches("example.net")
    assert mtasts.parse_policy(pol.text()) == pol
    for bad in [
        "",
        "version: STSv1\nmode: enforce\nmax_age: 1\n",
        "version: STSv1\nmode: x\nmx: a\nmax_age: 1",
        "version: STSv2\nmode: none\nmax_age: 1",
        "version: STSv1\nmode: none\nmax_age: -1",
        "garbage",
    ]:
        with pytest.raises(mtasts.MTASTSError):
            mtasts.parse_policy(bad)


@pytest.fixture
def policy_server() -> Iterator[tuple[int, ssl.SSLContext]]:
    ca = trustme.CA()
    cert = ca.issue_cert("mta-sts.example.org")
    body = b"version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 3600\r\n"

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/mta-sts.txt":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(sctx)
    srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    cctx = ssl.create_default_context()
    ca.configure_trust(cctx)
    yield int(srv.server_address[1]), cctx
    srv.shutdown()
    srv.server_close()


def test_mtasts_fetch_policy(policy_server: tuple[int, ssl.SSLContext]) -> None:
    port, ctx = policy_server
    pol, _text = mtasts.fetch_policy(r(), "example.org", timeout=5, context=ctx, port=port)
    assert pol.mode == "testing" and pol.mx == ("mail.example.org",)
    with pytest.raises(mtasts.MTASTSError):  # certificate not trusted by the default store
        mtasts.fetch_policy(r(), "example.org", timeout=5, port=port)
    with pytest.raises(mtasts.MTASTSError):
        mtasts.fetch_policy(r(), "nodomain.example", timeout=5, context=ctx, port=port)


def test_tlsrpt() -> None:
    look = tlsrpt.lookup(r(), "example.org")
    assert look.status == "found" and look.record is not None
    assert look.record.rua == ("mailto:tls@example.org", "https://r.example/x")
    assert tlsrpt.lookup(r(), "bad.example").status == "permerror"
    assert tlsrpt.lookup(r(), "none.example").status == "none"
    assert tlsrpt.lookup(r(), "two.example").status == "permerror"
    assert tlsrpt.lookup(r(fail={"_smtp._tls.example.org"}), "example.org").status == "temperror"


def test_tlsa_records() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("mail.example.org")
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    rec = tlsa.record_for(der)
    assert (rec.usage, rec.selector, rec.mtype, len(rec.data)) == (3, 1, 1, 32)
    assert tlsa.matches(rec, der)
    assert tlsa.parse(rec.text()) == rec
    for sel, mt in [(0, 0), (0, 2), (1, 0), (1, 2)]:
        assert tlsa.matches(tlsa.record_for(der, 2, sel, mt), der)
    other = ssl.PEM_cert_to_DER_cert(ca.issue_cert("x.example").cert_chain_pems[0].bytes().decode())
    assert not tlsa.matches(rec, other)
    for bad in ["3 1 1", "3 1 1 zz", "3 1 1 abcd", "300 1 1 " + "00" * 32]:
        with pytest.raises(tlsa.TLSAError):
            tlsa.parse(bad)
