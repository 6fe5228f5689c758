"""Strict SMTP reply parsing: tables of valid and invalid replies, fed whole and byte by byte."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.smtpclient.reply import Reply, SMTPClientError, read_reply


async def _parse(data: bytes, chunk: int = 0) -> Reply:
    reader = asyncio.StreamReader()
    if chunk:
        for i in range(0, len(data), chunk):
            reader.feed_data(data[i : i + chunk])
    else:
        reader.feed_data(data)
    reader.feed_eof()
    return await read_reply(reader, 1)


def parse(data: bytes, chunk: int = 0) -> Reply:
    return asyncio.run(_parse(data, chunk))


GOOD = [
    (b"250 ok\r\n", 250, ("ok",), ""),
    (b"250\r\n", 250, ("",), ""),
    (b"250-a\r\n250-b\r\n250 c\r\n", 250, ("a", "b", "c"), ""),
    (b"550 5.1.1 no such user\r\n", 550, ("no such user",), "5.1.1"),
    (b"451 4.7.0 later\r\n", 451, ("later",), "4.7.0"),
    # Class of the enhanced code must match the reply code, else it is just text.
    (b"250 5.1.1 odd\r\n", 250, ("5.1.1 odd",), ""),
    (b"220 h\xc3\xa9llo\r\n", 220, ("h\u00e9llo",), ""),
]

BAD = [
    b"250 ok\n",  # bare LF
    b"250 o\rk\r\n",  # bare CR
    b"250-a\r\n251 b\r\n",  # different codes
    b"600 no\r\n",
    b"160 no\r\n",
    b"260 no\r\n",  # second digit > 5
    b"25 ok\r\n",
    b"250x ok\r\n",
    b"abc ok\r\n",
    b"250-a\r\n",  # connection closed mid-reply
    b"",
    b"250 " + b"x" * 5000 + b"\r\n",
]


@pytest.mark.parametrize("data,code,lines,secode", GOOD)
def test_good_replies(data: bytes, code: int, lines: tuple[str, ...], secode: str) -> None:
    for chunk in (0, 1):
        r = parse(data, chunk)
        assert (r.code, r.lines, r.secode) == (code, lines, secode)


@pytest.mark.parametrize("data", BAD)
def test_bad_replies(data: bytes) -> None:
    for chunk in (0, 1):
        with pytest.raises(SMTPClientError):
            parse(data, chunk)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_never_crashes(data: bytes) -> None:
    try:
        r = parse(data)
    except SMTPClientError:
        return
    assert 200 <= r.code <= 559


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=300)
    | st.lists(st.sampled_from([b".", b"\r", b"\n", b"\r\n", b"a", b".."]), max_size=40).map(b"".join)
)
def test_data_encoding_roundtrip(data: bytes) -> None:
    import re

    from app.smtpclient.client import dot_stuff, normalize_crlf

    norm = normalize_crlf(data)
    wire = dot_stuff(norm)
    # Never a bare CR or LF on the wire, and the terminator only at the end.
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", wire) is None
    assert wire.endswith(b".\r\n")
    body = wire[:-3]
    assert b"\r\n.\r\n" not in b"\r\n" + body
    # A receiver removing one leading dot per line gets the normalized data back.
    lines = body.split(b"\r\n")[:-1] if body else []
    unstuffed = b"".join((ln[1:] if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)
    assert unstuffed == norm
    # Normalizing keeps every line's content.
    assert norm.replace(b"\r\n", b"") == re.sub(rb"\r\n|\r|\n", b"", data)
