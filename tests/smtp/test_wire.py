"""ServerWire: command lines, over-long lines, DATA and BDAT modes, byte-at-a-time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.smtp.wire import NEED_DATA, ChunkEnd, DataChunk, DataEnd, Line, LineTooLong, ServerWire


def events(w: ServerWire) -> list[object]:
    out = []
    while True:
        ev = w.next_event()
        if ev is NEED_DATA:
            return out
        out.append(ev)


def collect(stream: bytes, step: int, w: ServerWire, on_line=None) -> list[object]:  # type: ignore[no-untyped-def]
    out: list[object] = []
    for i in range(0, len(stream), step):
        w.receive(stream[i : i + step])
        while (ev := w.next_event()) is not NEED_DATA:
            out.append(ev)
            if on_line is not None:
                on_line(w, ev)
    return out


def test_lines_any_chunking() -> None:
    for step in (1, 2, 5, 100):
        w = ServerWire()
        evs = collect(b"EHLO x\r\nNOOP\nQUIT\r\n", step, w)
        assert evs == [Line(b"EHLO x", True), Line(b"NOOP", False), Line(b"QUIT", True)]


def test_line_too_long_then_in_sync() -> None:
    for step in (1, 300, 5000):
        w = ServerWire(max_line=100)
        evs = collect(b"A" * 250 + b"\r\nNOOP\r\n", step, w)
        assert evs == [LineTooLong(), Line(b"NOOP", True)]


def test_data_mode_then_commands() -> None:
    def switch(w: ServerWire, ev: object) -> None:
        if ev == Line(b"DATA", True):
            w.start_data(None)

    for step in (1, 3, 1000):
        w = ServerWire()
        evs = collect(b"DATA\r\nhi\r\n..x\r\n.\r\nQUIT\r\n", step, w, switch)
        data = b"".join(e.data for e in evs if isinstance(e, DataChunk))
        assert data == b"hi\r\n.x\r\n"
        assert DataEnd(None, 8) in evs
        assert evs[-1] == Line(b"QUIT", True)


def test_bdat_mode() -> None:
    def switch(w: ServerWire, ev: object) -> None:
        if isinstance(ev, Line) and ev.text.startswith(b"BDAT"):
            w.start_bdat(int(ev.text.split()[1]))

    for step in (1, 4, 1000):
        w = ServerWire()
        evs = collect(b"BDAT 5\r\nab\r\n.BDAT 0 LAST\r\nQUIT\r\n", step, w, switch)
        data = b"".join(e.data for e in evs if isinstance(e, DataChunk))
        assert data == b"ab\r\n."
        assert evs.count(ChunkEnd(5)) == 1 and ChunkEnd(0) in evs
        assert evs[-1] == Line(b"QUIT", True)


def _run(stream: bytes, cuts: list[int]) -> list[object]:
    """Feed stream split at cuts; switch to DATA after a DATA line and BDAT after a BDAT line."""

    def switch(w: ServerWire, ev: object) -> None:
        if isinstance(ev, Line):
            if ev.text == b"DATA":
                w.start_data(50)
            elif ev.text.startswith(b"BDAT ") and ev.text[5:].isdigit():
                w.start_bdat(int(ev.text[5:]))

    w = ServerWire(max_line=40)
    out: list[object] = []
    pieces, prev = [], 0
    for c in [*sorted(set(cuts)), len(stream)]:
        pieces.append(stream[prev:c])
        prev = c
    for p in pieces:
        w.receive(p)
        while (ev := w.next_event()) is not NEED_DATA:
            out.append(ev)
            switch(w, ev)
    # Coalesce data chunks: chunk boundaries may differ, content may not. The bytes of a
    # payload that ends in an error are discarded by the server, so they are not compared.
    merged: list[object] = []
    for ev in out:
        if isinstance(ev, DataChunk) and merged and isinstance(merged[-1], DataChunk):
            merged[-1] = DataChunk(merged[-1].data + ev.data)
        elif isinstance(ev, DataEnd) and ev.error and merged and isinstance(merged[-1], DataChunk):
            merged[-1] = ev
        else:
            merged.append(ev)
    if merged and isinstance(merged[-1], DataChunk):
        merged.pop()  # an unfinished payload: how much was passed on depends on the chunking
    return merged


atoms = st.sampled_from(
    [
        b"DATA\r\n",
        b"NOOP\r\n",
        b"BDAT 3\r\n",
        b".\r\n",
        b"\r\n.\r\n",
        b"x" * 45,
        b"\n",
        b"\r",
        b"a",
        b".",
        b"\r\n",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(atoms, max_size=20), st.lists(st.integers(0, 200), max_size=10))
def test_chunking_never_changes_events(parts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(parts)
    assert _run(stream, [c for c in cuts if c < len(stream)]) == _run(stream, [])
