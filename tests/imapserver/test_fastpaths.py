"""The throughput shortcuts answer exactly as the general paths: FETCH 1:* (UID FLAGS) from
flag groups (RFC 9051 section 6.4.5), SELECT with cached UIDs after other sessions add and
expunge (section 6.3.2), and a STORE that changes nothing (section 6.4.6, RFC 7162 modseq)."""

from __future__ import annotations

from app.store import AppendItem
from tests.imapserver.server import PASSWORD, IMAPTestServer
from tests.imapserver.wire import Wire

MSG = b"From: a@example.org\r\nSubject: fast\r\n\r\nhello\r\n"


def connect(imap: IMAPTestServer) -> Wire:
    w = Wire(imap.connect())
    w.line()
    w.cmd(b"l", b"LOGIN mjl " + PASSWORD.encode())
    return w


def test_fetch_flags_grouped_matches_batches(imap: IMAPTestServer) -> None:
    flags = [(), ("\\Seen",), ("\\Seen", "\\Flagged"), ("$Label", "\\Answered"), ("zz", "$Junk")]
    imap.account("mjl").append("Inbox", [AppendItem(MSG, flags[i % 5]) for i in range(450)])
    w = connect(imap)
    w.cmd(b"e", b"ENABLE IMAP4rev2")
    w.cmd(b"s", b"SELECT INBOX")
    whole = w.cmd(b"a", b"FETCH 1:* (UID FLAGS)")[:-1]
    parts: list[bytes] = []
    for lo in range(1, 451, 150):
        parts += w.cmd(b"b", b"FETCH %d:%d (UID FLAGS)" % (lo, lo + 149))[:-1]
    assert len(whole) == 450 and whole == parts
    assert whole[3] == b"* 4 FETCH (UID 4 FLAGS (\\Answered $label))"  # keywords are stored lower case
    mixed = w.cmd(b"c", b"FETCH 1,3:400,450 (FLAGS)")[:-1]
    assert mixed == [whole[0], *whole[2:400], whole[449]]


def test_select_cache_follows_changes(imap: IMAPTestServer) -> None:
    acc = imap.account("mjl")
    acc.append("Inbox", [AppendItem(MSG) for _ in range(5)])
    w = connect(imap)
    assert b"* 5 EXISTS" in w.cmd(b"a", b"SELECT INBOX")
    w.cmd(b"b", b"STORE 2 +FLAGS (\\Deleted)")
    w.cmd(b"c", b"EXPUNGE")
    acc.append("Inbox", [AppendItem(MSG)])
    other = connect(imap)
    assert b"* 5 EXISTS" in other.cmd(b"a", b"SELECT INBOX")
    uids = other.cmd(b"b", b"FETCH 1:* (UID)")[:-1]
    assert [u.split(b"UID ")[1] for u in uids] == [b"1)", b"3)", b"4)", b"5)", b"6)"]
    w.cmd(b"d", b"STORE 1 +FLAGS (\\Deleted)")
    w.cmd(b"e", b"EXPUNGE")
    acc.append("Inbox", [AppendItem(MSG)])  # same count as before, higher UIDNEXT
    assert b"* 5 EXISTS" in other.cmd(b"c", b"SELECT INBOX")
    uids = other.cmd(b"d", b"FETCH 1:* (UID)")[:-1]
    assert [u.split(b"UID ")[1] for u in uids] == [b"3)", b"4)", b"5)", b"6)", b"7)"]


def test_store_without_change_keeps_modseq(imap: IMAPTestServer) -> None:
    imap.account("mjl").append("Inbox", [AppendItem(MSG, ("\\Seen",)) for _ in range(3)])
    w = connect(imap)
    w.cmd(b"e", b"ENABLE CONDSTORE")
    w.cmd(b"s", b"SELECT INBOX")
    first = w.cmd(b"a", b"STORE 1:2 +FLAGS (\\Flagged)")
    again = w.cmd(b"b", b"STORE 1:2 +FLAGS (\\Flagged \\Seen)")
    assert first[:2] == again[:2] and b"\\Flagged" in first[0] and b"MODSEQ" in first[0]
    removed = w.cmd(b"c", b"STORE 3 -FLAGS (\\Flagged)")
    assert removed[0].startswith(b"* 3 FETCH (UID 3 FLAGS (\\Recent \\Seen) MODSEQ (")
    bad = w.cmd(b"d", b"STORE 1 +FLAGS (\\Bogus)")
    assert bad[-1].startswith(b"d BAD")
    silent = w.cmd(b"f", b"STORE 1 +FLAGS.SILENT (\\Flagged)")
    assert silent[-1].startswith(b"f OK") and len(silent) == 1
