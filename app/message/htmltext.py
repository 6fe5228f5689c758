"""HTML → plain text, for search indexing and previews (not for display; webmail sanitizes).

Block elements become line breaks, table cells spaces, inline elements vanish (so
``<b>a</b><i>b</i>`` reads "ab"), character references are decoded (``html.unescape``), and
``head``/``title``/``script``/``style`` contents and comments are dropped. With
``quote_marks``, text inside ``<blockquote>`` gets a leading ``>`` per line, as quoted plain text
has, so the preview can replace it. Every step is a forward scan: linear in the input.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*>|<[!?][^<>]*>")  # elements; doctype, PIs
_HIDDEN = re.compile(r"<(script|style|head|title)\b|<!--", re.I)
_HIDDEN_END = {t: re.compile(rf"</{t}\b[^<>]{{0,100}}>?", re.I) for t in ("script", "style", "head", "title")}
_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "body",
        "html",
    ]
)
_CELL = frozenset(("td", "th"))


def _drop_hidden(s: str) -> str:
    out: list[str] = []
    pos = 0
    while (m := _HIDDEN.search(s, pos)) is not None:
        out.append(s[pos : m.start()])
        if m.group(1) is None:  # comment
            end = s.find("-->", m.end())
            pos = len(s) if end < 0 else end + 3
            continue
        em = _HIDDEN_END[m.group(1).lower()].search(s, m.end())
        if em is None:
            pos = len(s)
            break
        pos = em.end()
    out.append(s[pos:])
    return "".join(out)


def html_to_text(s: str, quote_marks: bool = False) -> str:
    """Text of an HTML document (see the module docstring)."""
    s = _drop_hidden(s)
    out: list[str] = []
    depth = 0
    pos = 0

    def text(seg: str) -> None:
        seg = html.unescape(seg)
        if quote_marks and depth > 0:
            seg = "\n".join("> " + line if line.strip() else line for line in seg.split("\n"))
        out.append(seg)

    for m in _TAG.finditer(s):
        text(s[pos : m.start()])
        pos = m.end()
        if m.group(2) is None:
            continue
        name = m.group(2).lower()
        if name == "blockquote":
            depth = max(0, depth + (-1 if m.group(1) else 1))
        if name in _BLOCK:
            out.append("\n")
        elif name in _CELL:
            out.append(" ")
    text(s[pos:])
    return "".join(out)
