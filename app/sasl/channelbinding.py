"""Channel-binding data for SCRAM-*-PLUS (RFC 5802 section 6, RFC 5056).

Supported type: ``tls-server-end-point`` (RFC 5929 section 4): a hash of the server's
certificate (DER), with the hash function of the certificate's signature algorithm, except
that MD5 and SHA-1 are replaced by SHA-256. For signature algorithms without a separate hash
(Ed25519, Ed448) RFC 5929 defines nothing; we use SHA-256, as Go's crypto/tls-based servers do.

Not supported: ``tls-exporter`` (RFC 9266). It needs the TLS exporter (RFC 8446 section 7.5),
which Python's ssl module does not expose. RFC 9266 section 4.2 and RFC 5802 section 6 make
the type negotiable: a server that cannot produce tls-exporter data must not accept it, and a
client asking for it gets the ``unsupported-channel-binding-type`` error. Clients that bind
with tls-server-end-point (or fall back to it) work. ``tls-unique`` (RFC 5929 section 3) is
undefined for TLS 1.3 and is not offered either.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes

TLS_SERVER_END_POINT = "tls-server-end-point"
TLS_EXPORTER = "tls-exporter"
SUPPORTED_TYPES = (TLS_SERVER_END_POINT,)


def tls_server_end_point(cert_der: bytes) -> bytes:
    """Channel-binding data of type tls-server-end-point for a DER certificate."""
    cert = x509.load_der_x509_certificate(cert_der)
    algo = cert.signature_hash_algorithm
    if algo is None or isinstance(algo, (hashes.MD5, hashes.SHA1)):
        return hashlib.sha256(cert_der).digest()
    h = hashes.Hash(algo)
    h.update(cert_der)
    return h.finalize()
