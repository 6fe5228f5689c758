"""Shared pytest setup: paths to the shared interop files and the tool-presence rule.

Under CI=true a test whose external tool is missing fails; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
INTEROP = SHARED / "interop"


def require_tool(name: str) -> str:
    """Return the path of an external program; fail under CI, skip otherwise, when missing."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        msg = f"required tool {name!r} is not installed (make system-deps installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def interop() -> Path:
    if not INTEROP.is_dir():
        pytest.fail(f"shared interop files not found at {INTEROP}")
    return INTEROP


pytest_plugins = ["tests.harness"]
