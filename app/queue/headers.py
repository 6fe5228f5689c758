"""Cheap reading of single header values from a message's header section (RFC 5322 §2.2),
for queue listings (Message-ID, Subject) and DSNs; no full MIME parse."""

from __future__ import annotations


def header_section(data: bytes) -> bytes:
    """The header section including its final CRLF (or the whole message if it has no body)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            return data[: i + len(sep) // 2]
    return data


def header_value(data: bytes, name: bytes, limit: int = 1000) -> str:
    """The unfolded value of the first header ``name`` (lowercase), decoded leniently."""
    want = name.lower() + b":"
    lines = header_section(data).split(b"\n")
    for i, line in enumerate(lines):
        if line.lower().startswith(want):
            parts = [line[len(want) :]]
            for cont in lines[i + 1 :]:
                if cont[:1] in (b" ", b"\t"):
                    parts.append(cont)
                else:
                    break
            v = b" ".join(p.strip() for p in parts).strip()
            return v[:limit].decode("utf-8", "replace")
    return ""
