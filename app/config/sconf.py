"""Reader and writer for sconf, the configuration file format of mox (github.com/mjl-/sconf).

The format, in short:

- one ``Key: value`` per line; ``Key:`` alone opens a nested block indented one tab deeper;
- indentation is tabs only (a space where a tab is expected is an error);
- lists are items starting with ``-``: ``- value`` for a scalar, ``-`` alone followed by a
  nested block for a structure;
- ``#`` starts a comment, only on a line of its own; empty lines are ignored;
- values are not quoted or escaped: everything after ``": "`` up to the end of the line;
- a map value of ``nil`` means "the zero value".

This module only knows the shape (scalars, maps, lists) and line numbers; the typed
mapping onto dataclasses lives in ``schema.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config.errors import ConfigError


@dataclass
class Scalar:
    """A single value; ``line`` is where it was read (0 when built in memory)."""

    value: str
    line: int = 0


@dataclass
class Mapping:
    """Keys with nested nodes, in file order. ``line`` is the line of the key that opened it."""

    entries: dict[str, Node] = field(default_factory=dict)
    line: int = 0
    key_lines: dict[str, int] = field(default_factory=dict)
    # Line of the first entry when the block is indented more than one tab deeper than its key
    # (0 otherwise). mox's own parser accepts that for maps but not for structs or lists, so
    # the typed layer decides.
    overindent_line: int = 0


@dataclass
class Sequence:
    """A list of ``-`` items."""

    items: list[Node] = field(default_factory=list)
    line: int = 0
    overindent_line: int = 0


Node = Scalar | Mapping | Sequence


class WriteError(ConfigError, ValueError):
    """A value or key that sconf cannot represent (a newline in a value, a colon in a key)."""


@dataclass
class _Line:
    number: int
    depth: int
    text: str  # without the indentation


def _lines(text: str, filename: str) -> list[_Line]:
    out: list[_Line] = []
    for i, raw in enumerate(text.split("\n"), start=1):
        if raw.endswith("\r"):
            raw = raw[:-1]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        depth = len(raw) - len(raw.lstrip("\t"))
        rest = raw[depth:]
        if rest[:1] in (" ", "\v", "\f"):
            raise ConfigError("indentation must use tabs only, found a space", filename, i)
        out.append(_Line(i, depth, rest))
    return out


class _Parser:
    def __init__(self, lines: list[_Line], filename: str) -> None:
        self.lines = lines
        self.pos = 0
        self.filename = filename

    def error(self, msg: str, line: int) -> ConfigError:
        return ConfigError(msg, self.filename, line)

    def peek(self) -> _Line | None:
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def block(self, depth: int, opener_line: int) -> Node:
        """Parse the lines at ``depth`` as one map or list."""
        first = self.peek()
        assert first is not None and first.depth == depth
        if first.text.startswith("-"):
            return self.sequence(depth, opener_line)
        return self.mapping(depth, opener_line)

    def nested(self, depth: int, line: int) -> Node:
        """The value after ``Key:`` or ``-`` without inline value: a deeper block, or empty."""
        nxt = self.peek()
        if nxt is not None and nxt.depth > depth:
            node = self.block(nxt.depth, line)
            if nxt.depth != depth + 1:
                assert not isinstance(node, Scalar)
                node.overindent_line = nxt.number
            return node
        return Scalar("", line)

    def no_deeper(self, depth: int) -> None:
        nxt = self.peek()
        if nxt is not None and nxt.depth > depth:
            raise self.error("unexpected indentation: the line above has a value, not a block", nxt.number)

    def mapping(self, depth: int, opener_line: int) -> Mapping:
        m = Mapping(line=opener_line)
        while (ln := self.peek()) is not None and ln.depth == depth:
            if ln.text.startswith("-"):
                raise self.error("list item among keys: a block holds either keys or - items", ln.number)
            key, colon, rest = ln.text.partition(":")
            if not colon:
                raise self.error(f"expected 'Key: value', missing colon in {ln.text!r}", ln.number)
            if not key:
                raise self.error("empty key", ln.number)
            if key != key.strip():
                raise self.error(f"stray whitespace in key {key!r}", ln.number)
            if key in m.entries:
                raise self.error(f"duplicate key {key!r}", ln.number)
            if rest and not rest.startswith(" "):
                raise self.error(f"missing space after colon of key {key!r}", ln.number)
            self.pos += 1
            value = rest[1:]
            node: Node
            if value:
                self.no_deeper(depth)
                node = Scalar(value, ln.number)
            else:
                node = self.nested(depth, ln.number)
            m.entries[key] = node
            m.key_lines[key] = ln.number
        self.check_dedent(depth)
        return m

    def sequence(self, depth: int, opener_line: int) -> Sequence:
        s = Sequence(line=opener_line)
        while (ln := self.peek()) is not None and ln.depth == depth:
            if not ln.text.startswith("-"):
                raise self.error("key among list items: a block holds either keys or - items", ln.number)
            rest = ln.text[1:]
            if rest and not rest.startswith(" "):
                raise self.error("missing space after '-' of list item", ln.number)
            self.pos += 1
            value = rest[1:]
            if value:
                self.no_deeper(depth)
                s.items.append(Scalar(value, ln.number))
            else:
                s.items.append(self.nested(depth, ln.number))
        self.check_dedent(depth)
        return s

    def check_dedent(self, depth: int) -> None:
        nxt = self.peek()
        if nxt is not None and nxt.depth > depth:
            raise self.error("unexpected indentation", nxt.number)


def parse(text: str, filename: str = "") -> Mapping:
    """Parse sconf text into a tree; raises ConfigError naming file:line for malformed input."""
    lines = _lines(text, filename)
    if not lines:
        return Mapping(line=0)
    p = _Parser(lines, filename)
    if lines[0].depth != 0:
        raise ConfigError("first line is indented", filename, lines[0].number)
    node = p.block(0, 0)
    if not isinstance(node, Mapping):
        raise ConfigError("top level must hold keys, not list items", filename, lines[0].number)
    if p.peek() is not None:  # pragma: no cover - every line at depth 0 is consumed by mapping()
        raise ConfigError("unexpected line", filename, lines[p.pos].number)
    return node


def _check_scalar(value: str, what: str) -> None:
    if "\n" in value or "\r" in value:
        raise WriteError(f"{what}: sconf cannot represent a newline in a value")


def _check_key(key: str) -> None:
    if not key or ":" in key or key != key.strip() or key.startswith(("-", "#")) or "\n" in key:
        raise WriteError(f"key {key!r} cannot be written in sconf")


def _write(node: Node, depth: int, out: list[str]) -> None:
    ind = "\t" * depth
    if isinstance(node, Mapping):
        for key, child in node.entries.items():
            _check_key(key)
            if isinstance(child, Scalar):
                _check_scalar(child.value, key)
                out.append(f"{ind}{key}: {child.value}\n" if child.value else f"{ind}{key}:\n")
            else:
                out.append(f"{ind}{key}:\n")
                _write(child, depth + 1, out)
    elif isinstance(node, Sequence):
        for item in node.items:
            if isinstance(item, Scalar):
                _check_scalar(item.value, "list item")
                out.append(f"{ind}- {item.value}\n" if item.value else f"{ind}-\n")
            else:
                out.append(f"{ind}-\n")
                _write(item, depth + 1, out)
    else:
        raise WriteError("a scalar can only be written as the value of a key or list item")


def write(node: Mapping) -> str:
    """Write a tree as sconf text. Empty maps and lists come out as a bare ``Key:``."""
    out: list[str] = []
    _write(node, 0, out)
    return "".join(out)
