"""Message preview text (RFC 8970 PREVIEW): at most 256 characters of the first text part.

The first text/plain or text/html part that is not an attachment is used (HTML as text, with
blockquotes as quotes). Quoted text (lines starting with ``>``, coalesced over blank lines)
becomes ``[...]``, together with the attribution line(s) just before it ("On ... wrote:"); a
signature after ``--`` is dropped; whitespace is collapsed to single spaces, as an IMAP string
wants. Only the first 64 KB of the body are decoded, so a huge part costs little.
"""

from __future__ import annotations

import re

from app.message.decode import decoded_text
from app.message.htmltext import html_to_text
from app.message.part import Buffer, Part

MAX_CHARS = 256
QUOTED = "[...]"
_WS = re.compile(r"\s+")


def _candidate(part: Part) -> Part | None:
    """The first text/plain or text/html part that is not an attachment (as mox)."""
    for p in part.walk():
        if p.media_type == "text" and p.media_subtype in ("plain", "html") and p.disposition != "attachment":
            return p
    return None


def _lines(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if s in ("--", "-- "):
            break  # signature
        if s.startswith(">"):
            while out and out[-1] == "":
                out.pop()
            # The attribution before a quote ("On <date>, <user> wrote:", maybe over two lines).
            if out and out[-1] != QUOTED and out[-1].endswith(":"):
                out.pop()
                if out and out[-1].startswith("On "):
                    out.pop()
            if not out or out[-1] != QUOTED:
                out.append(QUOTED)
            continue
        if out and out[-1] == QUOTED and s in ("", QUOTED, "[…]"):
            continue  # coalesce quotes separated by blank lines or an author's own snip mark
        out.append(s)
    return out


def preview(data: Buffer, part: Part) -> str:
    """RFC 8970 preview of the message ``part`` parsed from ``data`` ("" when it has no text)."""
    p = _candidate(part)
    if p is None:
        return ""
    text = decoded_text(data, p, limit=64 * 1024)
    if p.media_subtype == "html":
        text = html_to_text(text, quote_marks=True)
    s = _WS.sub(" ", " ".join(x for x in _lines(text) if x)).strip()
    return s[:MAX_CHARS]
