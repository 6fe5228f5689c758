"""The CLI: global flags, help, unknown subcommands, exit statuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def moxpy(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_version() -> None:
    r = moxpy("version")
    assert r.returncode == 0
    assert r.stdout.startswith("moxpy ")


def test_help_lists_subcommands_one_line_each() -> None:
    r = moxpy("help")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    for name in (
        "version",
        "serve",
        "localserve",
        "config test",
        "config describe-static",
        "config describe-domains",
    ):
        assert any(line.strip().startswith(name + " ") for line in lines), name


def test_help_of_one_command() -> None:
    r = moxpy("help", "localserve")
    assert r.returncode == 0
    assert "-dir" in r.stdout


def test_unknown_subcommand_exits_2_with_usage() -> None:
    r = moxpy("frobnicate")
    assert r.returncode == 2
    assert "unknown subcommand" in r.stderr
    assert "usage: moxpy" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_subcommand_exits_2() -> None:
    r = moxpy()
    assert r.returncode == 2


def test_unknown_global_flag() -> None:
    r = moxpy("-nope", "version")
    assert r.returncode == 2
    assert "unknown global flag" in r.stderr


def test_bad_loglevel() -> None:
    r = moxpy("-loglevel", "loud", "version")
    assert r.returncode == 2
    assert "unknown log level" in r.stderr


def test_file_errors_are_reported_without_traceback(tmp_path: Path) -> None:
    r = moxpy("config", "tlspubkey", "gen", str(tmp_path / "missing-dir" / "x"))
    assert r.returncode == 1
    assert "No such file or directory" in r.stderr
    assert "Traceback" not in r.stderr
