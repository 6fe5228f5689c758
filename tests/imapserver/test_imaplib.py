"""The server driven by Python's imaplib: login, SELECT, APPEND, FETCH, SEARCH, STORE, COPY,
MOVE, EXPUNGE, IDLE with a change made by another session."""

from __future__ import annotations

import imaplib
import threading
import time

from tests.imapserver.server import PASSWORD, IMAPTestServer

MSG = (
    b"From: Fred <fred@example.org>\r\nTo: mjl@mox.example\r\nSubject: hello there\r\n"
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-Id: <1@example.org>\r\n\r\nHello Joe, meet at 3:30?\r\n"
)


def client(imap: IMAPTestServer) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", imap.port, timeout=10)
    c.login("mjl", PASSWORD)
    return c


def test_login_append_fetch_search_store(imap: IMAPTestServer) -> None:
    c = client(imap)
    typ, data = c.append("INBOX", r"(\Seen)", None, MSG)
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = c.fetch("1", "(UID FLAGS RFC822.SIZE ENVELOPE)")
    assert typ == "OK"
    text = data[0] if isinstance(data[0], bytes) else data[0][0]
    assert (
        b"FLAGS (\\Recent \\Seen)" in text
        and b"RFC822.SIZE %d" % len(MSG) in text
        and b'"hello there"' in text
    )
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: hello there\r\n\r\n"
    typ, data = c.fetch("1", "(BODY[])")
    assert data[0][1] == MSG
    assert c.search(None, "SUBJECT", "hello")[1] == [b"1"]
    assert c.search(None, "BODY", "meet")[1] == [b"1"]
    assert c.search(None, "UNSEEN")[1] == [b""]
    typ, data = c.store("1", "+FLAGS", r"(\Flagged $Label1)")
    assert typ == "OK" and b"\\Flagged" in data[0] and b"$label1" in data[0].lower()
    assert c.search(None, "FLAGGED")[1] == [b"1"]
    c.logout()


def test_bad_login(imap: IMAPTestServer) -> None:
    c = imaplib.IMAP4("127.0.0.1", imap.port, timeout=10)
    try:
        c.login("mjl", "wrong")
        raise AssertionError("login should fail")
    except imaplib.IMAP4.error as e:
        assert "AUTHENTICATIONFAILED" in str(e)


def test_copy_move_expunge(imap: IMAPTestServer) -> None:
    c = client(imap)
    for _ in range(3):
        c.append("INBOX", None, None, MSG)
    assert c.create("Other")[0] == "OK"
    c.select("INBOX")
    typ, data = c.copy("1:2", "Other")
    assert typ == "OK" and b"COPYUID" in data[0]
    typ, data = c._simple_command("MOVE", "3", "Other")  # type: ignore[attr-defined]
    assert typ == "OK"
    assert c.select("Other")[1] == [b"3"]
    c.store("1", "+FLAGS", r"\Deleted")
    typ, data = c.expunge()
    assert typ == "OK" and data == [b"1"]
    assert c.select("INBOX")[1] == [b"2"]
    c.logout()


def test_idle_sees_delivery_from_other_session(imap: IMAPTestServer) -> None:
    c = client(imap)
    c.select("INBOX")
    got: list[bytes] = []

    def other() -> None:
        time.sleep(0.3)
        imap.account("mjl").deliver("Inbox", MSG)

    t = threading.Thread(target=other)
    t.start()
    tag = c._new_tag()  # type: ignore[attr-defined]
    c.send(tag + b" IDLE\r\n")
    assert c.readline().startswith(b"+")
    deadline = time.time() + 5
    while time.time() < deadline:
        line = c.readline()
        got.append(line)
        if b"EXISTS" in line:
            break
    c.send(b"DONE\r\n")
    while (line := c.readline()).startswith(b"* "):
        got.append(line)
    assert line.startswith(tag + b" OK")
    t.join()
    assert b"* 1 EXISTS\r\n" in got and b"* 1 RECENT\r\n" in got
    c.logout()
