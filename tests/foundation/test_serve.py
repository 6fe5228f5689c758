"""The server process: start-up from the built pyz, TLS on the implicit-TLS ports, SIGTERM,
configuration and bind errors, privilege drop as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import localserve as ls
from tests.conftest import ROOT
from tests.harness import LOCALHOST, wait_port, write_config


def _tls_handshake(port: int, cafile: Path) -> str:
    ctx = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection((LOCALHOST, port), 10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as s,
    ):
        return str(s.version())


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(20)


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "moxpy.pyz"
    subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "-o", str(out)], check=True, capture_output=True, timeout=600
    )
    return out


@pytest.mark.slow
def test_pyz_localserve_tls_and_sigterm(pyz: Path, tmp_path: Path) -> None:
    d = tmp_path / "ls"
    ports = write_config(d)
    env = dict(os.environ, MOXPY_CACHE=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        [sys.executable, str(pyz), "localserve", "-dir", str(d)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(ports["Submissions"])
        wait_port(ports["IMAPS"])
        assert _tls_handshake(ports["Submissions"], d / "localhost.crt") in ("TLSv1.2", "TLSv1.3")
        assert _tls_handshake(ports["IMAPS"], d / "localhost.crt") in ("TLSv1.2", "TLSv1.3")
    finally:
        rc = _stop(proc)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert rc == 0, err
    assert f"127.0.0.1:{ports['SMTP']}" in out
    assert ls.PASSWORD in out and ls.ADDRESS in out
    assert "Traceback" not in err


def test_pyz_runs_with_stale_cache_and_unwritable_home(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    stale = cache / "moxpy.pyz_0000stale"
    (stale / "site-packages").mkdir(parents=True)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    env = dict(os.environ, MOXPY_CACHE=str(cache), HOME="/nonexistent")
    r = subprocess.run(
        [sys.executable, str(pyz), "version"], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("moxpy ")
    assert not stale.exists()
    assert any(p.name.startswith("moxpy.pyz_") for p in cache.iterdir())


def test_pyz_picks_cache_next_to_file_without_env(pyz: Path, tmp_path: Path) -> None:
    d = tmp_path / "bin"
    d.mkdir()
    shutil.copy(pyz, d / "moxpy.pyz")
    env = {k: v for k, v in os.environ.items() if k not in ("MOXPY_CACHE", "SHIV_ROOT")}
    env["HOME"] = "/nonexistent"
    r = subprocess.run(
        [sys.executable, str(d / "moxpy.pyz"), "version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (d / ".moxpy-cache").is_dir()


def _serve(conf: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "-config", str(conf), *extra, "serve"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_malformed_config_names_file_and_line(tmp_path: Path) -> None:
    d = tmp_path / "c"
    write_config(d)
    text = (d / "mox.conf").read_text().replace("Hostname: localhost", "Hostname: localhost\nBogusField: 1")
    (d / "mox.conf").write_text(text)
    line = text.splitlines().index("BogusField: 1") + 1
    r = _serve(d / "mox.conf")
    assert r.returncode != 0
    assert f"mox.conf:{line}" in r.stderr
    assert "Traceback" not in r.stderr


def test_port_in_use_names_listener_and_address(tmp_path: Path) -> None:
    d = tmp_path / "c"
    ports = write_config(d)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((LOCALHOST, ports["IMAP"]))
    blocker.listen()
    try:
        r = _serve(d / "mox.conf")
    finally:
        blocker.close()
    assert r.returncode != 0
    assert f"listener local: imap on 127.0.0.1:{ports['IMAP']}: address already in use" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="moxpy-priv-", dir="/tmp"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_serve_as_root_drops_privileges(world_readable_dir: Path) -> None:
    import pwd

    nobody = pwd.getpwnam("nobody")
    d = world_readable_dir / "config"
    ports = write_config(d)
    text = (d / "mox.conf").read_text()
    text = "\n".join("User: nobody" if ln.startswith("User:") else ln for ln in text.splitlines()) + "\n"
    (d / "mox.conf").write_text(text)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "-config", str(d / "mox.conf"), "serve"],
        cwd=str(world_readable_dir),
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(ports["SMTP"])
        # Sockets are bound as root; the drop follows once every module is loaded.
        end = time.time() + 30
        while time.time() < end:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            if status.split("Uid:")[1].split()[0] != "0":
                break
            time.sleep(0.1)
        time.sleep(0.5)
        uids = next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1:]
        gids = next(ln for ln in status.splitlines() if ln.startswith("Gid:")).split()[1:]
        assert uids == [str(nobody.pw_uid)] * 4
        assert gids == [str(nobody.pw_gid)] * 4
        assert (d / "mox.conf").stat().st_uid == nobody.pw_uid
    finally:
        rc = _stop(proc)
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert rc == 0, err
    assert "dropped privileges" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_serve_as_root_refuses_to_stay_root(tmp_path: Path) -> None:
    d = tmp_path / "c"
    write_config(d)
    text = (d / "mox.conf").read_text()
    text = "\n".join("User: 0" if ln.startswith("User:") else ln for ln in text.splitlines()) + "\n"
    (d / "mox.conf").write_text(text)
    r = _serve(d / "mox.conf")
    assert r.returncode != 0
    assert "refusing to keep serving as root" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "native"),
    [("win_amd64", "cp311-win_amd64.pyd"), ("musllinux_aarch64", "aarch64-linux-musl.so")],
)
def test_cross_target_build_carries_target_binaries(tmp_path: Path, target: str, native: str) -> None:
    import zipfile

    out = tmp_path / f"{target}.pyz"
    r = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--target", target, "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    names = zipfile.ZipFile(out).namelist()
    assert any(n.startswith("site-packages/apsw/") and n.endswith(native) for n in names)
    assert any(n.startswith("site-packages/app/cli/") for n in names)
    has_uvloop = any(n.startswith("site-packages/uvloop/") for n in names)
    assert has_uvloop == (target != "win_amd64")
