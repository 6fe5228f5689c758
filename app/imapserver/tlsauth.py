"""TLS client-certificate authentication (as mox: the certificate's public key, not the
certificate, is registered for an account). A recognized key allows AUTHENTICATE EXTERNAL
(RFC 4422 appendix A) and, unless the key says NoIMAPPreauth, starts the session authenticated
with a PREAUTH greeting (RFC 9051 section 7.1.4).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.imapserver.session import Session


def spki_fingerprint(cert_der: bytes) -> str:
    """base64url (no padding) of the SHA-256 of the certificate's SubjectPublicKeyInfo."""
    cert = x509.load_der_x509_certificate(cert_der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(spki).digest()).rstrip(b"=").decode()


def recognize_client_cert(s: Session) -> bool:
    """Look up the peer's certificate key; sets the session's client-cert fields. Returns
    whether the key is registered and allows PREAUTH."""
    obj = s.conn.ssl_object
    if obj is None:
        return False
    try:
        der = obj.getpeercert(binary_form=True)
    except ValueError:
        return False
    if not der:
        return False
    try:
        fp = spki_fingerprint(der)
    except ValueError:
        return False
    found = s.deps.tls_public_key(fp)
    if found is None:
        s.log.debug("unknown tls client public key", fingerprint=fp)
        return False
    account, login_address, no_preauth = found
    s.client_cert_account = account
    s.client_cert_login = login_address
    return not no_preauth
