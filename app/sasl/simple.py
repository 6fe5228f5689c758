"""Server and client sides of PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login),
CRAM-MD5 (RFC 2195) and EXTERNAL (RFC 4422 appendix A).

Password mechanisms verify against stored secrets only (see stored.py): PLAIN and LOGIN
through the SCRAM-SHA-256 secret, CRAM-MD5 through the precomputed HMAC-MD5 states.
An authorization identity other than the authentication identity is refused (as mox).
"""

from __future__ import annotations

import hmac
import secrets
import time

from app.sasl.outcome import Challenge, CredentialLookup, Failure, Outcome, Success
from app.sasl.precis import normalize_password, normalize_username
from app.sasl.stored import DEFAULT_ITERATIONS, derive_scram

_DUMMY_SALT = secrets.token_bytes(16)


def _equalize_unknown_user(password: str) -> None:
    # Spend the same PBKDF2 work as for a real account, so timing does not reveal accounts.
    try:
        derive_scram("sha256", password, _DUMMY_SALT, DEFAULT_ITERATIONS)
    except ValueError:
        pass


def _verify(lookup: CredentialLookup, mech: str, username: str, password: str, authzid: str) -> Outcome:
    username = normalize_username(username)
    authzid = normalize_username(authzid)
    if not username:
        return Failure(f"{mech}: empty username", True)
    if authzid and authzid != username:
        return Failure(f"{mech}: authorization identity differs", False, username)
    creds = lookup(username)
    if creds is None:
        _equalize_unknown_user(password)
        return Failure(f"{mech}: unknown user", False, username)
    if not creds.verify_password(password):
        return Failure(f"{mech}: bad password", False, username)
    return Success(username, authzid)


class PlainServer:
    """RFC 4616 section 2: message = [authzid] NUL authcid NUL passwd, UTF-8."""

    name = "PLAIN"

    def __init__(self, lookup: CredentialLookup) -> None:
        self._lookup = lookup
        self._asked = False

    def step(self, response: bytes | None) -> Outcome:
        if response is None or (response == b"" and not self._asked):
            if self._asked:
                return Failure("PLAIN: no response", True)
            self._asked = True
            return Challenge(b"")
        parts = response.split(b"\0")
        if len(parts) != 3:
            return Failure("PLAIN: malformed message", True)
        try:
            authzid, authcid, passwd = (p.decode("utf-8") for p in parts)
        except UnicodeDecodeError:
            return Failure("PLAIN: message not UTF-8", True)
        return _verify(self._lookup, "PLAIN", authcid, passwd, authzid)


class LoginServer:
    """The obsolete but common LOGIN mechanism: username and password as two responses.
    An initial response, when sent, is the username."""

    name = "LOGIN"

    def __init__(self, lookup: CredentialLookup) -> None:
        self._lookup = lookup
        self._username: str | None = None
        self._state = 0

    def step(self, response: bytes | None) -> Outcome:
        if self._state == 0 and not response:
            self._state = 1
            return Challenge(b"Username:")
        try:
            text = (response or b"").decode("utf-8")
        except UnicodeDecodeError:
            return Failure("LOGIN: response not UTF-8", True)
        if self._state in (0, 1):
            self._username = text
            self._state = 2
            return Challenge(b"Password:")
        if self._state == 2 and self._username is not None:
            self._state = 3
            return _verify(self._lookup, "LOGIN", self._username, text, "")
        return Failure("LOGIN: exchange already finished", True)


class CramMD5Server:
    """RFC 2195: the server sends a unique msg-id-like challenge, the client answers
    ``username SP hex(HMAC-MD5(password, challenge))``."""

    name = "CRAM-MD5"

    def __init__(
        self, lookup: CredentialLookup, hostname: str = "localhost", challenge: bytes | None = None
    ) -> None:
        self._lookup = lookup
        self._challenge = challenge or (
            f"<{secrets.randbelow(2**63)}.{int(time.time())}@{hostname}>".encode()
        )
        self._sent = False

    def step(self, response: bytes | None) -> Outcome:
        if not self._sent:
            if response:
                return Failure("CRAM-MD5: initial response not allowed", True)
            self._sent = True
            return Challenge(self._challenge)
        try:
            text = (response or b"").decode("utf-8")
        except UnicodeDecodeError:
            return Failure("CRAM-MD5: response not UTF-8", True)
        user, sep, digest = text.rpartition(" ")
        if not sep or not user or len(digest) != 32:
            return Failure("CRAM-MD5: malformed response", True)
        username = normalize_username(user)
        creds = self._lookup(username)
        if creds is None or creds.cram_md5 is None:
            return Failure("CRAM-MD5: unknown user or no CRAM-MD5 credentials", False, username)
        expected = creds.cram_md5.hmac(self._challenge).hex()
        if not hmac.compare_digest(expected, digest.lower()):
            return Failure("CRAM-MD5: bad digest", False, username)
        return Success(username)


class ExternalServer:
    """RFC 4422 appendix A. ``identity`` is the login address the connection is already
    authenticated as (a TLS client certificate whose public key is registered, looked up by
    the protocol server); the client's response is the authzid, empty or equal to it."""

    name = "EXTERNAL"

    def __init__(self, identity: str | None) -> None:
        self._identity = normalize_username(identity) if identity else None
        self._asked = False

    def step(self, response: bytes | None) -> Outcome:
        if response is None and not self._asked:
            self._asked = True
            return Challenge(b"")
        try:
            authzid = normalize_username((response or b"").decode("utf-8"))
        except UnicodeDecodeError:
            return Failure("EXTERNAL: authzid not UTF-8", True)
        if self._identity is None:
            return Failure("EXTERNAL: no authenticated TLS client certificate", False, authzid)
        if authzid and authzid != self._identity:
            return Failure("EXTERNAL: authzid does not match the certificate's login address", False, authzid)
        return Success(self._identity, authzid)


class PlainClient:
    name = "PLAIN"

    def __init__(self, username: str, password: str, authzid: str = "") -> None:
        self._msg = f"{authzid}\0{username}\0{password}".encode()

    def start(self) -> bytes:
        return self._msg

    def step(self, challenge: bytes) -> bytes:
        return self._msg  # a server that sent an empty challenge instead of taking the IR


class LoginClient:
    name = "LOGIN"

    def __init__(self, username: str, password: str) -> None:
        self._username, self._password = username, password
        self._n = 0

    def start(self) -> None:
        return None

    def step(self, challenge: bytes) -> bytes:
        self._n += 1
        if self._n == 1:
            return self._username.encode()
        return self._password.encode()


class CramMD5Client:
    name = "CRAM-MD5"

    def __init__(self, username: str, password: str) -> None:
        self._username, self._password = username, password

    def start(self) -> None:
        return None

    def step(self, challenge: bytes) -> bytes:
        digest = hmac.new(normalize_password(self._password).encode("utf-8"), challenge, "md5").hexdigest()
        return f"{self._username} {digest}".encode()
