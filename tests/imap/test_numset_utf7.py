"""Sequence sets and modified UTF-7."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.imap import NumSet, NumSetError, format_numbers, utf7


def test_parse_format() -> None:
    for s in ("1", "1:*", "*", "2,4:7,9,12:*", "$", "7:3"):
        assert str(NumSet.parse(s)) == s


@pytest.mark.parametrize("s", ["", "0", "01", "1:", ":1", "1::2", "a", "1,,2", "4294967296", "1:2:3"])
def test_parse_errors(s: str) -> None:
    with pytest.raises(NumSetError):
        NumSet.parse(s)


def test_select_uids() -> None:
    uids = [3, 5, 9, 20]
    assert NumSet.parse("1:*").select(uids) == uids
    assert NumSet.parse("4:9,9,20:30").select(uids) == [5, 9, 20]
    assert NumSet.parse("*").select(uids) == [20]
    assert NumSet.parse("100:*").select(uids) == [20]  # n:* with n > largest includes the largest
    assert NumSet.parse("1:4294967295").select(uids) == uids
    assert NumSet.parse("1:*").select([]) == []


def test_seq_indexes() -> None:
    assert NumSet.parse("2:*").seq_indexes(4) == [2, 3, 4]
    assert NumSet.parse("*:2").seq_indexes(4) == [2, 3, 4]
    with pytest.raises(NumSetError):
        NumSet.parse("5").seq_indexes(4)
    assert NumSet.parse("1:*").seq_indexes(0) == []


def test_format_numbers_keeps_order() -> None:
    assert format_numbers([1, 2, 3, 7, 5, 6]) == "1:3,7,5:6"
    assert str(NumSet.from_numbers([5, 1, 2, 3])) == "1:3,5"


@pytest.mark.parametrize(
    ("plain", "enc"),
    [
        ("INBOX", "INBOX"),
        ("A&B", "A&-B"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("Ω", "&A6k-"),
        ("😀", "&2D3eAA-"),
    ],
)
def test_utf7_vectors(plain: str, enc: str) -> None:
    assert utf7.encode(plain) == enc
    assert utf7.decode(enc) == plain


@pytest.mark.parametrize("bad", ["&", "&Jjo", "&AGE-", "&Jjo-&Jjo-", "&Jj/-", "ü", "&A6kA-", "&2D0-"])
def test_utf7_invalid(bad: str) -> None:
    with pytest.raises(utf7.UTF7Error):
        utf7.decode(bad)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30))
def test_utf7_roundtrip(s: str) -> None:
    enc = utf7.encode(s)
    assert enc.isascii()
    assert utf7.decode(enc) == s
