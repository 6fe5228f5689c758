"""The store-admin CLI through ``python -m app -config ...`` subprocesses, on a config
directory written by the test: directly on the data directory (no server), and through a
control socket served by this package's ctl handlers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import config as appconfig
from app.ctl.server import CtlServer
from app.store import ctl_handlers
from app.store.account import Account
from app.store.accounts_admin import Admin, check_admin_password
from app.store.authdb import open_authdb
from app.store.store import Store
from tests.conftest import INTEROP
from tests.harness import write_config

ROOT = Path(__file__).resolve().parents[2]
MBOX = INTEROP / "mox-testdata" / "importtest.mbox"
MAILDIR = INTEROP / "mox-testdata" / "importtest.maildir.tgz"


def moxpy(cfg: Path, *args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(cfg / "mox.conf"), *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    if ok:
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    else:
        assert p.returncode != 0, (args, p.stdout, p.stderr)
    return p


@pytest.fixture
def cfgdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    write_config(d)
    return d


def test_accounts_direct(cfgdir: Path, tmp_path: Path) -> None:
    data = cfgdir  # localserve config: DataDir "."
    moxpy(cfgdir, "config", "account", "add", "mjl", "mjl@localhost")
    assert (data / "accounts" / "mjl.db").is_file()
    assert "mjl" in moxpy(cfgdir, "config", "account", "list").stdout.split()
    moxpy(cfgdir, "config", "account", "add", "mjl", "other@localhost", ok=False)
    # An existing database is refused, and domains.conf stays unchanged.
    (data / "accounts" / "stale.db").write_bytes(b"")
    before = (cfgdir / "domains.conf").read_text()
    p = moxpy(cfgdir, "config", "account", "add", "stale", "stale@localhost", ok=False)
    assert "already exists" in p.stderr
    assert (cfgdir / "domains.conf").read_text() == before

    moxpy(cfgdir, "setaccountpassword", "mjl", stdin="s3cret pw\ns3cret pw\n")
    p = moxpy(cfgdir, "setaccountpassword", "mjl", stdin="a\nb\n", ok=False)
    assert "do not match" in p.stderr
    moxpy(cfgdir, "config", "address", "add", "mjl2@localhost", "mjl")
    assert moxpy(cfgdir, "config", "address", "account", "mjl2@localhost").stdout.strip() == "mjl"
    assert "mjl2@localhost" in moxpy(cfgdir, "config", "account", "addresses", "mjl").stdout
    moxpy(cfgdir, "config", "alias", "add", "team@localhost", "mjl@localhost", "mox@localhost")
    assert "team@localhost" in moxpy(cfgdir, "config", "alias", "list", "localhost").stdout
    moxpy(cfgdir, "config", "alias", "update", "team@localhost", "-postpublic", "true")
    printed = moxpy(cfgdir, "config", "alias", "print", "team@localhost").stdout
    assert "postpublic true" in printed and "mox@localhost" in printed
    moxpy(cfgdir, "config", "alias", "rmaddr", "team@localhost", "mox@localhost")
    moxpy(cfgdir, "config", "alias", "rm", "team@localhost")
    moxpy(cfgdir, "config", "domain", "add", "-disabled", "example.org", "mjl", "info")
    cfg = appconfig.load(cfgdir / "mox.conf")
    dom = cfg.domain("example.org")
    assert dom is not None and dom.Disabled and cfg.lookup_address("info", "example.org") is None
    moxpy(cfgdir, "config", "domain", "enable", "example.org")
    assert moxpy(cfgdir, "config", "address", "account", "info@example.org").stdout.strip() == "mjl"
    moxpy(cfgdir, "config", "account", "disable", "mjl", "on holiday")
    assert "login disabled: on holiday" in moxpy(cfgdir, "config", "account", "list").stdout
    moxpy(cfgdir, "config", "account", "enable", "mjl")

    out = moxpy(cfgdir, "import", "mbox", "mjl", "Imported", str(MBOX)).stdout
    assert "imported 2 messages into Imported" in out
    # An account from the config whose database was never opened gets one on first use.
    assert not (data / "accounts" / "mox.db").exists()
    moxpy(cfgdir, "import", "mbox", "mox", "Inbox", str(MBOX))
    for cmd in (["recalculatemailboxcounts", "mjl"], ["bumpuidvalidity", "mjl", "Imported"], ["fixuidmeta", "mjl"],
                ["reassignuids", "mjl"], ["reassignthreads"]):  # fmt: skip
        moxpy(cfgdir, *cmd)
    moxpy(cfgdir, "export", "mbox", str(tmp_path / "exp"), str(data / "accounts" / "mjl"), "Imported")
    assert (tmp_path / "exp" / "Imported.mbox").read_bytes().count(b"\nFrom ") == 1

    assert (
        "backing up database accounts/mjl.db"
        in moxpy(cfgdir, "backup", "-verbose", str(tmp_path / "bak")).stdout
    )
    assert (tmp_path / "bak" / "data" / "accounts" / "mjl.db").is_file()
    out = moxpy(
        cfgdir, "ximport", "maildir", str(tmp_path / "bak" / "data" / "accounts" / "mjl"), "X", str(MAILDIR)
    ).stdout
    assert "imported 2 messages into X" in out
    assert (tmp_path / "bak" / "config" / "mox.conf").is_file()
    assert "no problems found" in moxpy(cfgdir, "verifydata", str(tmp_path / "bak")).stdout

    moxpy(cfgdir, "setadminpassword", stdin="admin pw\nadmin pw\n")
    assert check_admin_password((cfgdir / "adminpasswd").read_text(), "admin pw")

    moxpy(cfgdir, "config", "account", "rm", "mjl")
    assert not (data / "accounts" / "mjl.db").exists()
    assert "mjl" not in moxpy(cfgdir, "config", "account", "list").stdout.split()
    moxpy(cfgdir, "config", "account", "rm", "mjl", ok=False)


def test_tlspubkey(cfgdir: Path, tmp_path: Path) -> None:
    stem = str(tmp_path / "client")
    fp = moxpy(cfgdir, "config", "tlspubkey", "gen", stem).stdout.split("fingerprint: ")[1].strip()
    assert oct(os.stat(stem + ".key").st_mode & 0o777) == "0o600"
    pem = Path(stem + ".pem").read_text()
    moxpy(cfgdir, "config", "tlspubkey", "add", "-no-imap-preauth", "mox@localhost", "laptop", stdin=pem)
    moxpy(cfgdir, "config", "tlspubkey", "add", "mox@localhost", stdin=pem, ok=False)  # duplicate
    moxpy(cfgdir, "config", "tlspubkey", "add", "nobody@localhost", stdin=pem, ok=False)
    listed = moxpy(cfgdir, "config", "tlspubkey", "list").stdout
    assert fp in listed and "ed25519" in listed and "no-imap-preauth" in listed
    got = moxpy(cfgdir, "config", "tlspubkey", "get", fp).stdout
    assert "account: mox" in got and "BEGIN CERTIFICATE" in got
    moxpy(cfgdir, "config", "tlspubkey", "rm", fp)
    assert fp not in moxpy(cfgdir, "config", "tlspubkey", "list").stdout


class CtlThread:
    """This package's ctl handlers on a real CtlServer, in a thread with its own loop."""

    def __init__(self, cfgdir: Path) -> None:
        self.config = appconfig.load(cfgdir / "mox.conf")
        self.store = Store(self.config.data_dir)
        self.authdb = open_authdb(self.config.data_dir)
        self.loop = asyncio.new_event_loop()
        self.server = CtlServer(self.config.data_dir / "ctl")
        for cmd, h in ctl_handlers.handlers(self.store, self.config, self.authdb).items():
            self.server.register(cmd, h)
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.server.start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.store.close()
        self.authdb.close()


