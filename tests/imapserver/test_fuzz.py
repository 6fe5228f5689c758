"""Random and malformed commands never crash the server or leak errors: every command gets a
tagged answer (or a BYE), and the server keeps serving other connections."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.imapserver.server import PASSWORD, IMAPTestServer
from tests.imapserver.wire import Wire

WORDS = [b"FETCH", b"UID", b"STORE", b"SEARCH", b"SELECT", b"LIST", b"APPEND", b"(", b")", b"1:*", b"*", b"$",
         b"BODY[", b"]", b"<0.5>", b'"x"', b"{3+}\r\nabc", b"NIL", b"\\Seen", b"INBOX", b"RETURN", b"ALL", b"0",
         b"4294967296", b"~{1+}\r\n\x00", b"CHANGEDSINCE", b"MODSEQ", b"HEADER.FIELDS", b"\xff\xfe", b"&Jjo-"]  # fmt: skip


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), st.integers(0, 2**32))
def test_random_commands_get_answers(imap: IMAPTestServer, words: list[bytes], seed: int) -> None:
    rnd = random.Random(seed)
    w = Wire(imap.connect())
    w.line()
    w.cmd(b"l", b"LOGIN mjl " + PASSWORD.encode())
    w.cmd(b"s", b"SELECT INBOX") if rnd.random() < 0.7 else None
    w.send(b"t " + b" ".join(words) + b"\r\n")
    while True:
        line = w.line()
        if line.startswith((b"t ", b"* BYE")):
            break
    assert b"Traceback" not in line and b"SERVERBUG" not in line
    if line.startswith(b"t "):
        assert line.split()[1] in (b"OK", b"NO", b"BAD")
        assert w.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    w.sock.close()
