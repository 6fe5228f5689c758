from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.smtpserver.server import Server, start

# Imported here, before any server thread runs: CPython 3.11 can fail compiling a module that
# is first imported at session end while worker threads exist (pytest's summary imports it).
settings.register_profile("smtpserver", deadline=None, max_examples=50)


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    s = start(tmp_path / "mox")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The server's log lines (info and up) during the test."""
    from app import mlog

    old = mlog._state
    buf = io.StringIO()
    mlog.configure("info", out=buf)
    try:
        yield buf
    finally:
        mlog._state = old


@pytest.fixture
def mx(tmp_path: Path) -> Iterator[Server]:
    """A server in normal (not localserve) mode with the localserve configuration."""
    s = start(tmp_path / "mx", localserve=False)
    try:
        yield s
    finally:
        s.stop()
