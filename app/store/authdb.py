"""The authentication database ``data/auth.db`` (apsw SQLite, WAL): web login sessions,
login attempts and TLS client public keys, as mox keeps them.

- Login attempts are grouped by their details (account, login address, addresses, TLS,
  protocol, mechanism, user agent, result): a repeat increments ``count`` and updates
  ``last``. Attempts older than 30 days are removed, and at most 10,000 are kept per account.
- TLS public keys (for EXTERNAL and IMAP pre-authentication with client certificates): the
  fingerprint is the unpadded base64url SHA-256 of the SubjectPublicKeyInfo (as mox).
- Sessions: random session and CSRF tokens for the web interfaces, with an expiry extended
  on use; at most 100 per account.

Schema versions are numbered in PRAGMA user_version; a newer database is refused.
Thread-safe: one connection, guarded by a lock (calls are short).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ATTEMPT_KEEP_SECONDS = 30 * 24 * 3600
ATTEMPT_MAX_PER_ACCOUNT = 10_000
SESSION_MAX_PER_ACCOUNT = 100
SESSION_LIFETIME = 24 * 3600

MIGRATIONS: list[str] = [
    """
    CREATE TABLE login_attempt (
        key BLOB PRIMARY KEY,
        first INTEGER NOT NULL,
        last INTEGER NOT NULL,
        count INTEGER NOT NULL,
        account TEXT NOT NULL,
        login_address TEXT NOT NULL,
        remote_ip TEXT NOT NULL,
        local_ip TEXT NOT NULL,
        tls TEXT NOT NULL,
        tls_pubkey_fingerprint TEXT NOT NULL,
        protocol TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        auth_mech TEXT NOT NULL,
        result TEXT NOT NULL
    );
    CREATE INDEX login_attempt_account_last ON login_attempt (account, last);
    CREATE INDEX login_attempt_last ON login_attempt (last);
    CREATE TABLE tls_public_key (
        fingerprint TEXT PRIMARY KEY,
        created INTEGER NOT NULL,
        type TEXT NOT NULL,
        name TEXT NOT NULL,
        no_imap_preauth INTEGER NOT NULL,
        cert_der BLOB NOT NULL,
        account TEXT NOT NULL,
        login_address TEXT NOT NULL
    );
    CREATE INDEX tls_public_key_account ON tls_public_key (account);
    CREATE TABLE login_session (
        id INTEGER PRIMARY KEY,
        created INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        session_token TEXT NOT NULL UNIQUE,
        csrf_token TEXT NOT NULL,
        account TEXT NOT NULL,
        login_address TEXT NOT NULL
    );
    CREATE INDEX login_session_account ON login_session (account);
    """,
    # Accounts being removed: recorded before the removal starts, deleted when it finished,
    # so a removal interrupted by a crash is completed at the next start.
    """
    CREATE TABLE account_removal (
        account TEXT PRIMARY KEY,
        started INTEGER NOT NULL
    );
    """,
]


class AuthDBError(Exception):
    """Opening or using auth.db failed (message names the file)."""


@dataclass(frozen=True)
class LoginAttempt:
    account: str
    login_address: str
    remote_ip: str = ""
    local_ip: str = ""
    tls: str = ""  # e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256", empty without TLS
    tls_pubkey_fingerprint: str = ""
    protocol: str = ""  # submission, imap, webmail, webaccount, webadmin, webapi, ...
    user_agent: str = ""
    auth_mech: str = ""  # SCRAM-SHA-256, PLAIN, websession, httpbasic, tlsclientauth, ...
    result: str = ""  # ok, badcreds, badchanbind, badprotocol, ratelimited, error, aborted


@dataclass(frozen=True)
class LoginAttemptRecord:
    attempt: LoginAttempt
    first: int
    last: int
    count: int


@dataclass(frozen=True)
class TLSPublicKey:
    fingerprint: str
    created: int
    type: str
    name: str
    no_imap_preauth: bool
    cert_der: bytes
    account: str
    login_address: str


@dataclass(frozen=True)
class LoginSession:
    id: int
    created: int
    expires: int
    session_token: str
    csrf_token: str
    account: str
    login_address: str


def public_key_fingerprint(spki_der: bytes) -> str:
    """Unpadded base64url of SHA-256 over the DER SubjectPublicKeyInfo."""
    return base64.urlsafe_b64encode(hashlib.sha256(spki_der).digest()).decode().rstrip("=")


def certificate_fingerprint(cert_der: bytes) -> str:
    """Fingerprint of the public key in a DER certificate (what a TLS server computes)."""
    cert = x509.load_der_x509_certificate(cert_der)
    return public_key_fingerprint(
        cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )


def key_type(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448"
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384", "secp521r1": "ecdsa-p521"}.get(
            key.curve.name, f"ecdsa-{key.curve.name}"
        )
    if isinstance(key, dsa.DSAPublicKey):
        return f"dsa-{key.key_size}"
    return "unknown"


def parse_tls_public_key(
    cert_der: bytes, account: str, login_address: str, name: str = "", no_imap_preauth: bool = False
) -> TLSPublicKey:
    """A TLSPublicKey from a DER certificate; raises ValueError for a bad certificate."""
    cert = x509.load_der_x509_certificate(cert_der)
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if not name:
        cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        name = str(cns[0].value) if cns else ""
    return TLSPublicKey(
        public_key_fingerprint(spki), int(time.time()), key_type(cert), name, no_imap_preauth, cert_der,
        account, login_address,
    )  # fmt: skip


def _attempt_key(a: LoginAttempt) -> bytes:
    h = hashlib.sha256()
    for v in (a.account, a.login_address, a.remote_ip, a.local_ip, a.tls, a.tls_pubkey_fingerprint,
              a.protocol, a.user_agent, a.auth_mech, a.result):  # fmt: skip
        h.update(v.encode("utf-8", "replace") + b"\0")
    return h.digest()


_ATTEMPT_COLS = "account, login_address, remote_ip, local_ip, tls, tls_pubkey_fingerprint, protocol, user_agent, auth_mech, result"


class AuthDB:
    """auth.db, opened (and migrated) at construction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._inserts = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = apsw.Connection(str(path))
            self.conn.setbusytimeout(5000)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except apsw.Error as exc:
            raise AuthDBError(f"{path}: {exc}") from None

    def _migrate(self) -> None:
        version = int(str(self.conn.execute("PRAGMA user_version").fetchall()[0][0]))
        if version > len(MIGRATIONS):
            raise AuthDBError(
                f"{self.path}: schema version {version} is newer than this moxpy supports ({len(MIGRATIONS)})"
            )
        for i in range(version, len(MIGRATIONS)):
            with self.conn:
                self.conn.execute(MIGRATIONS[i])
                self.conn.execute(f"PRAGMA user_version = {i + 1}")

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    # Login attempts.

    def record_login_attempt(self, attempt: LoginAttempt, now: float | None = None) -> None:
        """Record one attempt, merging it with identical earlier ones."""
        t = int(now if now is not None else time.time())
        key = _attempt_key(attempt)
        a = attempt
        with self._lock, self.conn:
            self.conn.execute(
                f"INSERT INTO login_attempt (key, first, last, count, {_ATTEMPT_COLS}) "
                "VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET last = excluded.last, count = count + 1",
                (key, t, t, a.account, a.login_address, a.remote_ip, a.local_ip, a.tls,
                 a.tls_pubkey_fingerprint, a.protocol, a.user_agent, a.auth_mech, a.result),
            )  # fmt: skip
            self._inserts += 1
            if self._inserts % 100 == 1:
                self._cleanup_locked(t, a.account)

    def cleanup_login_attempts(self, now: float | None = None) -> None:
        """Remove attempts older than 30 days and trim every account to 10,000 attempts."""
        t = int(now if now is not None else time.time())
        with self._lock, self.conn:
            accounts = [str(r[0]) for r in self.conn.execute("SELECT DISTINCT account FROM login_attempt")]
            self.conn.execute("DELETE FROM login_attempt WHERE last < ?", (t - ATTEMPT_KEEP_SECONDS,))
            for acc in accounts:
                self._trim_locked(acc)

    def _cleanup_locked(self, t: int, account: str) -> None:
        self.conn.execute("DELETE FROM login_attempt WHERE last < ?", (t - ATTEMPT_KEEP_SECONDS,))
        self._trim_locked(account)

    def _trim_locked(self, account: str) -> None:
        self.conn.execute(
            "DELETE FROM login_attempt WHERE account = ? AND key NOT IN "
            "(SELECT key FROM login_attempt WHERE account = ? ORDER BY last DESC LIMIT ?)",
            (account, account, ATTEMPT_MAX_PER_ACCOUNT),
        )

    def login_attempts(self, account: str | None = None, limit: int = 100) -> list[LoginAttemptRecord]:
        """Most recent first; all accounts when ``account`` is None."""
        where, params = ("WHERE account = ?", (account,)) if account is not None else ("", ())
        rows = self._run(
            f"SELECT {_ATTEMPT_COLS}, first, last, count FROM login_attempt {where} ORDER BY last DESC LIMIT ?",
            (*params, limit),
        )
        return [
            LoginAttemptRecord(LoginAttempt(*map(str, r[:10])), int(r[10]), int(r[11]), int(r[12]))
            for r in rows
        ]

    def remove_account(self, account: str) -> None:
        """Remove everything of an account (attempts, keys, sessions)."""
        with self._lock, self.conn:
            for table in ("login_attempt", "tls_public_key", "login_session"):
                self.conn.execute(f"DELETE FROM {table} WHERE account = ?", (account,))

    # Account removals in progress.

    def removal_intent_add(self, account: str) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT OR IGNORE INTO account_removal (account, started) VALUES (?, ?)",
                (account, int(time.time())),
            )

    def removal_intents(self) -> list[str]:
        return [str(r[0]) for r in self._run("SELECT account FROM account_removal ORDER BY started")]

    def removal_intent_done(self, account: str) -> None:
        with self._lock, self.conn:
            self.conn.execute("DELETE FROM account_removal WHERE account = ?", (account,))

    # TLS public keys.

    def tls_public_key(self, fingerprint: str) -> TLSPublicKey | None:
        rows = self._run("SELECT * FROM tls_public_key WHERE fingerprint = ?", (fingerprint,))
        return _tls_key(rows[0]) if rows else None

    def tls_public_keys(self, account: str | None = None) -> list[TLSPublicKey]:
        if account is None:
            rows = self._run("SELECT * FROM tls_public_key ORDER BY account, created")
        else:
            rows = self._run("SELECT * FROM tls_public_key WHERE account = ? ORDER BY created", (account,))
        return [_tls_key(r) for r in rows]

    def tls_public_key_add(self, key: TLSPublicKey) -> None:
        """Raises AuthDBError when the fingerprint is already registered."""
        try:
            with self._lock, self.conn:
                self.conn.execute(
                    "INSERT INTO tls_public_key VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key.fingerprint, key.created, key.type, key.name, int(key.no_imap_preauth), key.cert_der,
                     key.account, key.login_address),
                )  # fmt: skip
        except apsw.ConstraintError:
            raise AuthDBError(f"tls public key {key.fingerprint} already exists") from None

    def tls_public_key_update(self, key: TLSPublicKey) -> None:
        """Change name, NoIMAPPreauth and login address of an existing key."""
        with self._lock, self.conn:
            self.conn.execute(
                "UPDATE tls_public_key SET name = ?, no_imap_preauth = ?, login_address = ? WHERE fingerprint = ?",
                (key.name, int(key.no_imap_preauth), key.login_address, key.fingerprint),
            )
            if self.conn.changes() == 0:
                raise AuthDBError(f"no tls public key {key.fingerprint}")

    def tls_public_key_remove(self, fingerprint: str) -> None:
        with self._lock, self.conn:
            self.conn.execute("DELETE FROM tls_public_key WHERE fingerprint = ?", (fingerprint,))
            if self.conn.changes() == 0:
                raise AuthDBError(f"no tls public key {fingerprint}")

    # Web sessions.

    def session_add(self, account: str, login_address: str, now: float | None = None) -> LoginSession:
        t = int(now if now is not None else time.time())
        stoken, ctoken = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT INTO login_session (created, expires, session_token, csrf_token, account, login_address) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (t, t + SESSION_LIFETIME, stoken, ctoken, account, login_address),
            )
            sid = self.conn.last_insert_rowid()
            self.conn.execute(
                "DELETE FROM login_session WHERE account = ? AND id NOT IN "
                "(SELECT id FROM login_session WHERE account = ? ORDER BY id DESC LIMIT ?)",
                (account, account, SESSION_MAX_PER_ACCOUNT),
            )
        return LoginSession(sid, t, t + SESSION_LIFETIME, stoken, ctoken, account, login_address)

    def session_use(
        self, session_token: str, csrf_token: str | None, now: float | None = None
    ) -> LoginSession | None:
        """The live session for a token (and CSRF token, when given), its expiry extended;
        None when unknown, expired or the CSRF token does not match."""
        t = int(now if now is not None else time.time())
        with self._lock, self.conn:
            rows = self.conn.execute(
                "SELECT id, created, expires, session_token, csrf_token, account, login_address "
                "FROM login_session WHERE session_token = ?",
                (session_token,),
            ).fetchall()
            if not rows:
                return None
            r = rows[0]
            s = LoginSession(
                int(str(r[0])), int(str(r[1])), int(str(r[2])), str(r[3]), str(r[4]), str(r[5]), str(r[6])
            )
            if s.expires < t:
                self.conn.execute("DELETE FROM login_session WHERE id = ?", (s.id,))
                return None
            if csrf_token is not None and not secrets.compare_digest(csrf_token, s.csrf_token):
                return None
            self.conn.execute(
                "UPDATE login_session SET expires = ? WHERE id = ?", (t + SESSION_LIFETIME, s.id)
            )
        return LoginSession(s.id, s.created, t + SESSION_LIFETIME, s.session_token, s.csrf_token, s.account,
                            s.login_address)  # fmt: skip

    def session_remove(self, session_token: str) -> None:
        with self._lock, self.conn:
            self.conn.execute("DELETE FROM login_session WHERE session_token = ?", (session_token,))

    def sessions_remove_account(self, account: str) -> None:
        """Log out every session of an account (e.g. after a password change)."""
        with self._lock, self.conn:
            self.conn.execute("DELETE FROM login_session WHERE account = ?", (account,))


def _tls_key(r: tuple[Any, ...]) -> TLSPublicKey:
    return TLSPublicKey(
        str(r[0]), int(r[1]), str(r[2]), str(r[3]), bool(r[4]), bytes(r[5]), str(r[6]), str(r[7])
    )


def open_authdb(data_dir: Path) -> AuthDB:
    """``<data_dir>/auth.db``."""
    return AuthDB(data_dir / "auth.db")
