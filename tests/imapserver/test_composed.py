"""The IMAP server inside the composed program (the lead's harness, localserve config):
login with the localserve account, SMTP submission delivered and seen over IMAP IDLE."""

from __future__ import annotations

import imaplib
import smtplib
import threading
import time
from typing import Any

ACCOUNT = "mox@localhost"
PASSWORD = "moxmoxmox"


def test_imap_in_composed_server(mox: Any) -> None:
    c = imaplib.IMAP4("127.0.0.1", mox.ports["IMAP"], timeout=15)
    assert b"IMAP4rev2" in c.capability()[1][0]
    c.login(ACCOUNT, PASSWORD)
    typ, _data = c.append("INBOX", None, None, b"Subject: composed\r\n\r\nhello\r\n")
    assert typ == "OK"
    assert c.select("INBOX")[0] == "OK"
    tag = c._new_tag()  # type: ignore[attr-defined]
    c.send(tag + b" IDLE\r\n")
    assert c.readline().startswith(b"+")

    def submit() -> None:
        time.sleep(0.3)
        s = smtplib.SMTP("127.0.0.1", mox.ports["Submission"], timeout=15)
        s.login(ACCOUNT, PASSWORD)
        s.sendmail(
            ACCOUNT, [ACCOUNT], b"From: mox@localhost\r\nTo: mox@localhost\r\nSubject: via smtp\r\n\r\nhi\r\n"
        )
        s.quit()

    t = threading.Thread(target=submit)
    t.start()
    deadline = time.time() + 10
    got = b""
    while time.time() < deadline and b"EXISTS" not in got:
        got = c.readline()
    t.join()
    c.send(b"DONE\r\n")
    while not (line := c.readline()).startswith(tag):
        pass
    assert b"EXISTS" in got and line.startswith(tag + b" OK")
    c.logout()
    # The login attempts were recorded in auth.db, a failed one too.
    bad = imaplib.IMAP4("127.0.0.1", mox.ports["IMAP"], timeout=15)
    try:
        bad.login(ACCOUNT, "wrong password")
    except imaplib.IMAP4.error:
        pass
    from app.store.authdb import open_authdb

    db = open_authdb(mox.data_dir)
    attempts = [a.attempt for a in db.login_attempts(limit=50) if a.attempt.protocol == "imap"]
    db.close()
    results = {a.result for a in attempts}
    assert "ok" in results and "badcreds" in results