@pytest.fixture
def served(cfgdir: Path) -> Iterator[CtlThread]:
    s = CtlThread(cfgdir)
    yield s
    s.stop()


def test_through_ctl_with_backup_while_writing(cfgdir: Path, served: CtlThread, tmp_path: Path) -> None:
    moxpy(cfgdir, "config", "account", "add", "mjl", "mjl@localhost")
    # The server's live config changed at once and its store created the account.
    assert served.config.account("mjl") is not None
    acc = served.store.account("mjl")
    out = moxpy(cfgdir, "import", "mbox", "mjl", "Imported", str(MBOX)).stdout
    assert "2 messages imported" in out and acc.mailbox_status("Imported").counts.total == 2
    moxpy(cfgdir, "setaccountpassword", "mjl", stdin="pw pw\npw pw\n")
    from app.store import credentials

    assert credentials.verify_password(acc, "pw pw")
    assert "mjl: recalculatemailboxcounts" in moxpy(cfgdir, "recalculatemailboxcounts", "mjl").stdout
    p = moxpy(cfgdir, "import", "mbox", "nosuch", "X", str(MBOX), ok=False)
    assert "does not exist" in p.stderr

    stop = threading.Event()
    delivered: list[int] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            acc.deliver("Inbox", b"Subject: m%d\r\n\r\n" % i + b"x" * 2000 + b"\r\n")
            delivered.append(i)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        moxpy(cfgdir, "backup", str(tmp_path / "bak"))
    finally:
        stop.set()
        t.join()
    assert delivered
    assert "no problems found" in moxpy(cfgdir, "verifydata", str(tmp_path / "bak")).stdout
    copy = Account("mjl", tmp_path / "bak" / "data" / "accounts" / "mjl.db")
    try:
        n = copy.mailbox_status("Inbox").counts.total
        assert 0 <= n <= len(delivered) and copy.verify() == []
    finally:
        copy.close()
    moxpy(cfgdir, "config", "account", "rm", "mjl")
    assert served.config.account("mjl") is None and not (cfgdir / "accounts" / "mjl.db").exists()


def test_interrupted_removal_completes(cfgdir: Path) -> None:
    config = appconfig.load(cfgdir / "mox.conf")
    store = Store(config.data_dir)
    authdb = open_authdb(config.data_dir)
    admin = Admin(config, store, authdb)
    admin.add_account("gone", "gone@localhost")
    assert (cfgdir / "accounts" / "gone.db").exists()
    authdb.removal_intent_add("gone")  # as if a removal crashed right after recording its intent
    store.close()
    authdb.close()
    config = appconfig.load(cfgdir / "mox.conf")
    assert config.account("gone") is not None
    store, authdb = Store(config.data_dir), open_authdb(config.data_dir)
    try:
        assert Admin(config, store, authdb).complete_pending_removals() == ["gone"]
        assert config.account("gone") is None and not (cfgdir / "accounts" / "gone.db").exists()
        assert authdb.removal_intents() == []
    finally:
        store.close()
        authdb.close()
