"""Account administration in-process: domains, refusals, admin password hashes, backup and
verifydata edge cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import config as appconfig
from app.store import credentials
from app.store.accounts_admin import (
    Admin,
    AdminError,
    check_admin_password,
    hash_admin_password,
    set_admin_password,
    verify_admin_password,
)
from app.store.authdb import LoginAttempt, open_authdb
from app.store.backup import BackupError, backup, verify_data
from app.store.store import Store
from tests.harness import write_config


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Admin]:
    d = tmp_path / "config"
    write_config(d)
    cfg = appconfig.load(d / "mox.conf")
    store, authdb = Store(cfg.data_dir), open_authdb(cfg.data_dir)
    yield Admin(cfg, store, authdb)
    store.close()
    authdb.close()


def test_domains(admin: Admin) -> None:
    admin.add_account("mjl", "mjl@localhost", password="pw for mjl")
    assert credentials.verify_password(admin.store.account("mjl"), "pw for mjl")
    admin.add_domain("example.org", "mjl", "postmaster")
    assert admin.config.domain("example.org") is not None
    m = admin.config.lookup_address("postmaster", "example.org")
    assert m is not None and m.account == "mjl"
    admin.disable_domain("example.org")
    assert admin.config.lookup_address("postmaster", "example.org") is None
    admin.enable_domain("example.org")
    assert admin.config.lookup_address("postmaster", "example.org") is not None
    with pytest.raises(AdminError):
        admin.add_domain("example.org", "mjl")
    with pytest.raises(AdminError, match="still has address"):
        admin.remove_domain("example.org")
    admin.remove_address("postmaster@example.org")
    admin.remove_domain("example.org")
    assert admin.config.domain("example.org") is None
    # The domains.conf on disk is what the live config says.
    assert appconfig.load(admin.config.static_path).domain("example.org") is None


def test_refusals(admin: Admin) -> None:
    with pytest.raises(AdminError):
        admin.add_account("bad", "bad@unknown.example")
    assert not (admin.config.data_dir / "accounts" / "bad.db").exists()
    with pytest.raises(credentials.PasswordError):
        admin.add_account("nopw", "nopw@localhost", password="")
    assert (
        admin.config.account("nopw") is None and not (admin.config.data_dir / "accounts" / "nopw.db").exists()
    )
    with pytest.raises(AdminError):
        admin.set_password("nobody", "x")
    with pytest.raises(AdminError):
        admin.set_password("mox", "bell\x07")
    with pytest.raises(AdminError):
        admin.remove_account("nobody")
    with pytest.raises(AdminError):
        admin.maintenance("nosuchaction", "mox")
    with pytest.raises(AdminError):
        admin.maintenance("fixuidmeta", "nobody")
    assert "mox: fixuidmeta" in admin.maintenance("fixuidmeta", "mox")


def test_password_change_logs_out_sessions(admin: Admin) -> None:
    s = admin.authdb.session_add("mox", "mox@localhost")
    admin.set_password("mox", "new password")
    assert admin.authdb.session_use(s.session_token, None) is None


def test_remove_account_cleans_authdb(admin: Admin) -> None:
    admin.add_account("mjl", "mjl@localhost")
    admin.authdb.record_login_attempt(LoginAttempt("mjl", "mjl@localhost", result="ok"))
    admin.remove_account("mjl")
    assert admin.authdb.login_attempts("mjl") == []


def test_admin_password(admin: Admin) -> None:
    h = hash_admin_password("secret")
    assert h.startswith("$scrypt$n=32768,r=8,p=1$")
    assert check_admin_password(h, "secret") and not check_admin_password(h, "Secret")
    assert not check_admin_password("$scrypt$garbage", "x")
    assert not check_admin_password("$scrypt$n=99999999999,r=8,p=1$00$00", "x")
    assert not check_admin_password("plain", "plain")
    path = set_admin_password(admin.config, "adm1n")
    assert path.stat().st_mode & 0o777 == 0o600
    assert verify_admin_password(admin.config, "adm1n") and not verify_admin_password(admin.config, "x")


def test_backup_refusals_and_corruption(admin: Admin, tmp_path: Path) -> None:
    dest = tmp_path / "nonempty"
    dest.mkdir()
    (dest / "x").write_text("x")
    with pytest.raises(BackupError):
        backup(admin.config.config_dir, admin.config.data_dir, dest)
    admin.store.account("mox", create=True).deliver("Inbox", b"Subject: x\r\n\r\nbody\r\n")
    res = backup(admin.config.config_dir, admin.config.data_dir, tmp_path / "bak")
    assert "accounts/mox.db" in res.databases and "auth.db" in res.databases
    assert verify_data(tmp_path / "bak") == []
    db = tmp_path / "bak" / "data" / "accounts" / "mox.db"
    raw = bytearray(db.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 4096] = b"\xff" * 4096
    db.write_bytes(bytes(raw))
    problems = verify_data(tmp_path / "bak")
    assert problems and all(p.startswith("accounts/mox.db") for p in problems)


def test_verifydata_fix(admin: Admin, tmp_path: Path) -> None:
    import apsw

    admin.store.account("mox", create=True).deliver("Inbox", b"Subject: x\r\n\r\nbody\r\n")
    backup(admin.config.config_dir, admin.config.data_dir, tmp_path / "bak")
    db = tmp_path / "bak" / "data" / "accounts" / "mox.db"
    conn = apsw.Connection(str(db))
    conn.execute("UPDATE mailbox SET total = total + 5, size = 1 WHERE name = 'Inbox'")
    conn.close()
    problems = verify_data(tmp_path / "bak")
    assert problems and all(p.startswith("accounts/mox.db") for p in problems)
    assert verify_data(tmp_path / "bak", fix=True) == []
    assert verify_data(tmp_path / "bak") == []
    assert (tmp_path / "bak" / "moxversion").read_text().startswith("moxpy ")
