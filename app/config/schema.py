"""Mapping between sconf trees (``sconf.py``) and typed configuration dataclasses.

Every configuration class is a plain dataclass whose attribute names are mox's field names.
Fields are declared with ``opt(doc, default)`` or ``req(doc, default)``: the doc text feeds
``config describe-*``, and required fields must be present in the file (as in sconf, a
required field may still have an empty value). Supported field types: ``str``, ``bool``,
``int``, ``float``, ``Duration``, ``list[T]``, ``dict[str, T]``, ``T | None`` and nested
configuration dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from typing import Any, TypeVar, Union, get_args, get_origin

from app.config import sconf
from app.config.duration import Duration, format_duration, parse_duration
from app.config.errors import ConfigError

T = TypeVar("T")

_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|inf|Inf|NaN)\Z"
)


def _field(doc: str, default: Any, optional: bool) -> Any:
    md = {"doc": doc, "optional": optional}
    if isinstance(default, type):
        return dataclasses.field(default_factory=default, metadata=md)
    return dataclasses.field(default=default, metadata=md)


def opt(doc: str, default: Any) -> Any:
    """An optional field; a class as default (``list``, ``dict``, a dataclass) is a factory."""
    return _field(doc, default, True)


def req(doc: str, default: Any) -> Any:
    """A required field: the key must appear in the file, though its value may be empty."""
    return _field(doc, default, False)


_hints_cache: dict[type, dict[str, Any]] = {}


def hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a configuration dataclass."""
    h = _hints_cache.get(cls)
    if h is None:
        h = typing.get_type_hints(cls)
        _hints_cache[cls] = h
    return h


def is_optional_type(tp: Any) -> tuple[bool, Any]:
    """Whether tp is ``X | None``, and X."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return True, args[0]
    return False, tp


def type_name(tp: Any) -> str:
    """A short human name of a field type, for error messages and templates."""
    isopt, inner = is_optional_type(tp)
    if isopt:
        return type_name(inner)
    origin = get_origin(tp)
    if origin is list:
        return f"list of {type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"map of {type_name(get_args(tp)[1])}"
    if tp is Duration:
        return "duration (like 72h or 1h30m)"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "integer"
    if tp is float:
        return "number"
    if tp is str:
        return "string"
    return "block"


class _Ctx:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[str, int] = {}

    def err(self, msg: str, line: int) -> ConfigError:
        return ConfigError(msg, self.filename, line)


def _where(path: str) -> str:
    return f"{path}: " if path else ""


def _scalar(tp: Any, node: sconf.Node, path: str, ctx: _Ctx) -> Any:
    if not isinstance(node, sconf.Scalar):
        raise ctx.err(f"{_where(path)}expected a {type_name(tp)} value, found a nested block", node.line)
    s = node.value
    if tp is str:
        return s
    if tp is bool:
        if s == "true":
            return True
        if s == "false":
            return False
        raise ctx.err(f"{_where(path)}expected true or false, got {s!r}", node.line)
    if tp is int:
        if not _INT.match(s):
            raise ctx.err(f"{_where(path)}expected an integer, got {s!r}", node.line)
        return int(s)
    if tp is float:
        if not _FLOAT.match(s):
            raise ctx.err(f"{_where(path)}expected a number, got {s!r}", node.line)
        return float(s)
    if tp is Duration:
        try:
            return Duration(parse_duration(s))
        except ValueError:
            raise ctx.err(f"{_where(path)}expected a duration like 72h or 1h30m0s, got {s!r}", node.line)
    raise TypeError(f"unsupported config field type {tp!r}")  # programming error in a schema


def _is_empty_scalar(node: sconf.Node) -> bool:
    return isinstance(node, sconf.Scalar) and node.value == ""


def _value(tp: Any, node: sconf.Node, path: str, ctx: _Ctx) -> Any:
    isopt, inner = is_optional_type(tp)
    if isopt:
        return _value(inner, node, path, ctx)
    origin = get_origin(tp)
    if not isinstance(node, sconf.Scalar) and node.overindent_line and origin is not dict:
        raise ctx.err(
            f"{_where(path)}indented too deep, expected one tab more than the line above",
            node.overindent_line,
        )
    if origin is list:
        if _is_empty_scalar(node):
            return []
        if not isinstance(node, sconf.Sequence):
            raise ctx.err(f"{_where(path)}expected a list of '-' items", node.line)
        (elem,) = get_args(tp)
        items = []
        for i, item in enumerate(node.items):
            ctx.lines[f"{path}[{i}]"] = item.line
            items.append(_value(elem, item, f"{path}[{i}]", ctx))
        return items
    if origin is dict:
        if _is_empty_scalar(node):
            return {}
        if not isinstance(node, sconf.Mapping):
            raise ctx.err(f"{_where(path)}expected a block of 'key: value' lines", node.line)
        _, elem = get_args(tp)
        out: dict[str, Any] = {}
        for k, child in node.entries.items():
            kpath = f"{path}.{k}" if path else k
            ctx.lines[kpath] = node.key_lines.get(k, child.line)
            if isinstance(child, sconf.Scalar) and child.value == "nil":
                out[k] = zero_value(elem)
            else:
                out[k] = _value(elem, child, kpath, ctx)
        return out
    if dataclasses.is_dataclass(tp):
        if isinstance(node, sconf.Scalar) and node.value in ("", "nil"):
            node = sconf.Mapping(line=node.line)
        if not isinstance(node, sconf.Mapping):
            raise ctx.err(f"{_where(path)}expected a nested block of fields", node.line)
        return from_mapping(typing.cast(type, tp), node, path, ctx)
    return _scalar(tp, node, path, ctx)


def zero_value(tp: Any) -> Any:
    """Go's zero value for a field type (what sconf's ``nil`` stands for)."""
    isopt, _ = is_optional_type(tp)
    if isopt:
        return None
    origin = get_origin(tp)
    if origin is list:
        return []
    if origin is dict:
        return {}
    if dataclasses.is_dataclass(tp):
        return typing.cast(type, tp)()
    if tp is Duration:
        return Duration(0)
    return {str: "", bool: False, int: 0, float: 0.0}[tp]


def from_mapping(cls: type[T], node: sconf.Mapping, path: str, ctx: _Ctx) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    h = hints(cls)
    kwargs: dict[str, Any] = {}
    for key, child in node.entries.items():
        f = fields.get(key)
        if f is None:
            near = difflib.get_close_matches(key, list(fields), n=1)
            hint = f", did you mean {near[0]!r}?" if near else ""
            where = f" in {path}" if path else ""
            raise ctx.err(f"unknown field {key!r}{where}{hint}", node.key_lines.get(key, child.line))
        kpath = f"{path}.{key}" if path else key
        ctx.lines[kpath] = node.key_lines.get(key, child.line)
        kwargs[key] = _value(h[key], child, kpath, ctx)
    for name, f in fields.items():
        if name not in kwargs and not f.metadata.get("optional", True):
            where = f" in {path}" if path else ""
            what = type_name(h[name])
            raise ctx.err(f"missing required field {name!r} ({what}){where}", node.line)
    return cls(**kwargs)


def parse_as(cls: type[T], text: str, filename: str) -> tuple[T, dict[str, int]]:
    """Parse sconf text into configuration class cls; ConfigError with file:line on problems.

    Also returns the line of every key, by dotted path (``Accounts.mox.Domain``, list items
    as ``Routes[0]``), so later checks can point at the line they complain about.
    """
    tree = sconf.parse(text, filename)
    ctx = _Ctx(filename)
    return from_mapping(cls, tree, "", ctx), ctx.lines


def is_zero(value: Any) -> bool:
    """Whether a value is its type's zero value, so an optional field holding it is left out."""
    if value is None:
        return True
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    if isinstance(value, (bool, int, float)):
        return not value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        h = hints(type(value))
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            # A present ``X | None`` block is not zero, even when everything in it is.
            if v is not None if is_optional_type(h[f.name])[0] else not is_zero(v):
                return False
        return True
    return False


