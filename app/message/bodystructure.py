"""IMAP BODY and BODYSTRUCTURE data (RFC 9051 section 7.5.2) and the IMAP wire form.

The structure is built as nested Python lists (``str``, ``int``, ``None`` for NIL, ``list`` for
parenthesized lists) so the IMAP writer can serialize it; ``imap_string`` does that here too.
Both are iterative, so a message nested 10,000 levels deep does not hit the recursion limit.
Types, subtypes, encodings and parameter names are upper case; a text part without a
Content-Type header gets the RFC 2045 default ``CHARSET US-ASCII``.
"""

from __future__ import annotations

from app.message.envelope import Run, envelope
from app.message.part import Buffer, Part

Item = object


def _params(p: dict[str, str]) -> list[Item] | None:
    out: list[Item] = []
    for k, v in p.items():
        out.extend([k.upper(), v])
    return out or None


def _lang(p: Part) -> Item:
    if not p.language:
        return None
    return p.language[0] if len(p.language) == 1 else list(p.language)


def _disp(p: Part) -> Item:
    return [p.disposition.upper(), _params(p.disposition_params)] if p.disposition else None


def _single(buf: Buffer, p: Part, ext: bool, kids: dict[int, list[Item]]) -> list[Item]:
    params = dict(p.params)
    if p.media_type == "text" and not p.has_content_type and "charset" not in params:
        params["charset"] = "US-ASCII"
    out: list[Item] = [
        p.media_type.upper(),
        p.media_subtype.upper(),
        _params(params),
        p.content_id,
        p.description,
        (p.cte or "7bit").upper(),
        p.size,
    ]
    if p.message is not None:
        out.extend([envelope(buf, p.message).imap(), kids[id(p.message)], p.lines])
    elif p.media_type == "message" and p.media_subtype in ("rfc822", "global"):
        # Not parsed (e.g. base64-encoded): keep the message syntax valid with empty data.
        out.extend(
            [[None] * 10, ["TEXT", "PLAIN", ["CHARSET", "US-ASCII"], None, None, "7BIT", 0, 0], p.lines]
        )
    elif p.media_type == "text":
        out.append(p.lines)
    if ext:
        out.extend([p.md5, _disp(p), _lang(p), p.location])
    return out


def _structure(data: Buffer, part: Part, ext: bool) -> list[Item]:
    buf = data
    order = list(part.walk())
    done: dict[int, list[Item]] = {}
    for p in reversed(order):
        if p.parts:
            out: list[Item] = [Run(done.pop(id(c)) for c in p.parts), p.media_subtype.upper()]
            if ext:
                out.extend([_params(p.params), _disp(p), _lang(p), p.location])
            done[id(p)] = out
        elif p.media_type == "multipart":
            # A multipart without parts: shown as an empty text part, as other servers do.
            empty: list[Item] = ["TEXT", "PLAIN", ["CHARSET", "US-ASCII"], None, None, "7BIT", 0, 0]
            done[id(p)] = empty
        else:
            done[id(p)] = _single(buf, p, ext, done)
            if p.message is not None:
                done.pop(id(p.message), None)
    return done[id(part)]


def bodystructure(data: Buffer, part: Part, extensible: bool = True) -> list[Item]:
    """BODYSTRUCTURE (with extension data) of the message ``part`` parsed from ``data``."""
    return _structure(data, part, extensible)


def body(data: Buffer, part: Part) -> list[Item]:
    """BODY: the structure without extension data."""
    return _structure(data, part, False)


def _string(s: str) -> str:
    if s.isascii() and "\r" not in s and "\n" not in s and "\0" not in s:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    b = s.encode("utf-8")
    return f"{{{len(b)}}}\r\n{s}"


def imap_string(v: Item) -> str:
    """IMAP wire form: NIL, numbers, quoted strings (literals when needed), parenthesized lists.

    A ``list`` is written ``(a b c)``; a ``Run`` is written as its items back to back with no
    parentheses of its own (multipart children, address lists: RFC 9051 ``1*body``, ``1*address``).
    """
    out: list[str] = []
    stack: list[tuple[bool, Item]] = [(False, v)]  # (is literal text, item)
    while stack:
        text, x = stack.pop()
        if text:
            out.append(str(x))
        elif x is None:
            out.append("NIL")
        elif isinstance(x, bool):
            out.append("1" if x else "0")
        elif isinstance(x, int):
            out.append(str(x))
        elif isinstance(x, str):
            out.append(_string(x))
        elif isinstance(x, Run):
            for i in range(len(x) - 1, -1, -1):
                stack.append((False, x[i]))
        elif isinstance(x, list):
            stack.append((True, ")"))
            for i in range(len(x) - 1, -1, -1):
                stack.append((False, x[i]))
                if i > 0:
                    stack.append((True, " "))
            stack.append((True, "("))
        else:
            raise TypeError(f"cannot write {type(x).__name__} as IMAP data")
    return "".join(out)
