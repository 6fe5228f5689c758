"""``moxpy config test`` and ``config describe-*`` through the real command line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from app.cli.command import Context
from app.cli.main import main
from app.config import schema, sconf
from app.config.domains import Dynamic
from app.config.static import Static
from tests.config.conftest import edit_file
from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_config_test_ok(confdir: Path) -> None:
    p = run("-config", str(confdir / "mox.conf"), "config", "test")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "config OK\n"


def test_config_test_error_has_file_line_and_no_traceback(confdir: Path) -> None:
    edit_file(
        confdir / "domains.conf", "RejectsMailbox: Rejects", "RejectsMailbox: Rejects\n\t\tBogusField: 1"
    )
    p = run("-config", str(confdir / "mox.conf"), "config", "test")
    assert p.returncode == 1
    line = next(
        i for i, s in enumerate((confdir / "domains.conf").read_text().splitlines(), 1) if "BogusField" in s
    )
    assert f"{confdir / 'domains.conf'}:{line}: unknown field 'BogusField' in Accounts.mox" in p.stderr
    assert "Traceback" not in p.stderr + p.stdout


def test_config_test_missing_file(tmp_path: Path) -> None:
    p = run("-config", str(tmp_path / "nope" / "mox.conf"), "config", "test")
    assert p.returncode == 1
    assert "mox.conf: cannot read" in p.stderr
    assert "Traceback" not in p.stderr


def test_config_test_not_utf8(confdir: Path) -> None:
    (confdir / "mox.conf").write_bytes(b"DataDir: \xff\n")
    p = run("-config", str(confdir / "mox.conf"), "config", "test")
    assert p.returncode == 1 and "UTF-8" in p.stderr and "Traceback" not in p.stderr


def _describe(which: str) -> str:
    out = io.StringIO()
    ctx = Context(config_path=Path("config/mox.conf"), stdout=out, stderr=io.StringIO())
    from app.cli import cmd_config

    cmd = next(c for c in cmd_config.COMMANDS if c.words == ("config", which))
    assert cmd.run(ctx, []) == 0
    return out.getvalue()


def test_describe_static_parses_and_covers_every_field(interop: Path) -> None:
    text = _describe("describe-static")
    tree = sconf.parse(text, "describe-static")
    assert "Listeners" in tree.entries and "Postmaster" in tree.entries
    schema.parse_as(Static, text, "describe-static")  # maps onto the typed schema too
    # Every field mox documents appears in our template.
    ours = set(_keys(tree))
    theirs = set(_keys(sconf.parse((interop / "describe-static.conf").read_text())))
    assert theirs <= ours, theirs - ours
    assert "(optional)" in text and "\n# " in text


def test_describe_domains_parses_and_covers_every_field(interop: Path) -> None:
    text = _describe("describe-domains")
    tree = sconf.parse(text, "describe-domains")
    schema.parse_as(Dynamic, text, "describe-domains")
    ours = set(_keys(tree))
    theirs = set(_keys(sconf.parse((interop / "describe-domains.conf").read_text())))
    assert theirs <= ours, theirs - ours


def _keys(node: sconf.Node, prefix: str = "") -> list[str]:
    out = []
    if isinstance(node, sconf.Mapping):
        for k, v in node.entries.items():
            out.append(prefix + k)
            out.extend(_keys(v, prefix + k + "."))
    elif isinstance(node, sconf.Sequence):
        for v in node.items:
            out.extend(_keys(v, prefix + "-."))
    return out


def test_describe_via_main(capsys: object) -> None:
    p = run("config", "describe-domains")
    assert p.returncode == 0
    assert p.stdout.startswith("# ")
    assert "Accounts:" in p.stdout
    assert main(["config", "describe-static", "extra"]) == 2
