"""Fixtures: a copy of mox's own localserve config directory in a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import INTEROP


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    """A writable copy of ../shared/interop/mox-localserve (mox.conf, domains.conf, keys)."""
    src = INTEROP / "mox-localserve"
    if not src.is_dir():
        pytest.fail(f"interop files missing at {src}")
    d = tmp_path / "config"
    shutil.copytree(src, d)
    return d


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace one occurrence of old in a config file (the test fails if it is absent)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))
