"""Byte-level transcripts: literal limits, quoted-string rules, STARTTLS and its injection
guard, LOGINDISABLED, bad first commands, failed-auth limits, SASL mechanisms, ENABLE,
CONDSTORE/QRESYNC, COMPRESS, UNAUTHENTICATE, APPENDLIMIT, METADATA, QUOTA."""

from __future__ import annotations

import base64
import socket
import ssl
import zlib
from pathlib import Path

import pytest

from app import sasl
from tests.imapserver.server import PASSWORD, IMAPTestServer, start
from tests.imapserver.wire import Wire

MSG = b"From: a@example.org\r\nSubject: wire\r\n\r\nhello\r\n"


def connect(imap: IMAPTestServer, login: bool = True) -> Wire:
    w = Wire(imap.connect())
    assert w.line().startswith(b"* OK [CAPABILITY IMAP4rev2")
    if login:
        assert w.cmd(b"l", b"LOGIN mjl " + PASSWORD.encode())[-1].startswith(b"l OK [CAPABILITY")
    return w


def test_literals_limits(imap: IMAPTestServer) -> None:
    w = connect(imap)
    # A synchronizing literal over 1 MB is refused before the client sends it; stream continues.
    w.send(b"a SEARCH TEXT {2000000}\r\n")
    assert w.line() == b"a NO [TOOBIG] literals in command too large"
    assert w.cmd(b"b", b"NOOP")[-1].startswith(b"b OK")
    # Literal continuation, and a non-synchronizing literal (LITERAL+).
    w.send(b"c LIST {0}\r\n")
    assert w.line().startswith(b"+ ")
    w.send(b" {1+}\r\n*\r\n")
    assert w.until(b"c")[-1].startswith(b"c OK")
    # Too many literals in one command.
    w.send(b"d SELECT" + b" {1+}\r\nx" * 1001 + b"\r\n")
    assert w.line().startswith(b"* BYE")
    assert w.closed()


def test_quoted_string_rules(imap: IMAPTestServer) -> None:
    w = connect(imap)
    assert w.cmd(b"a", b'SELECT "IN\x00BOX"')[-1].startswith(b"a BAD")
    assert w.cmd(b"b", b'SELECT "IN\rBOX"')[-1].startswith(b"b BAD")
    assert w.cmd(b"c", b'SELECT "INBOX"')[-1].startswith(b"c OK [READ-WRITE]")


def test_invalid_first_command_gets_bye(imap: IMAPTestServer) -> None:
    w = Wire(imap.connect())
    w.line()
    w.send(b"GET / HTTP/1.1\r\n\r\n")
    assert w.line().startswith(b"* BYE")
    assert w.closed()


def test_line_too_long_before_login(imap: IMAPTestServer) -> None:
    w = Wire(imap.connect())
    w.line()
    w.send(b"a LOGIN " + b"x" * 50_000 + b"\r\n")
    assert w.line() == b"* BYE line too long"


def test_starttls_and_injection(imap: IMAPTestServer) -> None:
    ctx = ssl.create_default_context(cadata=imap.cert_pem)
    # Injection: a command pipelined after STARTTLS is never run; the connection closes.
    w = Wire(imap.connect())
    assert b"STARTTLS" in w.line()
    w.send(b"a STARTTLS\r\nb LOGIN mjl " + PASSWORD.encode() + b"\r\n")
    lines = []
    try:
        while True:
            lines.append(w.line())
    except (EOFError, OSError):
        pass
    assert not any(x.startswith(b"b ") for x in lines)
    # Proper upgrade, then login works over TLS.
    w = Wire(imap.connect())
    w.line()
    assert w.cmd(b"a", b"STARTTLS")[-1].startswith(b"a OK")
    tls = Wire(ctx.wrap_socket(w.sock, server_hostname="localhost"))
    caps = tls.cmd(b"b", b"CAPABILITY")
    assert b"STARTTLS" not in caps[0] and b"AUTH=PLAIN" in caps[0] and b"SCRAM-SHA-256-PLUS" in caps[0]
    assert tls.cmd(b"c", b"LOGIN mjl " + PASSWORD.encode())[-1].startswith(b"c OK")


