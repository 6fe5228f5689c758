"""Stored authentication secrets: what a server keeps instead of a plaintext password.

- SCRAM (RFC 5802 section 3): salt, iteration count, StoredKey = H(HMAC(SaltedPassword,
  "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"), for SHA-1 and SHA-256
  (RFC 7677). They let the server verify a SCRAM proof without being able to produce one.
- PLAIN/LOGIN passwords are verified by recomputing the SCRAM-SHA-256 StoredKey from the
  offered password with the stored salt and iteration count.
- CRAM-MD5 (RFC 2195): the MD5 chaining values after the HMAC inner and outer key blocks
  (RFC 2104), as mox and Dovecot store them.

Passwords are normalized with PRECIS OpaqueString before any derivation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from app.sasl import md5state
from app.sasl.precis import normalize_password

HashName = Literal["sha1", "sha256"]

# RFC 7677 section 4 recommends at least 4096 iterations; mox uses 4096 too.
DEFAULT_ITERATIONS = 4096
SALT_SIZE = 16


@dataclass(frozen=True)
class ScramSecret:
    hash_name: HashName
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    def matches(self, password: str) -> bool:
        """Whether ``password`` (not yet normalized) derives this secret. Costs one PBKDF2."""
        try:
            pw = normalize_password(password)
        except ValueError:
            return False
        other = derive_scram(self.hash_name, pw, self.salt, self.iterations, normalized=True)
        return hmac.compare_digest(other.stored_key, self.stored_key)


@dataclass(frozen=True)
class CramMD5Secret:
    inner: md5state.State
    outer: md5state.State

    def hmac(self, message: bytes) -> bytes:
        """HMAC-MD5(password, message), computed from the stored states."""
        inner_digest = md5state.resume(self.inner, message, 64)
        return md5state.resume(self.outer, inner_digest, 64)


@dataclass(frozen=True)
class StoredCredentials:
    """Every secret stored for one account; any may be missing (e.g. an account without
    password has none, an old account may lack CRAM-MD5)."""

    scram_sha1: ScramSecret | None = None
    scram_sha256: ScramSecret | None = None
    cram_md5: CramMD5Secret | None = None

    def scram(self, hash_name: HashName) -> ScramSecret | None:
        return self.scram_sha256 if hash_name == "sha256" else self.scram_sha1

    def verify_password(self, password: str) -> bool:
        """Check a plaintext password (PLAIN, LOGIN, web login) against the SCRAM-SHA-256
        secret, or SCRAM-SHA-1 when only that exists."""
        secret = self.scram_sha256 or self.scram_sha1
        return secret is not None and secret.matches(password)


def derive_scram(
    hash_name: HashName, password: str, salt: bytes, iterations: int, *, normalized: bool = False
) -> ScramSecret:
    """The SCRAM secret for a password (RFC 5802 section 3: Hi() is PBKDF2-HMAC)."""
    pw = password if normalized else normalize_password(password)
    salted = hashlib.pbkdf2_hmac(hash_name, pw.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    stored_key = hashlib.new(hash_name, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hash_name).digest()
    return ScramSecret(hash_name, salt, iterations, stored_key, server_key)


def derive_cram_md5(password: str, *, normalized: bool = False) -> CramMD5Secret:
    """HMAC-MD5 inner/outer states for a password (RFC 2104 section 2; RFC 2195)."""
    key = (password if normalized else normalize_password(password)).encode("utf-8")
    if len(key) > 64:
        key = hashlib.md5(key).digest()
    key = key.ljust(64, b"\0")
    inner = md5state.compress(md5state.INITIAL_STATE, bytes(b ^ 0x36 for b in key))
    outer = md5state.compress(md5state.INITIAL_STATE, bytes(b ^ 0x5C for b in key))
    return CramMD5Secret(inner, outer)


def derive_credentials(password: str, iterations: int = DEFAULT_ITERATIONS) -> StoredCredentials:
    """Fresh secrets (new random salts) for every mechanism. Raises PasswordError when the
    password is not allowed by OpaqueString."""
    pw = normalize_password(password)
    return StoredCredentials(
        scram_sha1=derive_scram("sha1", pw, secrets.token_bytes(SALT_SIZE), iterations, normalized=True),
        scram_sha256=derive_scram("sha256", pw, secrets.token_bytes(SALT_SIZE), iterations, normalized=True),
        cram_md5=derive_cram_md5(pw, normalized=True),
    )
