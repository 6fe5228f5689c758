"""Compact, versioned serialization of a Part tree, as the store keeps it with each message.

Format version 1: ``b"P1"`` followed by JSON: a list of rows, one per part in pre-order, each row
the part's fields plus its number of children and whether the children are a nested message.
Flat rows keep both directions iterative, so 10,000-level trees need no recursion.
"""

from __future__ import annotations

import json

from app.message.part import Part

MAGIC = b"P1"


def _children(p: Part) -> list[Part]:
    return [p.message] if p.message is not None else p.parts


def dump(root: Part) -> bytes:
    rows: list[list[object]] = []
    stack = [root]
    while stack:
        p = stack.pop()
        kids = _children(p)
        rows.append(
            [
                p.header_start,
                p.body_start,
                p.body_end,
                p.media_type,
                p.media_subtype,
                p.params or 0,
                p.disposition,
                p.disposition_params or 0,
                p.language or 0,
                p.location,
                p.content_id,
                p.description,
                p.cte,
                p.md5,
                p.lines,
                p.defects or 0,
                1 if p.has_content_type else 0,
                len(kids),
                1 if p.message is not None else 0,
            ]
        )
        stack.extend(reversed(kids))
    return MAGIC + json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load(b: bytes) -> Part:
    """Inverse of ``dump``; raises ValueError on data it does not understand."""
    if not b.startswith(MAGIC):
        raise ValueError("unknown parsed-message format")
    try:
        return _load(json.loads(b[len(MAGIC) :]))
    except (IndexError, TypeError, KeyError, AttributeError, RecursionError) as e:
        raise ValueError(f"bad parsed-message data: {e}") from None


def _load(rows: object) -> Part:
    if not isinstance(rows, list) or not rows:
        raise ValueError("bad parsed-message data")
    root: Part | None = None
    stack: list[list[object]] = []  # [part, remaining children, children are a message]
    for r in rows:
        p = Part(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5] or {},
            r[6],
            r[7] or {},
            r[8] or [],
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
            r[14],
            [],
            None,
            r[15] or [],
            bool(r[16]),
        )
        if stack:
            top = stack[-1]
            parent = top[0]
            assert isinstance(parent, Part)
            if top[2]:
                parent.message = p
            else:
                parent.parts.append(p)
            top[1] = int(top[1]) - 1  # type: ignore[call-overload]
        else:
            if root is not None:
                raise ValueError("bad parsed-message data: several roots")
            root = p
        if int(r[17]) < 0:
            raise ValueError("bad parsed-message data: negative count")
        if r[17]:
            stack.append([p, int(r[17]), bool(r[18])])
        while stack and stack[-1][1] == 0:
            stack.pop()
    if root is None or stack:
        raise ValueError("bad parsed-message data: truncated")
    return root