def test_logindisabled_without_tls(tmp_path: Path) -> None:
    for imap in start(tmp_path, require_starttls=True):
        w = Wire(imap.connect())
        greeting = w.line()
        assert b"LOGINDISABLED" in greeting and b"AUTH=PLAIN" not in greeting
        assert w.cmd(b"a", b"LOGIN mjl " + PASSWORD.encode())[-1].startswith(b"a NO [PRIVACYREQUIRED]")


def test_failed_logins_end_connection(imap: IMAPTestServer) -> None:
    w = connect(imap, login=False)
    assert w.cmd(b"a", b"LOGIN mjl bad1")[-1].startswith(b"a NO [AUTHENTICATIONFAILED]")
    assert w.cmd(b"b", b"LOGIN mjl bad2")[-1].startswith(b"b NO [AUTHENTICATIONFAILED]")
    w.send(b"c LOGIN mjl bad3\r\n")
    assert w.line().startswith(b"* BYE")


def test_auth_limiter_blocks_ip(tmp_path: Path) -> None:
    from app.imapserver import AuthLimiter

    for imap in start(tmp_path, limiter=AuthLimiter(classes=((32, 64, 2),))):
        w = connect(imap, login=False)
        w.cmd(b"a", b"LOGIN mjl bad1")
        w.cmd(b"b", b"LOGIN mjl bad2")
        w2 = connect(imap, login=False)
        assert w2.cmd(b"c", b"LOGIN mjl " + PASSWORD.encode())[-1].startswith(b"c NO [UNAVAILABLE]")


def _authenticate(w: Wire, mech: str, client: sasl.ScramClient | None, initial: bytes | None) -> bytes:
    w.send(
        b"a AUTHENTICATE " + mech.encode() + (b" " + base64.b64encode(initial) if initial else b"") + b"\r\n"
    )
    while True:
        line = w.line()
        if not line.startswith(b"+ "):
            return line
        assert client is not None
        w.send(base64.b64encode(client.step(base64.b64decode(line[2:]))) + b"\r\n")


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_authenticate_scram(imap: IMAPTestServer, hash_name: str) -> None:
    w = connect(imap, login=False)
    c = sasl.ScramClient(hash_name, "mjl", PASSWORD)  # type: ignore[arg-type]
    mech = "SCRAM-SHA-256" if hash_name == "sha256" else "SCRAM-SHA-1"
    assert _authenticate(w, mech, c, c.start()).startswith(b"a OK")
    assert c.verified


def test_authenticate_plain_and_cancel(imap: IMAPTestServer) -> None:
    w = connect(imap, login=False)
    w.send(b"x AUTHENTICATE PLAIN\r\n")
    assert w.line() == b"+ "
    w.send(b"*\r\n")
    assert w.line().startswith(b"x BAD")
    line = _authenticate(w, "PLAIN", None, b"\0mjl\0" + PASSWORD.encode())
    assert line.startswith(b"a OK [CAPABILITY")


def test_enable_condstore_qresync(imap: IMAPTestServer) -> None:
    acc = imap.account("mjl")
    acc.deliver("Inbox", MSG)
    acc.deliver("Inbox", MSG)
    w = connect(imap)
    assert w.cmd(b"a", b"ENABLE QRESYNC")[0] == b"* ENABLED CONDSTORE QRESYNC"
    sel = w.cmd(b"b", b"SELECT INBOX")
    hms = next(x for x in sel if b"HIGHESTMODSEQ" in x)
    uidvalidity = next(x for x in sel if b"UIDVALIDITY" in x).split()[3].rstrip(b"]")
    modseq = int(hms.split()[3].rstrip(b"]"))
    w.cmd(b"c", b"STORE 1 +FLAGS (\\Seen)")
    w.cmd(b"d", b"STORE 2 +FLAGS (\\Deleted)")
    w.cmd(b"e", b"EXPUNGE")
    w.cmd(b"f", b"UNSELECT")
    lines = w.cmd(b"g", b"SELECT INBOX (QRESYNC (" + uidvalidity + b" %d))" % modseq)
    assert b"* VANISHED (EARLIER) 2" in lines
    assert any(x.startswith(b"* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ") for x in lines)
    lines = w.cmd(b"h", b"UID FETCH 1:* FLAGS (CHANGEDSINCE %d VANISHED)" % modseq)
    assert b"* VANISHED (EARLIER) 2" in lines
    lines = w.cmd(b"i", b"STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Flagged)")
    assert lines[-1].startswith(b"i OK [MODIFIED 1]")


