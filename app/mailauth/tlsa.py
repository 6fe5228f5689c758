"""TLSA record types (RFC 6698 §2, RFC 7218 acronyms) and matching of certificates against them,
as used by DANE for SMTP (RFC 7672: DANE-TA(2) and DANE-EE(3) are the usable usages).
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.dns.records import TLSA


class Usage(IntEnum):
    PKIX_TA = 0
    PKIX_EE = 1
    DANE_TA = 2
    DANE_EE = 3


class Selector(IntEnum):
    CERT = 0
    SPKI = 1


class MatchType(IntEnum):
    FULL = 0
    SHA2_256 = 1
    SHA2_512 = 2


class TLSAError(ValueError):
    """Malformed TLSA record text."""


def parse(text: str) -> TLSA:
    """``"3 1 1 <hex>"`` into a TLSA record; raises TLSAError."""
    parts = text.split()
    if len(parts) < 4:
        raise TLSAError("need usage, selector, matching type and data")
    try:
        usage, sel, mtype = int(parts[0]), int(parts[1]), int(parts[2])
        data = bytes.fromhex("".join(parts[3:]))
    except ValueError as e:
        raise TLSAError(str(e)) from None
    if not all(0 <= v <= 255 for v in (usage, sel, mtype)):
        raise TLSAError("fields must be 0-255")
    if (mtype == MatchType.SHA2_256 and len(data) != 32) or (mtype == MatchType.SHA2_512 and len(data) != 64):
        raise TLSAError("data length does not match the matching type")
    return TLSA(usage, sel, mtype, data)


def _selected(cert_der: bytes, selector: int) -> bytes:
    if selector == Selector.CERT:
        return cert_der
    cert = x509.load_der_x509_certificate(cert_der)
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _digest(data: bytes, mtype: int) -> bytes:
    if mtype == MatchType.SHA2_256:
        return hashlib.sha256(data).digest()
    if mtype == MatchType.SHA2_512:
        return hashlib.sha512(data).digest()
    return data


def record_for(
    cert_der: bytes,
    usage: int = Usage.DANE_EE,
    selector: int = Selector.SPKI,
    mtype: int = MatchType.SHA2_256,
) -> TLSA:
    """The TLSA record matching a DER certificate (``3 1 1`` by default, as mox suggests)."""
    return TLSA(usage, selector, mtype, _digest(_selected(cert_der, selector), mtype))


def matches(rec: TLSA, cert_der: bytes) -> bool:
    """Whether a certificate matches the record's selector/matching type/data (usage not checked)."""
    if rec.selector not in (0, 1) or rec.mtype not in (0, 1, 2):
        return False
    try:
        return _digest(_selected(cert_der, rec.selector), rec.mtype) == rec.data
    except ValueError:
        return False
