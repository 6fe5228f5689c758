"""Body sections of FETCH BODY[...] and BINARY[...] (RFC 9051 section 6.4.5, RFC 3516) on the
stored MIME structure, and the quoted-printable decoding BINARY needs (RFC 2045 section 6.7).

Part numbers: 1 of a non-multipart entity is its body; a number after a message/rfc822 part
addresses the encapsulated message's parts. HEADER, TEXT and HEADER.FIELDS[.NOT] apply to the
message or to an encapsulated message, MIME to the part's own header.
"""

from __future__ import annotations

import binascii
import re

from app import message
from app.imap.fetchatt import Section


def find(root: message.Part, path: tuple[int, ...]) -> message.Part | None:
    p = root
    for i, n in enumerate(path):
        if i > 0 and p.message is not None:
            p = p.message
        if p.parts:
            if not 1 <= n <= len(p.parts):
                return None
            p = p.parts[n - 1]
        elif n != 1:
            return None
    return p


def header_fields(header: bytes) -> list[tuple[str, bytes]]:
    """Split a header section into (lower-case name, raw field bytes including line ends)."""
    out: list[tuple[str, bytes]] = []
    for line in header.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and out:
            name, raw = out[-1]
            out[-1] = (name, raw + line)
            continue
        name = line.split(b":", 1)[0].strip().decode("ascii", "replace").lower()
        out.append((name, line))
    return out


def section_bytes(data: bytes, root: message.Part, sec: Section) -> bytes | None:
    """The bytes of a section, None when the part does not exist."""
    p = find(root, sec.parts) if sec.parts else root
    if p is None:
        return None
    if sec.text == "":
        if not sec.parts:
            return data[p.header_start : p.body_end]
        return data[p.body_start : p.body_end]
    if sec.text == "MIME":
        return data[p.header_start : p.body_start]
    if sec.parts:
        if p.message is None:
            return None
        p = p.message
    if sec.text == "TEXT":
        return data[p.body_start : p.body_end]
    header = data[p.header_start : p.body_start]
    if sec.text == "HEADER":
        return header
    want = {f.lower() for f in sec.fields}
    keep = sec.text == "HEADER.FIELDS"
    out = [
        raw if raw.endswith(b"\n") else raw + b"\r\n"
        for name, raw in header_fields(header)
        if (name in want) == keep
    ]
    return b"".join(out) + b"\r\n"


def section_range(root: message.Part, sec: Section) -> tuple[int, int] | None:
    """Byte range of a section that is a contiguous slice of the message ("", TEXT, MIME,
    HEADER), None for others (HEADER.FIELDS) or a part that does not exist."""
    p = find(root, sec.parts) if sec.parts else root
    if p is None:
        return None
    if sec.text == "":
        return (p.header_start, p.body_end) if not sec.parts else (p.body_start, p.body_end)
    if sec.text == "MIME":
        return (p.header_start, p.body_start)
    if sec.text in ("TEXT", "HEADER"):
        if sec.parts:
            if p.message is None:
                return None
            p = p.message
        return (p.body_start, p.body_end) if sec.text == "TEXT" else (p.header_start, p.body_start)
    return None


_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_qp(raw: bytes) -> bytes:
    """Quoted-printable (RFC 2045 6.7): trailing whitespace is transport padding and dropped, a
    line ending in "=" continues on the next line, =XX is an octet; lines end in CRLF."""
    lines = raw.split(b"\n")
    out = bytearray()
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        line = line.rstrip(b"\r").rstrip(b" \t")
        soft = line.endswith(b"=")
        if soft:
            line = line[:-1]
        out += _HEX.sub(lambda m: binascii.unhexlify(m.group(1)), line)
        if not soft and not last:
            out += b"\r\n"
    return bytes(out)


def decode_part(data: bytes, p: message.Part) -> bytes:
    """The decoded body of a leaf part; raises message.UnknownCTE."""
    raw = data[p.body_start : p.body_end]
    if p.cte == "quoted-printable":
        return decode_qp(raw)
    return message.decode_binary(data, p)
