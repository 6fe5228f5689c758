"""Message preview text (RFC 8970 PREVIEW): at most 256 characters of the first text part.

The first text/plain or text/html part that is not an attachment is used (HTML as text, with
blockquotes as quotes). Quoted text (lines starting with ``>``, coalesced over blank lines)
becomes ``[...]``, together with the attribution line(s) just before it ("On ... wrote:"); a
signature after ``--`` is dropped; whitespace is collapsed to single spaces, as an IMAP string
wants. Only the first 64 KB of the body are decoded, so a huge part costs little.
"""

from __future__ import annotations

from app.message.decode import decoded_text
from app.message.htmltext import html_to_text
from app.message.part import Buffer, Part

MAX_CHARS = 256
QUOTED = "[...]"


def _candidate(part: Part) -> Part | None:
    """The first text/plain or text/html part that is not an attachment (as mox)."""
    for p in part.walk():
        if p.media_type == "text" and p.media_subtype in ("plain", "html") and p.disposition != "attachment":
            return p
    return None


def _lines(lines: list[str]) -> tuple[list[str], bool]:
    """The kept lines (quotes as QUOTED) and whether a signature ended the text."""
    out: list[str] = []
    for line in lines:
        s = line.strip()
        if s in ("--", "-- "):
            return out, True  # signature
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
    return out, False


def _collapse(lines: list[str]) -> str:
    # str.split() splits on exactly the characters re's \s matches in a str pattern (Unicode
    # whitespace), and drops leading/trailing runs: the same as collapsing runs to " " and strip.
    return " ".join(" ".join(x for x in lines if x).split())


def _settled(out: list[str]) -> list[str]:
    """The lines of ``out`` that later lines can no longer remove: a quote only takes away
    trailing blank lines and at most two attribution lines before them."""
    n = len(out)
    while n and out[n - 1] == "":
        n -= 1
    return out[: max(0, n - 2)]


def _from_text(text: str) -> str:
    # Most messages have far more text than a preview needs: work on a growing prefix of whole
    # lines and stop as soon as the lines that later input cannot change give MAX_CHARS.
    n = 768
    while n < len(text):
        lines = text[:n].splitlines()
        lines.pop()  # may be cut short (or be a "\r" whose "\n" is beyond the prefix)
        out, sig = _lines(lines)
        if sig:
            return _collapse(out)[:MAX_CHARS]
        s = _collapse(_settled(out))
        if len(s) >= MAX_CHARS:
            return s[:MAX_CHARS]
        n *= 4
    return _collapse(_lines(text.splitlines())[0])[:MAX_CHARS]


def preview(data: Buffer, part: Part) -> str:
    """RFC 8970 preview of the message ``part`` parsed from ``data`` ("" when it has no text)."""
    p = _candidate(part)
    if p is None:
        return ""
    text = decoded_text(data, p, limit=64 * 1024)
    if p.media_subtype == "html":
        text = html_to_text(text, quote_marks=True)
    return _from_text(text)
