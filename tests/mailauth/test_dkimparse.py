"""The fast header/body split used for DKIM must equal dkimpy's ``rfc822_parse`` byte for byte
(and fail where it fails), since both the header and the body hashes depend on it."""

from __future__ import annotations

import dkim as dkimpy
from hypothesis import given, settings
from hypothesis import strategies as st

from app.mailauth import dkimparse

PIECES = [b"\r", b"\n", b"\r\n", b"a", b":", b" ", b"\t", b"From ", b"X-H: v", b"Subject: s", b"\x80",
          b"\n\n", b"\r\n\r\n", b"\r\r\n", b"-", b"\r\n "]  # fmt: skip


def _outcome(fn: object, m: bytes) -> object:
    try:
        return fn(m)  # type: ignore[operator]
    except Exception as e:
        return type(e)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=24))
def test_parse_equals_dkimpy(pieces: list[bytes]) -> None:
    m = b"".join(pieces)
    assert _outcome(dkimparse.parse, m) == _outcome(dkimpy.rfc822_parse, m)


def test_parse_typical() -> None:
    m = b"From: a@x\r\nSubject: hi\r\n there\r\n\r\nbody\r\nline\nlf\r\n"
    assert dkimparse.parse(m) == dkimpy.rfc822_parse(m)
    headers, body = dkimparse.parse(m)
    assert headers == [[b"From", b" a@x\r\n"], [b"Subject", b" hi\r\n there\r\n"]]
    assert body == b"body\r\nline\r\nlf\r\n"
