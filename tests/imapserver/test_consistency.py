"""Two sessions on one mailbox doing random appends, flag changes, expunges and moves, each
tracking sequence numbers only from the untagged responses it receives (EXISTS, EXPUNGE): at
every step a session's idea of the mailbox equals what FETCH 1:* (UID) says (RFC 9051
section 2.3.1.2, 7.5.1)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.imapserver.server import PASSWORD, IMAPTestServer
from tests.imapserver.wire import Wire

MSG = b"Subject: c\r\n\r\nx\r\n"
OPS = ["append", "delete", "expunge", "noop", "move", "uidexpunge"]


class Client:
    def __init__(self, imap: IMAPTestServer, name: str) -> None:
        self.w = Wire(imap.connect())
        self.w.line()
        self.n = 0
        self.name = name
        self.cmd(b"LOGIN mjl " + PASSWORD.encode())
        self.seqs: list[int | None] = []  # what the client knows: seq -> uid (None: unknown)
        self.cmd(b"SELECT INBOX")

    def cmd(self, text: bytes) -> list[bytes]:
        self.n += 1
        tag = f"{self.name}{self.n}".encode()
        lines = self.w.cmd(tag, text)
        for line in lines[:-1]:
            m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE)$", line)
            if m and m.group(2) == b"EXISTS":
                n = int(m.group(1))
                assert n >= len(self.seqs), (line, self.seqs)
                self.seqs.extend([None] * (n - len(self.seqs)))
            elif m:
                del self.seqs[int(m.group(1)) - 1]
            m = re.match(rb"\* (\d+) FETCH \(UID (\d+)", line)
            if m:
                seq, uid = int(m.group(1)), int(m.group(2))
                assert seq <= len(self.seqs), (line, self.seqs)
                assert self.seqs[seq - 1] in (None, uid), (line, self.seqs)
                self.seqs[seq - 1] = uid
        assert lines[-1].startswith(tag + b" OK"), lines[-1]
        return lines

    def check(self) -> None:
        # NOOP first: expunges by the other session are reported there, never during FETCH.
        self.cmd(b"NOOP")
        lines = self.cmd(b"FETCH 1:* (UID)") if self.seqs else self.cmd(b"NOOP")
        fetched = [int(m.group(1)) for x in lines if (m := re.match(rb"\* \d+ FETCH \(UID (\d+)\)", x))]
        if self.seqs:
            assert fetched == self.seqs, lines


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.sampled_from(OPS), st.booleans(), st.integers(1, 50)), min_size=1, max_size=25))
def test_two_sessions_agree(imap: IMAPTestServer, steps: list[tuple[str, bool, int]]) -> None:
    acc = imap.account("mjl")
    if not acc.mailbox("Inbox").counts.total:
        acc.deliver("Inbox", MSG)
    a, b = Client(imap, "a"), Client(imap, "b")
    for op, first, k in steps:
        c = a if first else b
        known = [u for u in c.seqs if u is not None]
        if op == "append":
            c.cmd(b"APPEND INBOX {%d+}\r\n" % len(MSG) + MSG)
        elif op == "delete" and c.seqs:
            c.cmd(b"STORE %d +FLAGS (\\Deleted)" % (1 + k % len(c.seqs)))
        elif op == "expunge":
            c.cmd(b"EXPUNGE")
        elif op == "uidexpunge" and known:
            c.cmd(b"UID EXPUNGE %d" % known[k % len(known)])
        elif op == "move" and c.seqs:
            c.cmd(b"MOVE %d Archive" % (1 + k % len(c.seqs)))
        else:
            c.cmd(b"NOOP")
        a.check()
        b.check()
    a.w.sock.close()
    b.w.sock.close()
