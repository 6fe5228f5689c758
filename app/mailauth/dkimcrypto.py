"""The cryptographic core of DKIM (RFC 6376 §3.7, RFC 8463) on the ``cryptography`` package:
body canonicalization and hash, header hash (dkimpy's header selection and canonicalization),
RSA PKCS#1 v1.5 and Ed25519 signatures.

dkimpy computes RSA in pure Python and needs PyNaCl for Ed25519; doing the arithmetic here keeps
verification fast (the target is hundreds of messages per second per core) and needs no PyNaCl.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.crypto import UnparsableKeyError, parse_public_key

from app.mailauth.dkimkeys import PrivateKey

HASHES: dict[str, Callable[..., Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
_PREHASHED = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}

_TRAILING_WSP = re.compile(rb"[\t ]+\r\n")
_WSP_RUN = re.compile(rb"[\t ]{2,}|\t")


class SignatureError(Exception):
    """Verification failed; ``status`` is the RFC 8601 result to report (fail, permerror, policy)."""

    def __init__(self, status: str, msg: str) -> None:
        super().__init__(msg)
        self.status = status


def canonical_body(body: bytes, relaxed: bool) -> bytes:
    """RFC 6376 §3.4.3/§3.4.4 body canonicalization (same output as dkimpy's, fewer substitutions)."""
    if relaxed:
        # The substring tests are much cheaper than the regexes, which most bodies do not need.
        if b" \r\n" in body or b"\t\r\n" in body:
            body = _TRAILING_WSP.sub(b"\r\n", body)
        if b"\t" in body or b"  " in body:
            body = _WSP_RUN.sub(b" ", body)
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    body = body[:end] + b"\r\n"
    if relaxed and body == b"\r\n":
        return b""  # relaxed: an empty body stays empty
    return body


def policy(c: bytes) -> tuple[CanonicalizationPolicy, bool]:
    """The c= policy and whether its body part is relaxed; raises SignatureError(permerror)."""
    try:
        pol = CanonicalizationPolicy.from_c_value(c)
    except InvalidCanonicalizationPolicyError as e:
        raise SignatureError("permerror", f"invalid c= value: {e}") from None
    return pol, pol.body_algorithm.name == b"relaxed"


_UNFOLD = re.compile(rb"\r?\n")
# dkimpy's RE_BTAG (the b= value to empty, RFC 6376 §3.7) in a form without per-character FWS
# alternatives: its FWS matches exactly the runs of whitespace, so "(FWS b64char)*" is "a run of
# whitespace and base64 characters ending in a base64 character". Several times faster on a
# 2048-bit signature; tests/mailauth/test_dkim_headerhash.py checks it against dkimpy's.
BTAG = re.compile(rb"([;\s]b\s*=)(?:[\sa-zA-Z0-9+/=]*[a-zA-Z0-9+/=])?(?:\r?\n\Z)?")
_WSP = re.compile(rb"[\t ]+")


def _relaxed_header(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """RFC 6376 §3.4.2: lower-case name, unfolded value with WSP runs as one space, trimmed."""
    if value.find(b"\n", 0, len(value) - 1) >= 0:  # folded; a final line end goes with strip()
        value = _UNFOLD.sub(b"", value)
    if b"\t" in value or b"  " in value:  # a single space stays as it is
        value = _WSP.sub(b" ", value)
    return name.lower().rstrip(), value.strip() + b"\r\n"


def header_digest(
    headers: list[tuple[bytes, bytes]],
    pol: CanonicalizationPolicy,
    include: list[bytes],
    sig_header: tuple[bytes, bytes],
    hashname: str,
) -> bytes:
    """Hash of the signed header fields followed by the signature header with empty b= (§3.7).

    Same bytes as dkimpy's ``hash_headers`` over its canonicalized headers: each name in
    ``include`` takes the bottom-most not yet taken field of that (canonical) name (§5.4.2), but
    only the selected fields are canonicalized."""
    relaxed = pol.header_algorithm.name == b"relaxed"
    positions: dict[bytes, list[int]] = {}  # canonical name -> indexes, top to bottom
    for i, (n, _) in enumerate(headers):
        positions.setdefault(n.lower().rstrip() if relaxed else n.lower(), []).append(i)
    parts: list[bytes] = []
    for h in include:
        left = positions.get(h)
        if left:
            n, v = headers[left.pop()]  # the bottom-most not taken yet
            if relaxed:
                n, v = _relaxed_header(n, v)
            parts += (n, b":", v)
    n, v = sig_header[0], BTAG.sub(b"\\1", sig_header[1])
    if relaxed:
        n, v = _relaxed_header(n, v)
    parts += (n, b":", v.rstrip())  # the signature header is hashed without its CRLF
    return bytes(HASHES[hashname](b"".join(parts)).digest())


@functools.lru_cache(maxsize=512)
def _public_key(keytype: str, p: str) -> rsa.RSAPublicKey | ed25519.Ed25519PublicKey:
    try:
        raw = base64.b64decode(p)
    except ValueError:
        raise SignatureError("permerror", "public key is not valid base64") from None
    if keytype == "ed25519":
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as e:
            raise SignatureError("permerror", f"invalid ed25519 public key: {e}") from None
    try:
        nums = parse_public_key(raw)
        return rsa.RSAPublicNumbers(nums["publicExponent"], nums["modulus"]).public_key()
    except (UnparsableKeyError, KeyError, ValueError, TypeError) as e:
        raise SignatureError("permerror", f"invalid rsa public key: {e}") from None


def key_bits(keytype: str, p: str) -> int:
    """Size of an RSA public key in bits (0 for other or unparsable keys)."""
    if keytype != "rsa":
        return 0
    try:
        key = _public_key(keytype, p)
    except SignatureError:
        return 0
    return key.key_size if isinstance(key, rsa.RSAPublicKey) else 0


def verify_signature(keytype: str, p: str, hashname: str, digest: bytes, signature: bytes) -> None:
    """Check ``signature`` over the header digest; raises SignatureError (policy for weak keys)."""
    key = _public_key(keytype, p)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, digest)
            return
        if key.key_size < 1024:
            raise SignatureError("policy", f"rsa key of {key.key_size} bits is too small (RFC 8301)")
        key.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(_PREHASHED[hashname]))
    except InvalidSignature:
        raise SignatureError("fail", "signature did not verify") from None


def sign_digest(key: PrivateKey, hashname: str, digest: bytes) -> bytes:
    if isinstance(key.key, ed25519.Ed25519PrivateKey):
        return key.key.sign(digest)
    return key.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(_PREHASHED[hashname]))
