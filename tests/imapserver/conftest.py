from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.imapserver.server import IMAPTestServer, start


@pytest.fixture
def imap(tmp_path: Path) -> Iterator[IMAPTestServer]:
    yield from start(tmp_path)
