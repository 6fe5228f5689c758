"""The FETCH expectations of the imaptest scripts (Dovecot's IMAP test suite, shipped in the shared
interop files), checked against this library directly: ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]
and BINARY[section]/BINARY.SIZE of the messages in the scripts' mbox files.

Script conventions: ``{{{ ... }}}`` is a literal whose lines get CRLF; ``~{{{`` a literal8 whose
bytes are taken as written; the newline before ``}}}`` is not part of the literal. Messages of the
mbox are appended with CRLF line endings. Partial fetches (``<n.m>``) and variables (``$x``) are
left to the IMAP server tests; atoms and strings compare case-insensitively as imaptest does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.message import (
    UnknownCTE,
    body,
    bodystructure,
    decode_binary,
    envelope,
    imap_string,
    parse,
    section_bytes,
)
from app.message.section import parse_section, section_part
from tests.conftest import INTEROP

SCRIPTS = INTEROP / "imaptest-scripts"
NAMES = [
    "fetch-envelope",
    "fetch-bodystructure",
    "fetch-body",
    "fetch-body-mime",
    "fetch-body-message-rfc822",
    "fetch-body-message-rfc822-mime",
    "fetch-body-message-rfc822-x2",
    "fetch-binary-mime",
    "fetch-binary-mime-base64",
    "fetch-binary-mime-qp",
]


def mbox_messages(path: Path) -> list[bytes]:
    text = path.read_bytes()
    msgs: list[bytes] = []
    for chunk in re.split(rb"^From [^\n]*\n", text, flags=re.M)[1:]:
        msgs.append(chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return msgs


_ITEM = re.compile(r"(body|binary)\[([^\]]*)\](<\d+>)? (~?)\{\{\{$|binary\.size\[([^\]]*)\] (\d+)", re.I)


def expectations(script: str) -> list[tuple[int, str, str, object]]:
    """(message number, kind, section, expected) from the untagged FETCH lines of a script."""
    out: list[tuple[int, str, str, object]] = []
    lines = script.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = re.match(r"\* (\d+) fetch \((.*)$", line, re.I)
        if not m:
            continue
        n, rest = int(m.group(1)), m.group(2)
        single = re.match(r"(envelope|bodystructure|body) (\(.*\))\)$", rest, re.I)
        if single:
            out.append((n, single.group(1).lower(), "", single.group(2)))
            continue
        # Walk the items of the line; literals continue on the following lines.
        while rest:
            im = _ITEM.search(rest)
            if im is None:
                break
            if im.group(6) is not None:
                out.append((n, "binary.size", im.group(5), int(im.group(6))))
                rest = rest[im.end() :]
                continue
            kind, sec, partial, lit8 = im.group(1).lower(), im.group(2), im.group(3), im.group(4) == "~"
            block: list[str] = []
            while True:
                nxt = lines[i]
                i += 1
                if nxt.startswith("}}}"):
                    rest = nxt[3:]
                    break
                block.append(nxt)
            if partial or "$" in sec:
                continue
            raw = "\n".join(block).encode("utf-8")
            if not lit8:
                raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            out.append((n, kind, sec, raw))
    return out


def cases() -> list[tuple[str, int, str, str, object]]:
    out = []
    for name in NAMES:
        for n, kind, sec, want in expectations((SCRIPTS / name).read_bytes().decode("utf-8")):
            out.append((name, n, kind, sec, want))
    return out


@pytest.mark.parametrize("name,n,kind,sec,want", cases(), ids=lambda x: str(x)[:40])
def test_imaptest_fetch(name: str, n: int, kind: str, sec: str, want: object) -> None:
    data = mbox_messages(SCRIPTS / f"{name}.mbox")[n - 1]
    p = parse(data)
    if kind == "envelope":
        assert imap_string(envelope(data, p).imap()).lower() == str(want).lower()
    elif kind == "body":
        if sec or isinstance(want, bytes):
            got = section_bytes(data, p, sec)
            assert got == want
        else:
            assert imap_string(body(data, p)).lower() == str(want).lower()
    elif kind == "bodystructure":
        assert imap_string(bodystructure(data, p)).lower() == str(want).lower()
    elif kind == "binary":
        got = binary(data, sec)
        if b"\r" in want and b"\n" in want:  # type: ignore[operator]
            assert got == want
        else:
            assert got.replace(b"\r\n", b"\n") == want.replace(b"\r\n", b"\n")  # type: ignore[union-attr]
    elif kind == "binary.size":
        assert len(binary(data, sec)) == want


def binary(data: bytes, sec: str) -> bytes:
    """BINARY[sec]: the decoded body of a leaf part, the raw bytes otherwise (RFC 3516)."""
    p = parse(data)
    if not sec:
        return data
    path, text, _ = parse_section(sec)
    part = section_part(p, path)
    if text or part.parts or part.message is not None:
        return section_bytes(data, p, sec)
    try:
        return decode_binary(data, part)
    except UnknownCTE:
        raise AssertionError("unexpected unknown encoding") from None
