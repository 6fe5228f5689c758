"""Real IMAP clients against the server: Debian's isync (mbsync) syncing both ways and a
second sync that transfers nothing, mutt reading a mailbox in batch mode, offlineimap."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from tests.conftest import require_tool
from tests.imapserver.server import PASSWORD, IMAPTestServer


def msg(n: int) -> bytes:
    return (
        f"From: sender{n}@example.org\r\nTo: mjl@mox.example\r\nSubject: message {n}\r\n"
        f"Message-Id: <m{n}@example.org>\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\nbody of message {n}\r\n"
    ).encode()


def mbsync_config(imap: IMAPTestServer, local: Path) -> str:
    return f"""IMAPAccount test
Host 127.0.0.1
Port {imap.port}
User mjl
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
Remove None
SyncState *
"""


def run_mbsync(cfg: Path) -> str:
    p = subprocess.run(
        [require_tool("mbsync"), "-c", str(cfg), "-a"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout + p.stderr


def maildir_files(d: Path) -> list[Path]:
    return sorted([*(d / "cur").glob("*"), *(d / "new").glob("*")])


def test_mbsync_both_directions(imap: IMAPTestServer, tmp_path: Path) -> None:
    require_tool("mbsync")
    acc = imap.account("mjl")
    for i in range(3):
        acc.deliver("Inbox", msg(i))
    acc.deliver("Archive", msg(10))
    local = tmp_path / "mail"
    local.mkdir()
    cfg = tmp_path / "mbsyncrc"
    cfg.write_text(mbsync_config(imap, local))

    run_mbsync(cfg)
    inbox = local / "INBOX"
    files = maildir_files(inbox)
    assert len(files) == 3
    assert len(maildir_files(local / "Archive")) == 1
    assert any(b"body of message 1" in f.read_bytes() for f in files)

    # Local changes: a new message, one marked seen, one deleted.
    (inbox / "new" / "1700000000.1.local").write_bytes(msg(99).replace(b"\r\n", b"\n"))
    content = {f: f.read_bytes() for f in files}
    seen = next(f for f in files if b"message 0" in content[f])
    seen.rename(inbox / "cur" / (seen.name.split(":2,")[0] + ":2,S"))
    gone = next(f for f in files if b"message 2" in content[f])
    gone.rename(inbox / "cur" / (gone.name.split(":2,")[0] + ":2,T"))
    # A remote change too: a flag set by another session.
    acc.set_flags("Inbox", [2], "add", ["\\Flagged"])
    run_mbsync(cfg)

    st = acc.mailbox_status("Inbox")
    assert st.counts.total == 3  # 3 - deleted + new
    rows = {u: f for u, _m, f in acc.uids_flags("Inbox")}
    metas = acc.message_meta("Inbox", list(rows))
    subjects = {m.uid: acc.read(m) for m in metas}
    assert any(b"message 99" in d for d in subjects.values())
    assert not any(b"message 2\r\n" in d for d in subjects.values())
    assert any("\\Seen" in rows[m.uid] for m in metas if b"message 0" in subjects[m.uid])
    assert any(f.name.endswith("F") or ",F" in f.name for f in maildir_files(inbox))

    # Nothing changed: a second sync transfers nothing.
    before = {f.name for f in maildir_files(inbox)}
    out = run_mbsync(cfg)
    assert {f.name for f in maildir_files(inbox)} == before
    assert acc.mailbox_status("Inbox").counts.total == 3
    assert "error" not in out.lower()


def test_mutt_batch_read(imap: IMAPTestServer, tmp_path: Path) -> None:
    mutt = require_tool("mutt")
    acc = imap.account("mjl")
    for i in range(2):
        acc.deliver("Inbox", msg(i))
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(
        f'set folder="imap://mjl:{PASSWORD}@127.0.0.1:{imap.port}/"\n'
        "set spoolfile=+INBOX\nset ssl_starttls=no\nset ssl_force_tls=no\nset header_cache=\n"
        "set imap_passive=no\nset sort=date\nset quit=yes\nset move=no\nset wait_key=no\nset pipe_decode=yes\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "TERM": "vt100"}
    out = tmp_path / "out"
    # mutt needs a terminal: run it under script(1) with a pty, keys pushed from the command line:
    # pipe the first message (decoded) to a file, then quit.
    cmd = shlex.join([
        mutt, "-n", "-F", str(muttrc), "-f", f"imap://mjl:{PASSWORD}@127.0.0.1:{imap.port}/INBOX",
        "-e", f"push '<pipe-message>cat > {out}<enter><quit>'",
    ])  # fmt: skip
    p = subprocess.run(
        [require_tool("script"), "-qec", cmd, "/dev/null"],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.exists(), p.stdout[-2000:] + p.stderr[-2000:]
    assert "body of message" in out.read_text()


def test_offlineimap(imap: IMAPTestServer, tmp_path: Path) -> None:
    tool = require_tool("offlineimap")
    acc = imap.account("mjl")
    for i in range(3):
        acc.deliver("Inbox", msg(i))
    local = tmp_path / "mail"
    cfg = tmp_path / "offlineimaprc"
    cfg.write_text(
        f"""[general]
accounts = test
metadata = {tmp_path}/meta

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {local}

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {imap.port}
remoteuser = mjl
remotepass = {PASSWORD}
ssl = no
starttls = no
"""
    )
    p = subprocess.run(
        [tool, "-c", str(cfg), "-o", "-u", "basic"], capture_output=True, text=True, timeout=90
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    files = [f for f in (local / "INBOX").rglob("*") if f.is_file()]
    assert len(files) == 3
    assert re.search(rb"body of message 2", b"".join(f.read_bytes() for f in files))
