"""Message preview text (RFC 8970 PREVIEW): at most 256 characters of the first text part.

The first text/plain part that is not an attachment is used, else the first text/html part with
markup removed. Quoted text (lines starting with ``>``) becomes ``[...]``, together with the
attribution line ending in ``:`` just before it; a signature after ``-- `` is dropped; whitespace
is collapsed. Only the first 64 KB of the body are decoded, so a huge part costs little.
"""

from __future__ import annotations

import re

from app.message.decode import decoded_text, html_to_text
from app.message.part import Buffer, Part

MAX_CHARS = 256
_WS = re.compile(r"\s+")


def _candidate(part: Part) -> Part | None:
    html: Part | None = None
    for p in part.walk():
        if p.media_type != "text" or p.disposition == "attachment":
            continue
        if p.media_subtype == "plain":
            return p
        if p.media_subtype == "html" and html is None:
            html = p
    return html


def preview(data: Buffer, part: Part) -> str:
    p = _candidate(part)
    if p is None:
        return ""
    text = decoded_text(data, p, limit=64 * 1024)
    if p.media_subtype == "html":
        text = html_to_text(text)
    lines: list[str] = []
    quoting = False
    for line in text.splitlines():
        if line.rstrip() == "--":
            break
        if line.lstrip().startswith(">"):
            if not quoting:
                if lines and lines[-1].rstrip().endswith(":"):
                    lines.pop()
                lines.append("[...]")
            quoting = True
            continue
        quoting = False
        lines.append(line)
    s = _WS.sub(" ", " ".join(lines)).strip()
    return s[:MAX_CHARS]