def test_compress_deflate(imap: IMAPTestServer) -> None:
    w = connect(imap)
    assert w.cmd(b"a", b"COMPRESS DEFLATE")[-1].startswith(b"a OK")
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    dec = zlib.decompressobj(-15)
    w.send(comp.compress(b"b NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
    out = b""
    while b"b OK" not in out:
        out += dec.decompress(w.sock.recv(4096))
    assert out.startswith(b"b OK")


def test_unauthenticate_and_id(imap: IMAPTestServer) -> None:
    w = connect(imap)
    assert w.cmd(b"a", b'ID ("name" "test")')[0] == b'* ID ("name" "moxpy")'
    assert w.cmd(b"b", b"UNAUTHENTICATE")[-1].startswith(b"b OK")
    assert w.cmd(b"c", b"SELECT INBOX")[-1].startswith(b"c BAD")


def test_metadata_and_quota(imap: IMAPTestServer) -> None:
    w = connect(imap)
    assert w.cmd(b"a", b'SETMETADATA "" (/private/comment "hello")')[-1].startswith(b"a OK")
    lines = w.cmd(b"b", b'GETMETADATA "" /private/comment')
    assert lines[0] == b'* METADATA "" (/private/comment "hello")'
    assert w.cmd(b"c", b"SETMETADATA INBOX (/shared/x {3+}\r\nabc)")[-1].startswith(b"c OK")
    assert w.cmd(b"d", b"GETMETADATA INBOX (/shared/x)")[0] == b'* METADATA INBOX (/shared/x "abc")'
    assert w.cmd(b"e", b'SETMETADATA "" (/other/x "v")')[-1].startswith(b"e BAD")
    lines = w.cmd(b"f", b"GETQUOTAROOT INBOX")
    assert lines[0].startswith(b"* QUOTAROOT INBOX")


def test_status_list_extended(imap: IMAPTestServer) -> None:
    imap.account("mjl").deliver("Inbox", MSG)
    w = connect(imap)
    lines = w.cmd(b"a", b"STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE DELETED HIGHESTMODSEQ)")
    assert lines[0].startswith(b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UNSEEN 1 SIZE %d DELETED 0" % len(MSG))
    lines = w.cmd(b"b", b'LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES))')
    assert b'* LIST (\\HasNoChildren \\Sent) "/" Sent' in lines
    assert b"* STATUS INBOX (MESSAGES 1)" in lines
    assert w.cmd(b"c", b'CREATE "Tmp/Sub" (USE (\\Archive))')[-1].startswith(b"c OK")
    lines = w.cmd(b"d", b'LIST (SPECIAL-USE) "" "*"')
    assert any(b"Tmp/Sub" in x and b"\\Archive" in x for x in lines)


def test_utf7_and_utf8_names(imap: IMAPTestServer) -> None:
    w = connect(imap)
    assert w.cmd(b"a", b"CREATE Entw&APw-rfe")[-1].startswith(b"a OK")
    assert b'* LIST (\\HasNoChildren) "/" Entw&APw-rfe' in w.cmd(b"b", b'LIST "" Entw*')
    w.cmd(b"c", b"ENABLE UTF8=ACCEPT")
    assert any("Entwürfe".encode() in x for x in w.cmd(b"d", b'LIST "" Entw*'))


def test_tls_port(imap: IMAPTestServer) -> None:
    ctx = ssl.create_default_context(cadata=imap.cert_pem)
    s = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", imap.tls_port), timeout=10), server_hostname="localhost"
    )
    w = Wire(s)
    assert b"AUTH=PLAIN" in w.line()
    assert w.cmd(b"a", b"LOGIN mjl " + PASSWORD.encode())[-1].startswith(b"a OK")


def test_cram_md5(imap: IMAPTestServer) -> None:
    import hashlib
    import hmac

    w = connect(imap, login=False)
    w.send(b"a AUTHENTICATE CRAM-MD5\r\n")
    line = w.line()
    challenge = base64.b64decode(line[2:])
    digest = hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest()
    w.send(base64.b64encode(b"mjl " + digest.encode()) + b"\r\n")
    assert w.line().startswith(b"a OK")


def test_preview_savedate_within_multiappend(imap: IMAPTestServer) -> None:
    w = connect(imap)
    m2 = b"Subject: two\r\n\r\nsecond body\r\n"
    w.send(b"a APPEND INBOX (\\Seen) {%d+}\r\n" % len(MSG) + MSG + b" ~{%d+}\r\n" % len(m2) + m2 + b"\r\n")
    line = w.until(b"a")[-1]
    assert line.startswith(b"a OK [APPENDUID ") and line.split()[4].endswith(b"1:2]")
    w.cmd(b"b", b"SELECT INBOX")
    lines = w.cmd(b"c", b"FETCH 1:2 (PREVIEW SAVEDATE FLAGS)")
    assert lines[0].startswith(b'* 1 FETCH (UID 1 PREVIEW "hello" SAVEDATE "') and b"\\Seen" in lines[0]
    assert lines[1].startswith(b'* 2 FETCH (UID 2 PREVIEW "second body"')
    assert w.cmd(b"d", b"SEARCH YOUNGER 3600")[0] == b"* SEARCH 1 2"
    assert w.cmd(b"e", b"SEARCH OLDER 3600")[0] == b"* SEARCH"
    assert w.cmd(b"f", b"SEARCH SAVEDSINCE 1-Jan-2020 UNSEEN")[0] == b"* SEARCH 2"
    # SEARCHRES: save, then use "$".
    w.cmd(b"g", b"SEARCH RETURN (SAVE) SUBJECT two")
    assert w.cmd(b"h", b"FETCH $ (UID)")[0] == b"* 2 FETCH (UID 2)"


def test_idle_reports_expunge_and_flags(imap: IMAPTestServer) -> None:
    acc = imap.account("mjl")
    acc.deliver("Inbox", MSG)
    acc.deliver("Inbox", MSG)
    w = connect(imap)
    w.cmd(b"a", b"SELECT INBOX")
    w.send(b"b IDLE\r\n")
    assert w.line().startswith(b"+ ")
    acc.set_flags("Inbox", [2], "add", ["\\Flagged"])
    assert w.line() == b"* 2 FETCH (UID 2 FLAGS (\\Recent \\Flagged))"
    acc.expunge("Inbox", [1], only_deleted=False)
    seen = [w.line()]
    while b"EXPUNGE" not in seen[-1]:
        seen.append(w.line())
    assert seen[-1] == b"* 1 EXPUNGE"
    w.send(b"DONE\r\n")
    assert w.until(b"b")[-1].startswith(b"b OK")


def test_quota_limit(tmp_path: Path) -> None:
    for imap in start(tmp_path, quota=1 << 20):  # 1 MiB for every account
        w = connect(imap)
        lines = w.cmd(b"a", b"GETQUOTAROOT INBOX")
        assert lines[0] == b'* QUOTAROOT INBOX ""' and lines[1] == b'* QUOTA "" (STORAGE 0 1024)'
        big = b"Subject: big\r\n\r\n" + b"x" * (1100 * 1024) + b"\r\n"
        w.send(b"b APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
        assert w.until(b"b")[-1].startswith(b"b NO [OVERQUOTA]")


def test_replace(imap: IMAPTestServer) -> None:
    imap.account("mjl").deliver("Inbox", MSG)
    w = connect(imap)
    w.cmd(b"a", b"SELECT INBOX")
    new = b"Subject: edited\r\n\r\nnew version\r\n"
    w.send(b"b REPLACE 1 Drafts {%d+}\r\n" % len(new) + new + b"\r\n")
    lines = w.until(b"b")
    assert (
        lines[0].startswith(b"* OK [APPENDUID ") and b"* 1 EXPUNGE" in lines and lines[-1].startswith(b"b OK")
    )
    assert w.cmd(b"c", b"STATUS Drafts (MESSAGES)")[0] == b"* STATUS Drafts (MESSAGES 1)"
    assert w.cmd(b"d", b"UID REPLACE 99 INBOX {1+}\r\nx")[-1].startswith(b"d NO")


def test_multisearch(imap: IMAPTestServer) -> None:
    acc = imap.account("mjl")
    acc.deliver("Inbox", MSG)
    acc.deliver("Archive", MSG)
    acc.deliver("Archive", b"Subject: other\r\n\r\nx\r\n")
    w = connect(imap)
    lines = w.cmd(b"a", b"ESEARCH IN (personal) RETURN (COUNT) SUBJECT wire")
    assert b'* ESEARCH (TAG "a" MAILBOX INBOX UIDVALIDITY ' in lines[0] or b"MAILBOX Archive" in lines[0]
    text = b"\n".join(lines)
    assert (
        b"MAILBOX Archive UIDVALIDITY" in text
        and b"MAILBOX INBOX UIDVALIDITY" in text
        and b"UID COUNT 1" in text
    )
    lines = w.cmd(b"b", b"ESEARCH IN (mailboxes Archive) SUBJECT other")
    assert lines[0].startswith(b'* ESEARCH (TAG "b" MAILBOX Archive UIDVALIDITY ') and lines[0].endswith(
        b"UID ALL 2"
    )


def _client_cert_ctx(imap: IMAPTestServer) -> tuple[ssl.SSLContext, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from app.imapserver.tlsauth import spki_fingerprint

    leaf = imap.ca.issue_cert("mjl-client")
    ctx = ssl.create_default_context(cadata=imap.cert_pem)
    leaf.configure_cert(ctx)
    der = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_bytes(
        serialization.Encoding.DER
    )
    return ctx, spki_fingerprint(der)


@pytest.mark.parametrize("no_preauth", [False, True])
def test_tls_client_certificate(imap: IMAPTestServer, no_preauth: bool) -> None:
    ctx, fp = _client_cert_ctx(imap)
    assert imap.deps is not None
    imap.deps.tls_public_key = lambda f: ("mjl", "mjl", no_preauth) if f == fp else None
    s = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", imap.tls_port), timeout=10), server_hostname="localhost"
    )
    w = Wire(s)
    greeting = w.line()
    if not no_preauth:
        assert greeting.startswith(b"* PREAUTH [CAPABILITY IMAP4rev2")
        assert w.cmd(b"a", b"SELECT INBOX")[-1].startswith(b"a OK")
        return
    assert greeting.startswith(b"* OK") and b"AUTH=EXTERNAL" in greeting
    assert w.cmd(b"a", b"AUTHENTICATE EXTERNAL =")[-1].startswith(b"a OK")


def test_uidonly(imap: IMAPTestServer) -> None:
    acc = imap.account("mjl")
    acc.deliver("Inbox", MSG)
    acc.deliver("Inbox", MSG)
    w = connect(imap)
    assert w.cmd(b"a", b"ENABLE UIDONLY")[0] == b"* ENABLED UIDONLY"
    w.cmd(b"b", b"SELECT INBOX")
    assert w.cmd(b"c", b"FETCH 1 FLAGS")[-1].startswith(b"c BAD [UIDREQUIRED]")
    assert w.cmd(b"d", b"UID SEARCH 1:2")[-1].startswith(b"d BAD [UIDREQUIRED]")
    lines = w.cmd(b"e", b"UID FETCH 2 (FLAGS)")
    assert lines[0] == b"* 2 UIDFETCH (FLAGS (\\Recent))"
    lines = w.cmd(b"f", b"UID STORE 1 +FLAGS (\\Deleted)")
    assert lines[0] == b"* 1 UIDFETCH (FLAGS (\\Recent \\Deleted))"
    assert b"* VANISHED 1" in w.cmd(b"g", b"EXPUNGE")


def test_notify(imap: IMAPTestServer) -> None:
    acc = imap.account("mjl")
    w = connect(imap)
    w.cmd(b"a", b"SELECT INBOX")
    lines = w.cmd(
        b"b",
        b"NOTIFY SET STATUS (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))",
    )
    assert any(x.startswith(b"* STATUS Archive (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ") for x in lines)
    # Without any command in progress, a delivery elsewhere and a new mailbox are reported.
    acc.deliver("Archive", MSG)
    line = w.line()
    assert line.startswith(b"* STATUS Archive (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ")
    acc.create_mailbox("Projects")
    assert w.line() == b'* LIST () "/" Projects'
    acc.deliver("Inbox", MSG)
    assert w.line() == b"* 1 EXISTS"
    assert w.cmd(b"c", b"NOTIFY NONE")[-1].startswith(b"c OK")
    assert w.cmd(b"d", b"NOTIFY SET (personal (Bogus))")[-1].startswith(b"d NO [BADEVENT")


def test_objectid(imap: IMAPTestServer) -> None:
    acc = imap.account("mjl")
    acc.deliver("Inbox", MSG)
    acc.deliver("Inbox", b"Subject: Re: wire\r\nIn-Reply-To: <x@y>\r\n\r\nreply\r\n")
    w = connect(imap)
    created = w.cmd(b"a", b"CREATE Obj")[-1]
    assert created.startswith(b"a OK [MAILBOXID (F")
    mbid = created.split(b"(")[1].split(b")")[0]
    assert w.cmd(b"b", b"STATUS Obj (MAILBOXID)")[0] == b"* STATUS Obj (MAILBOXID (" + mbid + b"))"
    sel = w.cmd(b"c", b"SELECT Obj")
    assert b"* OK [MAILBOXID (" + mbid + b")] mailbox id" in sel
    w.cmd(b"d", b"SELECT INBOX")
    lines = w.cmd(b"e", b"FETCH 1:2 (EMAILID THREADID)")
    eid = lines[0].split(b"EMAILID (")[1].split(b")")[0]
    assert eid.startswith(b"M") and b"THREADID (T" in lines[0]
    assert w.cmd(b"f", b"SEARCH EMAILID " + eid)[0] == b"* SEARCH 1"


def test_list_metadata(imap: IMAPTestServer) -> None:
    w = connect(imap)
    w.cmd(b"a", b'SETMETADATA INBOX (/private/color "red")')
    lines = w.cmd(b"b", b'LIST "" "INBOX" RETURN (METADATA (/private/color /shared/comment))')
    assert lines[0] == b'* LIST (\\HasNoChildren) "/" INBOX'
    assert lines[1] == b'* METADATA INBOX (/private/color "red" /shared/comment NIL)'


def test_fetch_many_flags_only(imap: IMAPTestServer) -> None:
    from app.store import AppendItem

    acc = imap.account("mjl")
    acc.append("Inbox", [AppendItem(MSG, ("\\Seen",) if i % 2 else ()) for i in range(250)])
    w = connect(imap)
    w.cmd(b"a", b"SELECT INBOX")
    lines = w.cmd(b"b", b"UID FETCH 1:* (UID)")
    assert len(lines) == 251 and lines[0] == b"* 1 FETCH (UID 1)" and lines[249] == b"* 250 FETCH (UID 250)"
    lines = w.cmd(b"c", b"FETCH 1:* (FLAGS)")
    assert (
        lines[0] == b"* 1 FETCH (UID 1 FLAGS (\\Recent))"
        and lines[1] == b"* 2 FETCH (UID 2 FLAGS (\\Recent \\Seen))"
    )
    w.cmd(b"d", b"ENABLE CONDSTORE")
    lines = w.cmd(b"e", b"FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    assert len(lines) == 251 and b"MODSEQ (" in lines[0]


def test_no_big_literals_before_login(imap: IMAPTestServer) -> None:
    w = Wire(imap.connect())
    w.line()
    w.send(b"a APPEND INBOX {100000000}\r\n")
    assert w.line() == b"a NO [TOOBIG] literals too large before authentication"
    w.send(b"b LOGIN {3}\r\n")
    assert w.line().startswith(b"+ ")
    w.send(b"mjl " + PASSWORD.encode() + b"\r\n")
    assert w.until(b"b")[-1].startswith(b"b OK")
    w.send(b"c APPEND INBOX {2000000}\r\n")
    assert w.line().startswith(b"+ ")


def test_scram_plus_channel_binding(imap: IMAPTestServer) -> None:
    ctx = ssl.create_default_context(cadata=imap.cert_pem)
    s = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", imap.tls_port), timeout=10), server_hostname="localhost"
    )
    der = s.getpeercert(binary_form=True)
    assert der is not None
    w = Wire(s)
    assert b"AUTH=SCRAM-SHA-256-PLUS" in w.line()
    c = sasl.ScramClient(
        "sha256", "mjl", PASSWORD, channel_binding=(sasl.TLS_SERVER_END_POINT, sasl.tls_server_end_point(der))
    )
    assert _authenticate(w, "SCRAM-SHA-256-PLUS", c, c.start()).startswith(b"a OK")
    assert c.verified


def test_no_plus_without_certificate(tmp_path: Path) -> None:
    for imap in start(tmp_path, server_cert_der=lambda _l: None):
        ctx = ssl.create_default_context(cadata=imap.cert_pem)
        s = ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", imap.tls_port), timeout=10), server_hostname="localhost"
        )
        greeting = Wire(s).line()
        assert b"AUTH=SCRAM-SHA-256 " in greeting and b"-PLUS" not in greeting


def test_inprogress(imap: IMAPTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.imapserver import cmd_search
    from app.store import AppendItem

    monkeypatch.setattr(cmd_search, "INPROGRESS_INTERVAL", 0.0)
    imap.account("mjl").append("Inbox", [AppendItem(MSG) for _ in range(2500)])
    w = connect(imap)
    w.cmd(b"a", b"SELECT INBOX")
    lines = w.cmd(b"b", b"SEARCH BODY hello")
    assert lines[0] == b'* OK [INPROGRESS ("b" 1000 2500)] searching'
    assert lines[1] == b'* OK [INPROGRESS ("b" 2000 2500)] searching'
    assert lines[2].startswith(b"* SEARCH 1 2 3") and lines[-1].startswith(b"b OK")


def _fetch_item(w: Wire, tag: bytes, cmd: bytes) -> bytes:
    w.send(tag + b" " + cmd + b"\r\n")
    line = w.line()
    size = int(line[line.rindex(b"{") + 1 : -1])
    while len(w.buf) < size:
        w.buf += w.sock.recv(1 << 20)
    data, w.buf = w.buf[:size], w.buf[size:]
    assert w.until(tag)[-1].startswith(tag + b" OK")
    return data


def test_partial_fetch_of_large_message(imap: IMAPTestServer) -> None:
    body1 = b"".join(b"line %06d of the first part\r\n" % i for i in range(12000))
    big = (
        b"Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        + body1
        + b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--b--\r\n"
    )
    assert len(big) > 300_000
    imap.account("mjl").deliver("Inbox", big)
    w = connect(imap)
    w.cmd(b"a", b"SELECT INBOX")
    full = _fetch_item(w, b"b", b"FETCH 1 BODY.PEEK[]")
    assert full == big
    part1 = _fetch_item(w, b"c", b"FETCH 1 BODY.PEEK[1]")
    for spec, whole in ((b"", full), (b"1", part1), (b"TEXT", big[big.index(b"\r\n\r\n") + 4 :])):
        for off, n in ((0, 100), (5000, 70000), (len(whole) - 10, 100), (len(whole) + 5, 10)):
            got = _fetch_item(w, b"d", b"FETCH 1 BODY.PEEK[%s]<%d.%d>" % (spec, off, n))
            assert got == whole[off : off + n], (spec, off, n)
    assert _fetch_item(w, b"e", b"FETCH 1 BODY.PEEK[1.MIME]<0.12>") == b"Content-Type"
