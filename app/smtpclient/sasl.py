"""Client-side SASL mechanisms for smarthost authentication: SCRAM-SHA-256(-PLUS) and
SCRAM-SHA-1(-PLUS) (RFC 5802, RFC 7677; channel binding tls-unique, RFC 5929), CRAM-MD5
(RFC 2195) and PLAIN (RFC 4616).

Each mechanism is a small state machine: ``start()`` gives the initial response (or None),
``step(challenge)`` the next response; ``finish(data)`` checks the server's final message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# Preference order when the configuration does not name mechanisms (as mox: no PLAIN by default).
DEFAULT_MECHANISMS = ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "CRAM-MD5")


class SASLError(Exception):
    """The exchange cannot continue (bad server message, failed server verification)."""


class Mechanism:
    name = ""

    def start(self) -> bytes | None:
        raise NotImplementedError

    def step(self, challenge: bytes) -> bytes:
        raise NotImplementedError

    def finish(self, data: bytes) -> None:
        """Check the server's final data (SCRAM server signature); others accept anything."""


class Plain(Mechanism):
    name = "PLAIN"

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def start(self) -> bytes | None:
        return b"\0" + self.username.encode() + b"\0" + self.password.encode()

    def step(self, challenge: bytes) -> bytes:
        raise SASLError("unexpected challenge for PLAIN")


class CramMD5(Mechanism):
    name = "CRAM-MD5"

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def start(self) -> bytes | None:
        return None

    def step(self, challenge: bytes) -> bytes:
        digest = hmac.new(self.password.encode(), challenge, hashlib.md5).hexdigest()
        return f"{self.username} {digest}".encode()


def _saslname(s: str) -> str:
    return s.replace("=", "=3D").replace(",", "=2C")


class Scram(Mechanism):
    """SCRAM client; ``cb_data`` (tls-unique) set means the -PLUS variant."""

    def __init__(self, hash_name: str, username: str, password: str, cb_data: bytes | None = None) -> None:
        self.hash_name = hash_name
        self.username, self.password = username, password
        self.cb_data = cb_data
        base = "SCRAM-SHA-256" if hash_name == "sha256" else "SCRAM-SHA-1"
        self.name = base + ("-PLUS" if cb_data is not None else "")
        self.nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self.gs2 = "p=tls-unique,," if cb_data is not None else "n,,"
        self.client_first_bare = f"n={_saslname(username)},r={self.nonce}"
        self.server_signature = b""
        self.state = 0

    def start(self) -> bytes | None:
        self.state = 1
        return (self.gs2 + self.client_first_bare).encode()

    def _h(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_name, data).digest()

    def _hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self.hash_name).digest()

    def step(self, challenge: bytes) -> bytes:
        if self.state != 1:
            raise SASLError("unexpected SCRAM challenge")
        self.state = 2
        try:
            server_first = challenge.decode("ascii")
        except UnicodeDecodeError:
            raise SASLError("non-ascii SCRAM server-first message") from None
        attrs: dict[str, str] = {}
        for part in server_first.split(","):
            k, eq, v = part.partition("=")
            if not eq or len(k) != 1:
                raise SASLError("malformed SCRAM server-first message")
            attrs.setdefault(k, v)
        if "m" in attrs:
            raise SASLError("unsupported SCRAM extension")
        nonce, salt_b64, iters = attrs.get("r", ""), attrs.get("s", ""), attrs.get("i", "")
        if not nonce.startswith(self.nonce) or len(nonce) <= len(self.nonce):
            raise SASLError("SCRAM server nonce does not extend ours")
        try:
            salt = base64.b64decode(salt_b64, validate=True)
            iterations = int(iters)
        except ValueError:
            raise SASLError("malformed SCRAM salt or iteration count") from None
        if not 1 <= iterations <= 1_000_000 or not salt:
            raise SASLError("unreasonable SCRAM parameters")
        cbind = self.gs2.encode() + (self.cb_data or b"")
        without_proof = f"c={base64.b64encode(cbind).decode()},r={nonce}"
        auth_message = f"{self.client_first_bare},{server_first},{without_proof}".encode()
        salted = hashlib.pbkdf2_hmac(self.hash_name, self.password.encode(), salt, iterations)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = self._h(client_key)
        signature = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = self._hmac(salted, b"Server Key")
        self.server_signature = self._hmac(server_key, auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def finish(self, data: bytes) -> None:
        if self.state != 2:
            raise SASLError("SCRAM exchange incomplete")
        text = data.decode("ascii", "replace")
        if text.startswith("e="):
            raise SASLError(f"SCRAM server error: {text[2:]}")
        if not text.startswith("v="):
            raise SASLError("malformed SCRAM server-final message")
        try:
            sig = base64.b64decode(text[2:].split(",")[0], validate=True)
        except ValueError:
            raise SASLError("malformed SCRAM server signature") from None
        if not hmac.compare_digest(sig, self.server_signature):
            raise SASLError("SCRAM server signature mismatch: server does not know the password")


def choose(
    offered: list[str],
    configured: tuple[str, ...],
    username: str,
    password: str,
    tls_unique: bytes | None,
) -> Mechanism | None:
    """The first mechanism in our preference (``configured`` or the default) the server offers."""
    offered_up = {m.upper() for m in offered}
    for name in configured or DEFAULT_MECHANISMS:
        name = name.upper()
        if name not in offered_up:
            continue
        if name.endswith("-PLUS") and tls_unique is None:
            continue
        if name == "SCRAM-SHA-256-PLUS":
            return Scram("sha256", username, password, tls_unique)
        if name == "SCRAM-SHA-256":
            return Scram("sha256", username, password)
        if name == "SCRAM-SHA-1-PLUS":
            return Scram("sha1", username, password, tls_unique)
        if name == "SCRAM-SHA-1":
            return Scram("sha1", username, password)
        if name == "CRAM-MD5":
            return CramMD5(username, password)
        if name == "PLAIN":
            return Plain(username, password)
    return None
