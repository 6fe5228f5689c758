"""``moxpy admin imapserve ADDRESS``: a PREAUTH session on stdin/stdout of a subprocess."""

from __future__ import annotations

import imaplib
import subprocess
import sys
from pathlib import Path

from app import localserve as ls
from tests.conftest import ROOT
from tests.harness import LOCALHOST, RunningServer


def test_admin_imapserve(tmp_path: Path) -> None:
    ls.ensure_config(tmp_path)
    script = b"a SELECT INBOX\r\nb APPEND INBOX {5+}\r\nhello\r\nc LOGOUT\r\n"
    p = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(tmp_path / "mox.conf"), "admin", "imapserve", "mox@localhost"],
        input=script, capture_output=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    out = p.stdout.decode()
    assert out.startswith("* PREAUTH [CAPABILITY IMAP4rev2"), out + p.stderr.decode()[-2000:]
    assert "a OK [READ-WRITE]" in out and "b OK [APPENDUID" in out and "c OK" in out


def test_admin_imapserve_through_running_server(mox: RunningServer) -> None:
    """With the server running, the session runs inside it (over the control socket): an
    APPEND made there wakes a client idling on the server's IMAPS port."""
    m = imaplib.IMAP4_SSL(LOCALHOST, mox.ports["IMAPS"], ssl_context=mox.client_tls_context())
    m.login(ls.ADDRESS, ls.PASSWORD)
    m.select("INBOX")
    tag = m._new_tag().decode()  # type: ignore[attr-defined]
    m.send(f"{tag} IDLE\r\n".encode())
    assert m.readline().startswith(b"+ ")
    script = b"a SELECT INBOX\r\nb APPEND INBOX {18+}\r\nSubject: via ctl\r\n\r\nc LOGOUT\r\n"
    p = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(mox.config_path), "admin", "imapserve", ls.ADDRESS],
        input=script, capture_output=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    out = p.stdout.decode()
    assert p.returncode == 0 and out.startswith("* PREAUTH "), out + p.stderr.decode()[-2000:]
    assert "b OK [APPENDUID" in out and "c OK" in out
    # The session ran in the server: no store was opened by the CLI process, and the idler hears.
    m.sock.settimeout(10)
    assert m.readline() == b"* 1 EXISTS\r\n"
    m.send(b"DONE\r\n")
    while not (line := m.readline()).startswith(tag.encode()):
        assert line.startswith(b"* ")
    assert line.startswith(tag.encode() + b" OK")
    m.logout()


def test_admin_imapserve_unknown_address_via_server(mox: RunningServer) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(mox.config_path), "admin", "imapserve", "nobody@localhost"],
        capture_output=True, timeout=60, cwd=ROOT, input=b"",
    )  # fmt: skip
    assert p.returncode != 0 and b"no account for address nobody@localhost" in p.stderr
