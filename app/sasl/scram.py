"""SCRAM server and client (RFC 5802; SHA-256 from RFC 7677), with and without channel
binding (the -PLUS variants, RFC 5802 section 6; see channelbinding.py for the types).

Exchange: client-first (gs2 header + bare message) -> server-first (nonce, salt, iterations)
-> client-final (channel binding, nonce, proof) -> server-final (``v=`` signature) -> the
client's empty response -> success. The server-final message goes out as a challenge,
because neither SMTP AUTH (RFC 4954) nor IMAP4rev1 can carry data with success.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

from app.sasl.outcome import Challenge, CredentialLookup, Failure, Outcome, Success
from app.sasl.precis import normalize_password, normalize_username
from app.sasl.stored import DEFAULT_ITERATIONS, HashName, ScramSecret

# Salt for unknown users: derived from the name with a per-process key, so probing does not
# reveal which accounts exist (a random salt per attempt would).
_FAKE_SALT_KEY = secrets.token_bytes(32)


class ScramError(Exception):
    """Client side: the server's message is malformed or its signature is wrong."""


def mechanism_name(hash_name: HashName, plus: bool) -> str:
    return ("SCRAM-SHA-256" if hash_name == "sha256" else "SCRAM-SHA-1") + ("-PLUS" if plus else "")


def _decode_saslname(s: str) -> str | None:
    # RFC 5802 section 5.1: "=" only as "=2C" or "=3D".
    out, i = [], 0
    while i < len(s):
        if s[i] == ",":
            return None
        if s[i] == "=":
            esc = s[i : i + 3]
            if esc == "=2C":
                out.append(",")
            elif esc == "=3D":
                out.append("=")
            else:
                return None
            i += 3
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _encode_saslname(s: str) -> str:
    return s.replace("=", "=3D").replace(",", "=2C")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _nonce() -> str:
    return base64.b64encode(secrets.token_bytes(18)).decode("ascii")


class ScramServer:
    """Server side. ``channel_bindings`` maps the binding types this connection can serve
    (only with TLS) to their data. ``plus_advertised``: the -PLUS variants were offered, so a
    client that says "y" (supports binding, thinks the server does not) is being downgraded
    (RFC 5802 section 6)."""

    def __init__(
        self,
        hash_name: HashName,
        lookup: CredentialLookup,
        *,
        plus: bool = False,
        channel_bindings: Mapping[str, bytes] | None = None,
        plus_advertised: bool = False,
        nonce: str | None = None,
    ) -> None:
        self.hash_name: HashName = hash_name
        self.plus = plus
        self._lookup = lookup
        self._bindings = dict(channel_bindings or {})
        self._plus_advertised = plus_advertised
        self._snonce = nonce or _nonce()
        self._state = 0
        self._username = ""
        self._authzid = ""
        self._gs2 = b""
        self._cb_data = b""
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""
        self._secret: ScramSecret | None = None
        self._server_final = b""

    @property
    def name(self) -> str:
        return mechanism_name(self.hash_name, self.plus)

    def _fail(self, reason: str, malformed: bool = False) -> Failure:
        self._state = 99
        return Failure(f"{self.name}: {reason}", malformed, self._username)

    def step(self, response: bytes | None) -> Outcome:
        if self._state == 0:
            if response is None or response == b"":
                self._state = 1  # client-first comes in the next response
                return Challenge(b"")
            return self._client_first(response)
        if self._state == 1:
            return self._client_first(response or b"")
        if self._state == 2:
            return self._client_final(response or b"")
        if self._state == 3:
            if response:
                return self._fail("unexpected data after server-final message", True)
            self._state = 4
            return Success(self._username, self._authzid)
        return self._fail("exchange already finished", True)

    def _client_first(self, data: bytes) -> Outcome:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self._fail("client-first message not UTF-8", True)
        parts = text.split(",", 2)
        if len(parts) != 3:
            return self._fail("malformed client-first message", True)
        flag, authz, bare = parts
        if flag.startswith("p="):
            cbtype = flag[2:]
            if not self.plus:
                return self._fail("channel binding requested with a non-PLUS mechanism", True)
            if cbtype not in self._bindings:
                return self._fail(f"unsupported-channel-binding-type {cbtype!r}")
            self._cb_data = self._bindings[cbtype]
        elif flag in ("n", "y"):
            if self.plus:
                return self._fail("PLUS mechanism without channel binding", True)
            if flag == "y" and self._plus_advertised:
                return self._fail("server-does-support-channel-binding (downgrade attempt)")
        else:
            return self._fail("bad gs2 channel-binding flag", True)
        if authz:
            if not authz.startswith("a="):
                return self._fail("bad gs2 authzid", True)
            decoded = _decode_saslname(authz[2:])
            if decoded is None:
                return self._fail("bad authzid encoding", True)
            self._authzid = normalize_username(decoded)
        self._gs2 = (f"{flag},{authz},").encode()
        attrs = bare.split(",")
        if len(attrs) < 2 or attrs[0].startswith("m="):
            return self._fail("extensions-not-supported or malformed client-first", True)
        if not attrs[0].startswith("n=") or not attrs[1].startswith("r="):
            return self._fail("malformed client-first message", True)
        user = _decode_saslname(attrs[0][2:])
        cnonce = attrs[1][2:]
        if user is None or not user or not cnonce or not cnonce.isprintable():
            return self._fail("bad username or nonce", True)
        self._username = normalize_username(user)
        if self._authzid and self._authzid != self._username:
            return self._fail("authorization identity differs from authentication identity")
        creds = self._lookup(self._username)
        self._secret = creds.scram(self.hash_name) if creds is not None else None
        if self._secret is not None:
            salt, iterations = self._secret.salt, self._secret.iterations
        else:
            salt = hmac.new(_FAKE_SALT_KEY, self._username.encode(), "sha256").digest()[:16]
            iterations = DEFAULT_ITERATIONS
        self._client_first_bare = bare
        self._nonce = cnonce + self._snonce
        self._server_first = f"r={self._nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        self._state = 2
        return Challenge(self._server_first.encode())

    def _client_final(self, data: bytes) -> Outcome:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            return self._fail("client-final message not ASCII", True)
        without_proof, sep, proof_attr = text.rpartition(",p=")
        attrs = without_proof.split(",")
        if not sep or len(attrs) < 2 or not attrs[0].startswith("c=") or not attrs[1].startswith("r="):
            return self._fail("malformed client-final message", True)
        try:
            cbind = base64.b64decode(attrs[0][2:], validate=True)
            proof = base64.b64decode(proof_attr, validate=True)
        except (binascii.Error, ValueError):
            return self._fail("bad base64 in client-final message", True)
        if not hmac.compare_digest(cbind, self._gs2 + self._cb_data):
            return self._fail("channel-bindings-dont-match")
        if attrs[1][2:] != self._nonce:
            return self._fail("nonce mismatch", True)
        secret = self._secret
        if secret is None:
            return self._fail("unknown-user or no SCRAM credentials")
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = hmac.new(secret.stored_key, auth_message, self.hash_name).digest()
        if len(proof) != len(signature):
            return self._fail("invalid-proof")
        client_key = _xor(proof, signature)
        if not hmac.compare_digest(hashlib.new(self.hash_name, client_key).digest(), secret.stored_key):
            return self._fail("invalid-proof")
        server_sig = hmac.new(secret.server_key, auth_message, self.hash_name).digest()
        self._state = 3
        return Challenge(b"v=" + base64.b64encode(server_sig))


