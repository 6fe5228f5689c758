"""Fixtures of the store tests: a Store in a temporary data directory whose open accounts are
checked with verify() after every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Account, Store


def make_msg(subject: str = "hello", body: str = "some body text", msgid: str = "", extra: str = "") -> bytes:
    """A small RFC 5322 message."""
    hdr = f"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: {subject}\r\n"
    if msgid:
        hdr += f"Message-ID: <{msgid}>\r\n"
    hdr += extra
    return (hdr + "\r\n" + body + "\r\n").encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store(tmp_path / "data")
    try:
        yield st
        for acc in st.opened():
            problems = acc.verify()
            assert problems == [], f"verify() of account {acc.name}: {problems}"
    finally:
        st.close()


@pytest.fixture
def acc(store: Store) -> Account:
    return store.account("mjl", create=True)
