"""``moxpy admin imapserve ADDRESS``: a PREAUTH session on stdin/stdout of a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app import localserve
from tests.conftest import ROOT


def test_admin_imapserve(tmp_path: Path) -> None:
    localserve.ensure_config(tmp_path)
    script = b"a SELECT INBOX\r\nb APPEND INBOX {5+}\r\nhello\r\nc LOGOUT\r\n"
    p = subprocess.run(
        [sys.executable, "-m", "app", "-config", str(tmp_path / "mox.conf"), "admin", "imapserve", "mox@localhost"],
        input=script, capture_output=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    out = p.stdout.decode()
    assert out.startswith("* PREAUTH [CAPABILITY IMAP4rev2"), out + p.stderr.decode()[-2000:]
    assert "a OK [READ-WRITE]" in out and "b OK [APPENDUID" in out and "c OK" in out
