"""TLS client certificate authentication in the composed server: a public key registered
through the CLI (over the control socket) makes IMAPS start with PREAUTH and lets submission
use AUTH EXTERNAL; an unregistered certificate does not authenticate.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.harness import LOCALHOST, RunningServer


def _moxpy(mox: RunningServer, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "app", "-config", str(mox.config_path), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def _gen(mox: RunningServer, stem: Path) -> None:
    r = _moxpy(mox, "config", "tlspubkey", "gen", str(stem))
    assert r.returncode == 0, r.stderr


def _imaps_greeting(mox: RunningServer, ctx: ssl.SSLContext) -> bytes:
    with (
        socket.create_connection((LOCALHOST, mox.ports["IMAPS"]), 10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as s,
    ):
        return s.recv(4096)


@pytest.fixture
def cert_files(mox: RunningServer, tmp_path: Path) -> Path:
    stem = tmp_path / "client"
    _gen(mox, stem)
    return stem


def test_registered_certificate_preauth_and_external(mox: RunningServer, cert_files: Path) -> None:
    certfile, keyfile = Path(f"{cert_files}.pem"), Path(f"{cert_files}.key")
    r = _moxpy(mox, "config", "tlspubkey", "add", "mox@localhost", "laptop", stdin=certfile.read_bytes())
    assert r.returncode == 0, r.stderr
    ctx = mox.client_tls_context()
    ctx.load_cert_chain(str(certfile), str(keyfile))
    greeting = b""
    end = time.time() + 10
    while time.time() < end:  # the server picks up new keys within about a second
        greeting = _imaps_greeting(mox, ctx)
        if greeting.startswith(b"* PREAUTH"):
            break
        time.sleep(0.3)
    assert greeting.startswith(b"* PREAUTH"), greeting
    with smtplib.SMTP_SSL(LOCALHOST, mox.ports["Submissions"], context=ctx, timeout=10) as s:
        s.ehlo("client")
        assert "EXTERNAL" in s.esmtp_features.get("auth", "").split()
        code, resp = s.docmd("AUTH", "EXTERNAL =")
        assert code == 235, resp


def test_without_registered_keys_no_preauth(mox: RunningServer) -> None:
    greeting = _imaps_greeting(mox, mox.client_tls_context())
    assert greeting.startswith(b"* OK"), greeting
