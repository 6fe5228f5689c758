"""``moxpy message parse FILE`` through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "messages"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_message_parse() -> None:
    r = run("message", "parse", str(CORPUS / "forward-rfc822.eml"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    part = out["Part"]
    assert part["MediaType"] == "MULTIPART" and part["MediaSubType"] == "MIXED"
    fwd = part["Parts"][1]
    assert fwd["MediaType"] == "MESSAGE" and fwd["Message"]["Parts"][0]["MediaSubType"] == "PLAIN"
    assert out["Envelope"]["Subject"] == "Fwd: invoice" and out["Envelope"]["From"] == ["eve@example.org"]


def test_message_parse_errors(tmp_path: Path) -> None:
    r = run("message", "parse")
    assert r.returncode == 2
    r = run("message", "parse", str(tmp_path / "missing.eml"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