def format_float(v: float) -> str:
    s = f"{v:f}"
    return s if float(s) == v else repr(v)


def to_node(value: Any, tp: Any) -> sconf.Node:
    """The sconf tree of a typed value."""
    isopt, inner = is_optional_type(tp)
    if isopt:
        return to_node(value, inner)
    origin = get_origin(tp)
    if origin is list:
        (elem,) = get_args(tp)
        return sconf.Sequence([to_node(v, elem) for v in value])
    if origin is dict:
        _, elem = get_args(tp)
        m = sconf.Mapping()
        for k, v in value.items():
            child = to_node(v, elem)
            if isinstance(child, sconf.Mapping) and not child.entries:
                child = sconf.Scalar("nil")
            m.entries[str(k)] = child
        return m
    if dataclasses.is_dataclass(tp):
        return to_mapping(value)
    if tp is bool:
        return sconf.Scalar("true" if value else "false")
    if tp is Duration:
        return sconf.Scalar(format_duration(value))
    if tp is float:
        return sconf.Scalar(format_float(value))
    if tp is int:
        return sconf.Scalar(str(int(value)))
    return sconf.Scalar(str(value))


def to_mapping(obj: Any) -> sconf.Mapping:
    """The sconf tree of a configuration dataclass; optional fields with zero values are left out."""
    m = sconf.Mapping()
    h = hints(type(obj))
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if v is None:
            continue
        # A present-but-empty pointer-like block (``X | None``) is kept: its presence means something.
        if f.metadata.get("optional", True) and not is_optional_type(h[f.name])[0] and is_zero(v):
            continue
        m.entries[f.name] = to_node(v, h[f.name])
    return m


def dump(obj: Any) -> str:
    """sconf text for a configuration dataclass."""
    return sconf.write(to_mapping(obj))
