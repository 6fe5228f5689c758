"""IMAP section lookup on a parsed message (RFC 9051 section 6.4.5, FETCH BODY[...]).

``section_bytes(data, part, "1.2.HEADER.FIELDS (From To)")`` returns the exact bytes of the
section. Part numbers address multipart children; applied to a message/rfc822 part they address
the encapsulated message. HEADER, TEXT and HEADER.FIELDS[.NOT] apply to the message itself (no
part number) or to an encapsulated message; MIME needs a part number.
"""

from __future__ import annotations

import re

from app.message.headers import raw_fields
from app.message.part import Buffer, Part

_SPEC = re.compile(
    r"^((?:\d+\.)*\d+)?(?:^|\.|$)(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?\s*(?:\((.*)\))?$",
    re.I | re.S,
)


class SectionError(ValueError):
    """The section spec is malformed or names a part that does not exist."""


def parse_section(spec: str) -> tuple[list[int], str, list[str]]:
    """("1.2.HEADER.FIELDS (A B)") → ([1, 2], "HEADER.FIELDS", ["a", "b"])."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise SectionError(f"bad section {spec[:80]!r}")
    path = [int(x) for x in m.group(1).split(".")] if m.group(1) else []
    if any(n == 0 for n in path):
        raise SectionError("part numbers start at 1")
    text = (m.group(2) or "").upper()
    fields = [f.lower() for f in (m.group(3) or "").replace('"', " ").split()]
    if text.startswith("HEADER.FIELDS") and not fields:
        raise SectionError("HEADER.FIELDS needs a list of field names")
    if m.group(3) is not None and not text.startswith("HEADER.FIELDS"):
        raise SectionError("field list only after HEADER.FIELDS")
    if text == "MIME" and not path:
        raise SectionError("MIME needs a part number")
    return path, text, fields


def section_part(part: Part, path: list[int]) -> Part:
    p = part.find(path)
    if p is None:
        raise SectionError("no such part")
    return p


def section_bytes(data: Buffer, part: Part, spec: str) -> bytes:
    """The bytes of a section of the message ``part`` parsed from ``data``; raises SectionError."""
    buf = data
    path, text, fields = parse_section(spec)
    p = section_part(part, path)
    if text == "":
        if not path:
            return bytes(buf[p.header_start : p.body_end])
        return bytes(buf[p.body_start : p.body_end])
    if text == "MIME":
        return bytes(buf[p.header_start : p.body_start])
    if path:
        if p.message is None:
            raise SectionError(f"{text} applies to a message, part {'.'.join(map(str, path))} is not one")
        p = p.message
    if text == "TEXT":
        return bytes(buf[p.body_start : p.body_end])
    if text == "HEADER":
        return bytes(buf[p.header_start : p.body_start])
    want = set(fields)
    keep = text == "HEADER.FIELDS"
    out = [
        bytes(buf[s:e])
        for name, s, e in raw_fields(buf, p.header_start, p.body_start)
        if (name in want) == keep
    ]
    for i, f in enumerate(out):
        if not f.endswith(b"\n"):
            out[i] = f + b"\r\n"
    out.append(b"\r\n")
    return b"".join(out)
