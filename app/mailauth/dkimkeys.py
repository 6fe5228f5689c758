"""DKIM keys: generation, loading of PKCS#8 PEM private keys, and the DNS key record (RFC 6376 §3.6.1,
RFC 8463 for Ed25519, RFC 8301 for the minimum RSA size and hash).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

RSA_MIN_BITS = 1024


class DKIMKeyError(ValueError):
    """A private key or key record that cannot be used."""


@dataclass(frozen=True)
class PrivateKey:
    """A signing key: ``algorithm`` "rsa" or "ed25519", the cryptography key object, the public key
    as published in DNS (base64), and for RSA the PKCS#1 PEM form dkimpy's ARC signing wants."""

    algorithm: str
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    public_b64: str
    bits: int
    pkcs1_pem: bytes = b""


def generate_rsa(bits: int = 2048) -> bytes:
    """A new RSA private key as PKCS#8 PEM (mox's default 2048 bits)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generate_ed25519() -> bytes:
    """A new Ed25519 private key as PKCS#8 PEM."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(pem: bytes) -> PrivateKey:
    """Load a PEM private key (PKCS#8 or PKCS#1 RSA). Raises DKIMKeyError."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise DKIMKeyError(f"parsing private key: {e}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < RSA_MIN_BITS:
            raise DKIMKeyError(f"rsa key of {key.key_size} bits is too small, need at least {RSA_MIN_BITS}")
        pkcs1 = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        pub = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return PrivateKey("rsa", key, base64.b64encode(pub).decode(), key.key_size, pkcs1)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return PrivateKey("ed25519", key, base64.b64encode(pub).decode(), 256)
    raise DKIMKeyError(f"unsupported key type {type(key).__name__}, need rsa or ed25519")


def txt_record(key: PrivateKey) -> str:
    """The TXT record value publishing the key's public half (``v=DKIM1;...``)."""
    if key.algorithm == "ed25519":
        return f"v=DKIM1;k=ed25519;p={key.public_b64}"
    return f"v=DKIM1;h=sha256;k=rsa;p={key.public_b64}"


@dataclass(frozen=True)
class KeyRecord:
    """A parsed ``<selector>._domainkey.<domain>`` record (RFC 6376 §3.6.1)."""

    version: str = "DKIM1"
    hashes: tuple[str, ...] = ()  # h=, empty means all
    key_type: str = "rsa"  # k=
    public_key: str = ""  # p=, empty means revoked
    services: tuple[str, ...] = ("*",)  # s=
    flags: tuple[str, ...] = ()  # t=: "y" testing, "s" strict identity
    notes: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def revoked(self) -> bool:
        return self.public_key == ""

    def allows_hash(self, h: str) -> bool:
        return not self.hashes or h in self.hashes


def parse_tags(text: str) -> dict[str, str]:
    """RFC 6376 §3.2 tag=value list; raises DKIMKeyError on syntax errors or duplicate tags."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise DKIMKeyError(f"missing = in tag {part[:40]!r}")
        k, v = part.split("=", 1)
        k = k.strip()
        if not k or not all(c.isalnum() or c == "_" for c in k):
            raise DKIMKeyError(f"invalid tag name {k[:40]!r}")
        if k in tags:
            raise DKIMKeyError(f"duplicate tag {k!r}")
        tags[k] = "".join(v.split())
    return tags


def parse_key_record(text: str) -> KeyRecord:
    """Parse a DKIM key record; raises DKIMKeyError with the reason when malformed."""
    tags = parse_tags(text)
    if "v" in tags and tags["v"] != "DKIM1":
        raise DKIMKeyError(f"unknown version v={tags['v'][:20]!r}")
    if "p" not in tags:
        raise DKIMKeyError("missing p= tag")
    if text.strip().startswith("v=") is False and "v" in tags:
        raise DKIMKeyError("v= must be the first tag")
    k = tags.get("k", "rsa").lower()
    if k not in ("rsa", "ed25519"):
        raise DKIMKeyError(f"unknown key type k={k[:20]!r}")
    p = tags["p"]
    if p:
        try:
            base64.b64decode(p, validate=True)
        except ValueError:
            raise DKIMKeyError("p= is not valid base64") from None
    hashes = tuple(h.lower() for h in tags["h"].split(":") if h) if "h" in tags else ()
    services = tuple(s.lower() for s in tags["s"].split(":") if s) if "s" in tags else ("*",)
    flags = tuple(f.lower() for f in tags["t"].split(":") if f) if "t" in tags else ()
    return KeyRecord(tags.get("v", "DKIM1"), hashes, k, p, services, flags, tags.get("n", ""), tags)