class ScramClient:
    """Client side. ``channel_binding`` = (type, data) selects the -PLUS variant.
    ``server_has_plus_unusable``: we support binding but chose not to use it while the
    server did not offer -PLUS; sends the "y" flag (RFC 5802 section 6)."""

    def __init__(
        self,
        hash_name: HashName,
        username: str,
        password: str,
        *,
        channel_binding: tuple[str, bytes] | None = None,
        client_supports_binding: bool = False,
        authzid: str = "",
        nonce: str | None = None,
    ) -> None:
        self.hash_name: HashName = hash_name
        self._password = normalize_password(password)
        self._cb = channel_binding
        if channel_binding is not None:
            flag = f"p={channel_binding[0]}"
        else:
            flag = "y" if client_supports_binding else "n"
        authz = f"a={_encode_saslname(authzid)}" if authzid else ""
        self._gs2 = f"{flag},{authz},"
        self._cnonce = nonce or _nonce()
        self._bare = f"n={_encode_saslname(normalize_username(username))},r={self._cnonce}"
        self._server_sig = b""
        self._state = 0
        self.verified = False

    @property
    def name(self) -> str:
        return mechanism_name(self.hash_name, self._cb is not None)

    def start(self) -> bytes:
        self._state = 1
        return (self._gs2 + self._bare).encode()

    def step(self, challenge: bytes) -> bytes:
        """Answer server-first with client-final; answer server-final (checked) with b""."""
        if self._state == 1:
            self._state = 2
            return self._client_final(challenge)
        if self._state == 2:
            self.finish(challenge)
            return b""
        raise ScramError("unexpected SCRAM challenge")

    def finish(self, server_final: bytes) -> None:
        """Verify the server signature (``v=``); raises ScramError on ``e=`` or a mismatch."""
        text = server_final.decode("ascii", "replace")
        if text.startswith("e="):
            raise ScramError(f"server error: {text[2:]}")
        if not text.startswith("v="):
            raise ScramError("malformed server-final message")
        try:
            sig = base64.b64decode(text[2:].split(",")[0], validate=True)
        except (binascii.Error, ValueError):
            raise ScramError("bad base64 in server-final message") from None
        if self._state != 2 or not hmac.compare_digest(sig, self._server_sig):
            raise ScramError("server signature mismatch")
        self._state = 3
        self.verified = True

    def _client_final(self, challenge: bytes) -> bytes:
        server_first = challenge.decode("ascii", "replace")
        attrs: dict[str, str] = {}
        for part in server_first.split(","):
            key, eq, value = part.partition("=")
            if not eq or len(key) != 1:
                raise ScramError("malformed server-first message")
            attrs.setdefault(key, value)
        if "m" in attrs:
            raise ScramError("unsupported mandatory extension")
        nonce = attrs.get("r", "")
        if not nonce.startswith(self._cnonce) or len(nonce) <= len(self._cnonce):
            raise ScramError("server nonce does not extend the client nonce")
        try:
            salt = base64.b64decode(attrs.get("s", ""), validate=True)
            iterations = int(attrs.get("i", ""))
        except (binascii.Error, ValueError):
            raise ScramError("bad salt or iteration count") from None
        if not salt or not 1 <= iterations <= 10_000_000:
            raise ScramError("unreasonable salt or iteration count")
        cbind = self._gs2.encode() + (self._cb[1] if self._cb else b"")
        without_proof = f"c={base64.b64encode(cbind).decode()},r={nonce}"
        auth_message = f"{self._bare},{server_first},{without_proof}".encode()
        salted = hashlib.pbkdf2_hmac(self.hash_name, self._password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.hash_name).digest()
        stored_key = hashlib.new(self.hash_name, client_key).digest()
        proof = _xor(client_key, hmac.new(stored_key, auth_message, self.hash_name).digest())
        server_key = hmac.new(salted, b"Server Key", self.hash_name).digest()
        self._server_sig = hmac.new(server_key, auth_message, self.hash_name).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
