"""CommandReader: commands, literals, continuation requests and limits, fed whole and byte by byte."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.imap import Command, CommandReader, ContinuationNeeded, Fatal, TooBig
from app.imap.reader import Event


def events(data: bytes, chunk: int = 0, **kw: int) -> list[Event]:
    r = CommandReader(**kw)
    out: list[Event] = []
    pieces = [data] if chunk == 0 else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        r.feed(piece)
        while (ev := r.next_event()) is not None:
            out.append(ev)
    return out


def test_simple_and_pipelined() -> None:
    data = b"a1 NOOP\r\na2 LOGIN user pass\r\n"
    for chunk in (0, 1, 3):
        assert events(data, chunk) == [
            Command(b"a1 NOOP", "a1", "NOOP"),
            Command(b"a2 LOGIN user pass", "a2", "LOGIN"),
        ]


def test_sync_literal_asks_for_continuation() -> None:
    data = b"a LOGIN {4}\r\nuser {4}\r\npass\r\n"
    for chunk in (0, 1):
        assert events(data, chunk) == [
            ContinuationNeeded(),
            ContinuationNeeded(),
            Command(b"a LOGIN {4}\r\nuser {4}\r\npass", "a", "LOGIN"),
        ]


def test_nonsync_and_binary_literals() -> None:
    data = b"a APPEND INBOX ~{3+}\r\n\x00\r\n\r\n"
    assert events(data, 1) == [Command(b"a APPEND INBOX ~{3}\r\n\x00\r\n", "a", "APPEND")]


def test_literal_containing_crlf_and_braces() -> None:
    data = b"t SEARCH SUBJECT {6+}\r\n{2}\r\nx FROM y\r\n"
    assert events(data, 1) == [Command(b"t SEARCH SUBJECT {6}\r\n{2}\r\nx FROM y", "t", "SEARCH")]


def test_uid_command_name() -> None:
    assert events(b"x uid fetch 1 UID\r\n") == [Command(b"x uid fetch 1 UID", "x", "UID FETCH")]


def test_too_big_sync_literal_is_refused_and_stream_continues() -> None:
    data = b"a SEARCH TEXT {2000000}\r\nb NOOP\r\n"
    assert events(data) == [TooBig("a", "literals in command too large"), Command(b"b NOOP", "b", "NOOP")]


def test_append_exempt_from_command_literal_limit() -> None:
    size = (1 << 20) + 10
    data = b"a APPEND INBOX {%d+}\r\n" % size + b"x" * size + b"\r\n"
    evs = events(data)
    assert len(evs) == 1 and isinstance(evs[0], Command) and evs[0].name == "APPEND"


def test_append_message_limit() -> None:
    assert events(b"a APPEND INBOX {11}\r\n", max_message=10) == [TooBig("a", "message too large")]


def test_too_big_nonsync_literal_is_fatal() -> None:
    evs = events(b"a SEARCH TEXT {2000000+}\r\nxx")
    assert evs == [Fatal("literals in command too large")]


def test_too_many_literals() -> None:
    data = b"a SEARCH" + b" TEXT {1+}\r\nx" * 1001 + b"\r\n"
    assert events(data) == [Fatal("too many literals in command")]


def test_line_too_long() -> None:
    assert events(b"a NOOP " + b"x" * 100, max_line=50) == [Fatal("line too long")]
    assert events(b"a NOOP " + b"x" * 100 + b"\r\n", chunk=7, max_line=50) == [Fatal("line too long")]


def test_next_line_for_idle_done() -> None:
    r = CommandReader()
    r.feed(b"DO")
    assert r.next_line() is None
    r.feed(b"NE\r\nb NOOP\r\n")
    assert r.next_line() == b"DONE"
    assert r.next_event() == Command(b"b NOOP", "b", "NOOP")
    assert r.pending() == 0


_token = st.sampled_from([b"abc", b'"q u"', b"(1 2)", b"{3+}\r\nxyz", b"{0}\r\n", b"~{1}\r\n\x00", b"*"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_token, min_size=1, max_size=5), min_size=1, max_size=4), st.integers(1, 9))
def test_chunking_never_changes_result(cmds: list[list[bytes]], chunk: int) -> None:
    data = b"".join(b"t%d CMD " % i + b" ".join(toks) + b"\r\n" for i, toks in enumerate(cmds))
    whole = events(data)
    assert events(data, chunk) == whole
    assert [e.tag for e in whole if isinstance(e, Command)] == [f"t{i}" for i in range(len(cmds))]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    events(data, 5, max_line=100)


def test_unauthenticated_literal_cap() -> None:
    r = CommandReader(authenticated=False)
    r.feed(b"a LOGIN {70000}\r\n")
    assert r.next_event() == TooBig("a", "literals too large before authentication")
    r.feed(b"b LOGIN {3}\r\nmjl {4+}\r\npass\r\n")
    assert r.next_event() == ContinuationNeeded()
    assert r.next_event() == Command(b"b LOGIN {3}\r\nmjl {4}\r\npass", "b", "LOGIN")
    r.authenticated = True
    r.feed(b"c APPEND INBOX {70000}\r\n")
    assert r.next_event() == ContinuationNeeded()
