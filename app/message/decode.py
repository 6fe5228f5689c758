"""Content-Transfer-Encoding decoding (RFC 2045 section 6) and decoded text of text parts.

``decode_binary`` is what IMAP BINARY (RFC 3516) returns; an encoding other than 7bit, 8bit,
binary, base64 or quoted-printable raises ``UnknownCTE`` so the server can answer
``[UNKNOWN-CTE]``. ``decoded_text`` converts the charset (unknown charsets degrade, never raise).
``text_for_search`` gathers header and body text of a whole message for SEARCH and indexing.
"""

from __future__ import annotations

import binascii
import re

from app.message.encoded import decode_bytes, decode_rfc2047, header_text
from app.message.headers import iter_fields, unfold
from app.message.htmltext import html_to_text
from app.message.part import Buffer, Part

IDENTITY = ("", "7bit", "8bit", "binary")
_QP_TRAILING = re.compile(rb"(?<![ \t])[ \t]++(?=\r?\n|\Z)")  # lookbehind: linear on long runs
_QP_SOFT = re.compile(rb"=\r?\n")


class UnknownCTE(ValueError):
    """The part's Content-Transfer-Encoding is not one this library decodes."""

    def __init__(self, cte: str) -> None:
        super().__init__(f"unknown content-transfer-encoding {cte!r}")
        self.cte = cte


def decode_raw(raw: bytes, cte: str) -> bytes:
    """Decode body bytes for a transfer encoding; raises UnknownCTE."""
    if cte in IDENTITY:
        return raw
    if cte == "base64":
        try:
            return binascii.a2b_base64(raw, strict_mode=False)
        except binascii.Error:
            # Bad padding: drop the incomplete final group rather than fail.
            clean = re.sub(rb"[^A-Za-z0-9+/]", b"", raw)
            clean = clean[: len(clean) - len(clean) % 4]
            return binascii.a2b_base64(clean, strict_mode=False) if clean else b""
    if cte == "quoted-printable":
        # RFC 2045 section 6.7: trailing whitespace on a line is padding and goes; "=" at the end
        # of a line (after that) is a soft line break.
        raw = _QP_SOFT.sub(b"", _QP_TRAILING.sub(b"", raw))
        return binascii.a2b_qp(raw)
    raise UnknownCTE(cte)


def decode_binary(data: Buffer, part: Part, limit: int | None = None) -> bytes:
    """The decoded body of a (non-multipart) part; ``limit`` caps the raw bytes read."""
    buf = data
    end = part.body_end if limit is None else min(part.body_end, part.body_start + limit)
    raw = bytes(buf[part.body_start : end])
    if limit is not None and end < part.body_end and part.cte == "base64":
        raw = raw[: raw.rfind(b"\n") + 1] or raw[: len(raw) - len(raw) % 4]
    return decode_raw(raw, part.cte)


def decoded_text(data: Buffer, part: Part, limit: int | None = None) -> str:
    """Body text of a text part as str; an unknown transfer encoding yields the raw bytes."""
    try:
        b = decode_binary(data, part, limit)
    except UnknownCTE:
        end = part.body_end if limit is None else min(part.body_end, part.body_start + limit)
        b = bytes(data[part.body_start : end])
    return decode_bytes(b, part.charset)


def header_text_of(data: Buffer, part: Part) -> str:
    out = []
    for name, raw in iter_fields(data, part.header_start, part.body_start):
        out.append(f"{name}: {decode_rfc2047(unfold(header_text(raw)).strip())}")
    return "\n".join(out)


def text_for_search(data: Buffer, part: Part, part_limit: int | None = 4 << 20) -> str:
    """Decoded headers and text parts of the message (nested messages included).

    At most ``part_limit`` raw bytes of each text part are decoded (None: all), so a huge text
    attachment does not turn into a huge string.
    """
    out: list[str] = []
    roots = {id(part)}
    for p in part.walk():
        if p.message is not None:
            roots.add(id(p.message))
        if id(p) in roots:
            out.append(header_text_of(data, p))
        if p.media_type == "text" and not p.parts and p.message is None:
            t = decoded_text(data, p, part_limit)
            out.append(html_to_text(t) if p.media_subtype == "html" else t)
    return "\n".join(out)
