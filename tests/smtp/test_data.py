"""DATA reader: dot-unstuffing, smuggling sequences, size limit, byte-at-a-time feeding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.smtp.data import ERR_SMUGGLING, ERR_TOO_LARGE, DataReader, dot_stuff, normalize_chunked


def read_all(
    stream: bytes, step: int | None = None, max_size: int | None = None
) -> tuple[bytes, str | None, int]:
    """Feed a stream (whole or ``step`` bytes at a time); return message, error, bytes consumed."""
    dr = DataReader(max_size)
    out: list[bytes] = []
    pending = b""
    consumed = 0
    pos = 0
    step = step or len(stream) or 1
    while not dr.done and pos < len(stream):
        pending += stream[pos : pos + step]
        pos += step
        res = dr.process(pending)
        out.extend(res.chunks)
        pending = pending[res.consumed :]
        consumed += res.consumed
    return b"".join(out), dr.error if dr.done else "notdone", consumed


VECTORS = [
    (b"hello\r\n.\r\n", b"hello\r\n", None),
    (b".\r\n", b"", None),
    (b"..dot\r\n.\r\n", b".dot\r\n", None),
    (b"a\r\n..\r\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n", None),
    (b"bare\nlf\r\n.\r\n", b"bare\r\nlf\r\n", None),
    # Smuggling sequences: all errors, and none of them ends the DATA.
    (b"a\r\n.\nMAIL FROM:<x@x>\r\n.\r\n", None, ERR_SMUGGLING),
    (b"a\n.\nMAIL FROM:<x@x>\r\n.\r\n", None, ERR_SMUGGLING),
    (b"a\n.\r\nMAIL FROM:<x@x>\r\n.\r\n", None, ERR_SMUGGLING),
    (b"a\rb\r\n.\r\n", None, ERR_SMUGGLING),
    (b"a\r\r\n.\r\n", None, ERR_SMUGGLING),
    (b".\rx\r\n.\r\n", None, ERR_SMUGGLING),
    (b".\n.\r\n.\r\n", None, ERR_SMUGGLING),
]


@pytest.mark.parametrize(("stream", "want", "err"), VECTORS)
@pytest.mark.parametrize("step", [None, 1, 2, 3, 7])
def test_vectors(stream: bytes, want: bytes | None, err: str | None, step: int | None) -> None:
    got, gerr, consumed = read_all(stream, step)
    assert gerr == err
    assert consumed == len(stream)  # always reads up to the real CRLF.CRLF, never further
    if want is not None:
        assert got == want


def test_trailing_data_not_consumed() -> None:
    stream = b"x\r\n.\r\nQUIT\r\n"
    _, err, consumed = read_all(stream)
    assert err is None
    assert stream[consumed:] == b"QUIT\r\n"


def test_too_large_is_not_buffered() -> None:
    body = b"0123456789" * 1000 + b"\r\n"
    dr = DataReader(max_size=5000)
    kept = 0
    for _ in range(20):
        res = dr.process(body)
        kept += sum(len(c) for c in res.chunks)
    res = dr.process(b".\r\n")
    assert res.done and dr.error == ERR_TOO_LARGE
    assert kept <= 5000 + len(body)
    assert dr.size == 20 * len(body)


def test_dot_stuff_roundtrip_and_refusal() -> None:
    msg = b".start\r\nmid\r\n.\r\n..x\r\nend\r\n"
    got, err, _ = read_all(dot_stuff(msg), 1)
    assert err is None and got == msg
    with pytest.raises(ValueError):
        dot_stuff(b"bare\nlf\r\n")
    with pytest.raises(ValueError):
        dot_stuff(b"bare\rcr\r\n")


def test_normalize_chunked() -> None:
    assert normalize_chunked(b"a\r\nb\r\n") == b"a\r\nb\r\n"
    assert normalize_chunked(b"a\nb\r\n") == b"a\r\nb\r\n"
    assert normalize_chunked(b"a\rb\r\n") is None


lines = st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")), max_size=12)


@settings(max_examples=150, deadline=None)
@given(lines, st.integers(min_value=1, max_value=9))
def test_roundtrip_property(ls: list[bytes], step: int) -> None:
    msg = b"".join(line + b"\r\n" for line in ls)
    got, err, consumed = read_all(dot_stuff(msg), step)
    assert err is None and got == msg and consumed == len(dot_stuff(msg))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"\r", b"\n", b".", b"a", b"\r\n", b"\r\n.\r\n", b".\n"]), max_size=25),
    st.integers(1, 5),
)
def test_end_is_first_crlf_dot_crlf(parts: list[bytes], step: int) -> None:
    """The only end is the first CRLF.CRLF (the DATA command's CRLF counts); chunking changes nothing."""
    stream = b"".join(parts)
    whole = read_all(stream)
    chunked = read_all(stream, step)
    assert whole[1:] == chunked[1:]
    if whole[1] is None:
        assert whole[0] == chunked[0]
    idx = (b"\r\n" + stream).find(b"\r\n.\r\n")
    if idx < 0:
        assert whole[1] == "notdone"
    else:
        assert whole[1] != "notdone"
        assert whole[2] == idx + 3
