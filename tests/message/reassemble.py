"""Test helper: split a message into the byte segments its Part tree describes."""

from __future__ import annotations

import re

from app.message import Part


def segments(data: bytes, root: Part) -> list[tuple[str, bytes]]:
    """(kind, bytes) covering ``data[root.header_start:root.body_end]`` in order.

    Kinds: "header", "body" (leaf body), "delim" (preamble + first delimiter, delimiters between
    parts), "tail" (closing delimiter + epilogue). Asserts the delimiter segments look right.
    """
    out: list[tuple[str, bytes]] = []
    stack: list[tuple[str, object]] = [("part", root)]
    while stack:
        kind, x = stack.pop()
        if kind != "part":
            assert isinstance(x, bytes)
            out.append((kind, x))
            continue
        p = x
        assert isinstance(p, Part)
        out.append(("header", data[p.header_start : p.body_start]))
        if p.message is not None:
            assert p.message.header_start == p.body_start and p.message.body_end == p.body_end
            stack.append(("part", p.message))
        elif p.parts:
            b = re.escape(p.params["boundary"].encode())
            todo: list[tuple[str, object]] = []
            prev = p.body_start
            for i, c in enumerate(p.parts):
                gap = data[prev : c.header_start]
                if i == 0:
                    assert re.fullmatch(rb"(?:.*\n)?--" + b + rb"(?:[ \t][^\n]*)?\r?\n", gap, re.S), gap
                else:
                    assert re.fullmatch(rb"(?:\r?\n)?--" + b + rb"(?:[ \t][^\n]*)?\r?\n", gap), gap
                todo += [("delim", gap), ("part", c)]
                prev = c.body_end
            todo.append(("tail", data[prev : p.body_end]))
            stack.extend(reversed(todo))
        else:
            out.append(("body", data[p.body_start : p.body_end]))
    return out
