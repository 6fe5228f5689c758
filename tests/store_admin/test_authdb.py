"""auth.db: login attempts grouping/retention, TLS public keys, sessions, migrations."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from app.store.authdb import (
    ATTEMPT_KEEP_SECONDS,
    AuthDB,
    AuthDBError,
    LoginAttempt,
    certificate_fingerprint,
    parse_tls_public_key,
)


def _db(tmp_path: Path) -> AuthDB:
    return AuthDB(tmp_path / "auth.db")


def test_login_attempts_grouped(tmp_path: Path) -> None:
    db = _db(tmp_path)
    a = LoginAttempt(
        "mjl", "mjl@mox.example", "10.0.0.1", "127.0.0.1", "", "", "imap", "", "PLAIN", "badcreds"
    )
    db.record_login_attempt(a, now=1000)
    db.record_login_attempt(a, now=2000)
    db.record_login_attempt(LoginAttempt("mjl", "mjl@mox.example", result="ok", protocol="imap"), now=3000)
    recs = db.login_attempts("mjl")
    assert [(r.attempt.result, r.count, r.first, r.last) for r in recs] == [
        ("ok", 1, 3000, 3000),
        ("badcreds", 2, 1000, 2000),
    ]
    assert db.login_attempts("other") == []
    assert len(db.login_attempts()) == 2


def test_login_attempts_retention(tmp_path: Path) -> None:
    db = _db(tmp_path)
    old = LoginAttempt("mjl", "a", result="ok")
    db.record_login_attempt(old, now=1000)
    now = 1000 + ATTEMPT_KEEP_SECONDS + 10
    db.record_login_attempt(LoginAttempt("mjl", "b", result="ok"), now=now)
    db.cleanup_login_attempts(now=now)
    assert [r.attempt.login_address for r in db.login_attempts("mjl")] == ["b"]


def test_login_attempts_max_per_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.store.authdb as authdb

    monkeypatch.setattr(authdb, "ATTEMPT_MAX_PER_ACCOUNT", 5)
    db = _db(tmp_path)
    for i in range(12):
        db.record_login_attempt(LoginAttempt("mjl", f"x{i}", result="badcreds"), now=10_000 + i)
        db.record_login_attempt(LoginAttempt("other", f"x{i}", result="badcreds"), now=10_000 + i)
    db.cleanup_login_attempts(now=10_100)
    assert [r.attempt.login_address for r in db.login_attempts("mjl")] == [f"x{i}" for i in range(11, 6, -1)]
    assert len(db.login_attempts("other")) == 5


def _cert_der() -> bytes:
    pem = trustme.CA().issue_cert("client@mox.example").cert_chain_pems[0].bytes()
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


def test_tls_public_keys(tmp_path: Path) -> None:
    db = _db(tmp_path)
    der = _cert_der()
    key = parse_tls_public_key(der, "mjl", "mjl@mox.example", name="laptop")
    assert key.fingerprint == certificate_fingerprint(der)
    assert len(key.fingerprint) == 43 and "=" not in key.fingerprint
    assert key.type == "ecdsa-p256"
    db.tls_public_key_add(key)
    with pytest.raises(AuthDBError):
        db.tls_public_key_add(key)
    got = db.tls_public_key(key.fingerprint)
    assert got == key
    assert db.tls_public_keys("mjl") == [key]
    assert db.tls_public_keys("other") == []
    db.tls_public_key_update(
        type(key)(
            key.fingerprint, key.created, key.type, "desk", True, key.cert_der, "mjl", "other@mox.example"
        )
    )
    got = db.tls_public_key(key.fingerprint)
    assert (
        got is not None
        and got.name == "desk"
        and got.no_imap_preauth
        and got.login_address == "other@mox.example"
    )
    db.tls_public_key_remove(key.fingerprint)
    assert db.tls_public_key(key.fingerprint) is None
    with pytest.raises(AuthDBError):
        db.tls_public_key_remove(key.fingerprint)
    with pytest.raises(ValueError):
        parse_tls_public_key(b"not a cert", "mjl", "x")


def test_sessions(tmp_path: Path) -> None:
    db = _db(tmp_path)
    s = db.session_add("mjl", "mjl@mox.example", now=1000)
    assert db.session_use(s.session_token, s.csrf_token, now=1001) is not None
    assert db.session_use(s.session_token, "wrong", now=1002) is None
    assert db.session_use("unknown", None, now=1002) is None
    used = db.session_use(s.session_token, None, now=50_000)  # extended by the earlier use
    assert used is not None and used.account == "mjl"
    assert db.session_use(s.session_token, None, now=50_000 + 2 * 24 * 3600) is None  # expired, removed
    s2 = db.session_add("mjl", "mjl@mox.example")
    db.sessions_remove_account("mjl")
    assert db.session_use(s2.session_token, None) is None


def test_persistence_and_newer_schema_refused(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.record_login_attempt(LoginAttempt("mjl", "a", result="ok"))
    db.close()
    db = _db(tmp_path)
    assert len(db.login_attempts("mjl")) == 1
    db.remove_account("mjl")
    assert db.login_attempts("mjl") == []
    db.close()
    conn = apsw.Connection(str(tmp_path / "auth.db"))
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(AuthDBError, match="newer"):
        _db(tmp_path)


def test_corrupt_file_names_path(tmp_path: Path) -> None:
    (tmp_path / "auth.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(AuthDBError, match=r"auth\.db"):
        _db(tmp_path)
