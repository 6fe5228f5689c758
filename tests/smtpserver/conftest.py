from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smtpserver.server import Server, start


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    s = start(tmp_path / "mox")
    try:
        yield s
    finally:
        s.stop()
