"""Binary content (RFC 3516): APPEND with literal8 keeps the octets, FETCH BINARY returns them
exactly in a literal8, and BODY[] never puts NUL in a plain literal (RFC 9051 CHAR8)."""

from __future__ import annotations

import re

from tests.imapserver.server import PASSWORD, IMAPTestServer
from tests.imapserver.wire import Wire

CONTENT = b"\x00-\xe4\n\r\n\n"
MSG = (
    b"From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n" + CONTENT
)


def _fetch(w: Wire, tag: bytes, items: bytes) -> tuple[bytes, bytes]:
    """(response line up to the literal, literal data) of a one-literal FETCH."""
    w.send(tag + b" FETCH 1 " + items + b"\r\n")
    line = w.line()
    m = re.search(rb"~?\{(\d+)\}$", line)
    assert m, line
    size = int(m.group(1))
    while len(w.buf) < size:
        w.buf += w.sock.recv(65536)
    data, w.buf = w.buf[:size], w.buf[size:]
    assert w.until(tag)[-1].startswith(tag + b" OK")
    return line, data


def test_binary_append_and_fetch(imap: IMAPTestServer) -> None:
    w = Wire(imap.connect())
    w.line()
    w.cmd(b"l", b"LOGIN mjl " + PASSWORD.encode())
    w.send(b"a APPEND INBOX ~{%d}\r\n" % len(MSG))
    assert w.line().startswith(b"+")
    w.send(MSG + b"\r\n")
    assert w.until(b"a")[-1].startswith(b"a OK")
    w.cmd(b"s", b"SELECT INBOX")

    line, data = _fetch(w, b"b", b"(BINARY.SIZE[1] BINARY.PEEK[1])")
    assert b"BINARY.SIZE[1] 7 " in line and line.endswith(b"~{7}")
    assert data == CONTENT

    line, data = _fetch(w, b"c", b"(BODY.PEEK[1])")
    assert line.endswith(b" {7}") and b"~{" not in line
    assert data == CONTENT.replace(b"\x00", b"\x80")
