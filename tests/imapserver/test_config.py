"""Per-account settings from domains.conf: AutomaticJunkFlags on MOVE/COPY and
IMAPCapabilitiesDisabled; IMAP4rev2 answering SEARCH with ESEARCH."""

from __future__ import annotations

from pathlib import Path

from app import config, localserve
from app.config.accounts import AutomaticJunkFlagsConfig
from app.imapserver import junkflags
from tests.imapserver.server import PASSWORD, IMAPTestServer, start
from tests.imapserver.wire import Wire

MSG = b"From: a@example.org\r\nSubject: junk?\r\n\r\nbuy now\r\n"


def test_desired_flags() -> None:
    s = AutomaticJunkFlagsConfig(
        Enabled=True, JunkMailboxRegexp="^(junk|spam)", NeutralMailboxRegexp="^(inbox|rejects)"
    )
    assert junkflags.desired(s, "Junk") == (["$Junk"], ["$NotJunk"])
    assert junkflags.desired(s, "INBOX") is None
    assert junkflags.desired(s, "Archive") == (["$NotJunk"], ["$Junk"])
    s.NotJunkMailboxRegexp = "^archive$"
    assert junkflags.desired(s, "Sent") is None
    assert junkflags.desired(AutomaticJunkFlagsConfig(Enabled=False), "Junk") is None


def _configured(tmp_path: Path) -> config.Config:
    localserve.ensure_config(tmp_path)
    dom = tmp_path / "domains.conf"
    dom.write_text(
        dom.read_text()
        + "\t\tAutomaticJunkFlags:\n\t\t\tEnabled: true\n\t\t\tJunkMailboxRegexp: ^(junk|spam)\n"
        + "\t\t\tNeutralMailboxRegexp: ^(inbox|rejects)\n\t\tIMAPCapabilitiesDisabled:\n\t\t\t- QUOTA\n"
    )
    return config.load(tmp_path / "mox.conf")


def _login(imap: IMAPTestServer, user: str) -> Wire:
    w = Wire(imap.connect())
    w.line()
    assert w.cmd(b"l", b"LOGIN " + user.encode() + b" " + PASSWORD.encode())[-1].startswith(b"l OK")
    return w


def test_junk_flags_and_disabled_capabilities(tmp_path: Path) -> None:
    cfg = _configured(tmp_path / "cfg")
    for imap in start(tmp_path / "data", config=cfg):
        imap.add_user("mox")
        acc = imap.account("mox")
        acc.deliver("Inbox", MSG)
        acc.deliver("Inbox", MSG)
        w = _login(imap, "mox")
        caps = w.cmd(b"a", b"CAPABILITY")[0]
        assert b" QUOTA " not in caps and b"QUOTA=RES-STORAGE" not in caps and b"IMAP4rev2" in caps
        w.cmd(b"b", b"SELECT INBOX")
        assert w.cmd(b"c", b"MOVE 1 Junk")[-1].startswith(b"c OK")
        assert w.cmd(b"d", b"COPY 1 Archive")[-1].startswith(b"d OK")
        junk = acc.uids_flags("Junk")
        assert "$Junk" in junk[0][2] and "$NotJunk" not in junk[0][2]
        assert "$NotJunk" in acc.uids_flags("Archive")[0][2]


def test_rev2_search_is_esearch(imap: IMAPTestServer) -> None:
    imap.account("mjl").deliver("Inbox", MSG)
    w = _login(imap, "mjl")
    w.cmd(b"a", b"ENABLE IMAP4rev2")
    w.cmd(b"b", b"SELECT INBOX")
    assert w.cmd(b"c", b"SEARCH ALL")[0] == b'* ESEARCH (TAG "c") ALL 1'
    assert w.cmd(b"d", b"UID SEARCH SUBJECT nothere")[0] == b'* ESEARCH (TAG "d") UID'
