"""Annotated configuration templates (``moxpy config describe-static`` / ``describe-domains``).

The templates are generated from the schema: every field with its description, whether it is
optional, and a zero value; maps show one example key ``x`` and lists one example item. The
output is valid sconf (it parses with ``sconf.parse``) and maps onto the typed classes.
"""

from __future__ import annotations

import dataclasses
import textwrap
import typing
from typing import Any, get_args, get_origin

from app.config.duration import Duration
from app.config.schema import hints, is_optional_type

HEADER = (
    "# This file is in sconf format: indent with tabs only, one 'Key: value' per line,\n"
    "# comments on their own lines starting with #, list items starting with '-'. Values are\n"
    "# not quoted or escaped. Durations are written like 30s, 15m, 72h or 1h30m.\n"
)


def _zero_text(tp: Any) -> str:
    if tp is bool:
        return " false"
    if tp is int:
        return " 0"
    if tp is float:
        return " 0.000000"
    if tp is Duration:
        return " 0s"
    return ""


def _comment(out: list[str], ind: str, doc: str, optional: bool) -> None:
    text = doc.strip()
    if optional:
        text = f"{text} (optional)" if text else "(optional)"
    if not text:
        return
    out.append("\n")
    for line in textwrap.wrap(text, width=max(40, 80 - 2 - 4 * len(ind))):
        out.append(f"{ind}# {line}\n")


def _value(out: list[str], tp: Any, depth: int) -> None:
    """Write the rest of a line after ``Key:`` or ``-`` (and any nested lines) for type tp."""
    _, tp = is_optional_type(tp)
    origin = get_origin(tp)
    ind = "\t" * (depth + 1)
    if origin is list:
        (elem,) = get_args(tp)
        out.append("\n")
        out.append(f"{ind}-")
        _value(out, elem, depth + 1)
    elif origin is dict:
        _, elem = get_args(tp)
        out.append("\n")
        out.append(f"{ind}x:")
        _value(out, elem, depth + 1)
    elif dataclasses.is_dataclass(tp):
        out.append("\n")
        _fields(out, typing.cast(type, tp), depth + 1)
    else:
        out.append(_zero_text(tp) + "\n")


def _fields(out: list[str], cls: type, depth: int) -> None:
    ind = "\t" * depth
    h = hints(cls)
    for f in dataclasses.fields(cls):
        _comment(out, ind, f.metadata.get("doc", ""), bool(f.metadata.get("optional", True)))
        out.append(f"{ind}{f.name}:")
        _value(out, h[f.name], depth)


def describe(cls: type, title: str) -> str:
    """The annotated template of a top-level configuration class."""
    out = [HEADER, f"#\n# {title}\n"]
    _fields(out, cls, 0)
    return "".join(out)


def describe_static() -> str:
    from app.config.static import Static

    return describe(Static, "mox.conf: static configuration, read at start-up (a restart applies changes).")


def describe_domains() -> str:
    from app.config.domains import Dynamic

    return describe(
        Dynamic, "domains.conf: domains and accounts, reloaded automatically when the file changes."
    )
