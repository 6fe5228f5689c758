"""sconf reader/writer: vectors, errors with line numbers, round trips (incl. Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import sconf
from app.config.errors import ConfigError
from app.config.sconf import Mapping, Scalar, Sequence


def plain(node: sconf.Node) -> object:
    """A tree as plain Python values, for comparisons."""
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Sequence):
        return [plain(n) for n in node.items]
    return {k: plain(v) for k, v in node.entries.items()}


GOOD = [
    ("Key: value\n", {"Key": "value"}),
    ("Key: value with: colon and # hash\n", {"Key": "value with: colon and # hash"}),
    ("A: 1\nB: true\n", {"A": "1", "B": "true"}),
    ("# comment\n\nA: 1\n\t# indented comment\n", {"A": "1"}),
    ("Outer:\n\tInner: x\n\tOther: y\n", {"Outer": {"Inner": "x", "Other": "y"}}),
    ("L:\n\t- a\n\t- b\n", {"L": ["a", "b"]}),
    ("L:\n\t-\n\t\tK: v\n\t\tJ: w\n\t-\n\t\tK: z\n", {"L": [{"K": "v", "J": "w"}, {"K": "z"}]}),
    ("Empty:\nNext: 1\n", {"Empty": "", "Next": "1"}),
    ("Trailing: \n", {"Trailing": ""}),
    ("Spaces:   two leading\n", {"Spaces": "  two leading"}),
    ("M:\n\tmox@localhost: nil\n", {"M": {"mox@localhost": "nil"}}),
    ("Deep:\n\tA:\n\t\tB:\n\t\t\t- x\nTop: 2\n", {"Deep": {"A": {"B": ["x"]}}, "Top": "2"}),
    ("CRLF: yes\r\nB: 1\r\n", {"CRLF": "yes", "B": "1"}),
    ("", {}),
    ("# only a comment\n", {}),
]


@pytest.mark.parametrize(("text", "want"), GOOD)
def test_parse_vectors(text: str, want: object) -> None:
    assert plain(sconf.parse(text, "t.conf")) == want


BAD = [
    ("A: 1\n  B: 2\n", 2, "tabs only"),
    ("A:\n    B: 2\n", 2, "tabs only"),
    ("A:\n\t B: 2\n", 2, "tabs only"),
    ("\tA: 1\n", 1, "indented"),
    ("A: 1\n\tB: 2\n", 2, "unexpected indentation"),
    ("A\n", 1, "missing colon"),
    ("A:1\n", 1, "missing space after colon"),
    ("A: 1\nA: 2\n", 2, "duplicate key"),
    ("L:\n\t-a\n", 2, "missing space after '-'"),
    ("L:\n\t- a\n\tK: v\n", 3, "key among list items"),
    ("M:\n\tK: v\n\t- a\n", 3, "list item among keys"),
    ("- a\n", 1, "top level"),
    (": v\n", 1, "empty key"),
    ("# c\n\nOk: 1\n\nL:\n\t- x\n\t\t- y\n", 7, "unexpected indentation"),
    ("A:\n\t\t\tB: 1\n\tC: 2\n", 3, "unexpected indentation"),
]


@pytest.mark.parametrize(("text", "line", "msg"), BAD)
def test_parse_errors_name_line(text: str, line: int, msg: str) -> None:
    with pytest.raises(ConfigError) as ei:
        sconf.parse(text, "bad.conf")
    assert ei.value.line == line
    assert ei.value.file == "bad.conf"
    assert msg in str(ei.value)
    assert str(ei.value).startswith(f"bad.conf:{line}: ")


def test_overindented_map_block_is_marked() -> None:
    # mox's parser accepts a map indented two tabs deeper; the typed layer decides.
    m = sconf.parse("A:\n\t\tB: 2\nC: 3\n")
    a = m.entries["A"]
    assert isinstance(a, Mapping) and a.overindent_line == 2
    assert plain(m) == {"A": {"B": "2"}, "C": "3"}
    assert sconf.write(m) == "A:\n\tB: 2\nC: 3\n"


def test_line_numbers_kept() -> None:
    text = "# c\nA: 1\n\nB:\n\tC: x\n\tL:\n\t\t- y\n"
    m = sconf.parse(text)
    assert m.key_lines == {"A": 2, "B": 4}
    b = m.entries["B"]
    assert isinstance(b, Mapping)
    assert b.key_lines == {"C": 5, "L": 6}
    lst = b.entries["L"]
    assert isinstance(lst, Sequence)
    assert lst.items[0].line == 7


def test_write_round_trip() -> None:
    text = "A: 1\nB:\n\tC: x\n\tL:\n\t\t- y\n\t\t-\n\t\t\tK: v\nD: with: colon\n"
    assert sconf.write(sconf.parse(text)) == text


def test_write_refuses_unrepresentable() -> None:
    with pytest.raises(ValueError):
        sconf.write(Mapping({"A": Scalar("two\nlines")}))
    with pytest.raises(ValueError):
        sconf.write(Mapping({"a:b": Scalar("x")}))
    with pytest.raises(ValueError):
        sconf.write(Mapping({"- x": Scalar("x")}))


# Hypothesis: writer -> reader gives back the same tree.
_keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters=":\t\n\r"),
    min_size=1,
    max_size=12,
).filter(lambda k: k == k.strip() and not k.startswith(("-", "#")))
_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\n\r"),
    min_size=1,
    max_size=20,
).filter(lambda v: v.strip() != "")


def _trees(depth: int = 3) -> st.SearchStrategy[object]:
    return st.recursive(
        _values,
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=4),
            st.dictionaries(_keys, children, min_size=1, max_size=4),
        ),
        max_leaves=12,
    )


def _build(v: object) -> sconf.Node:
    if isinstance(v, str):
        return Scalar(v)
    if isinstance(v, list):
        return Sequence([_build(x) for x in v])
    assert isinstance(v, dict)
    return Mapping({k: _build(x) for k, x in v.items()})


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _trees(), min_size=1, max_size=5))
def test_hypothesis_write_read_round_trip(tree: dict[str, object]) -> None:
    node = _build(tree)
    assert isinstance(node, Mapping)
    text = sconf.write(node)
    assert plain(sconf.parse(text)) == tree
    # Writing what was read gives the same text again.
    assert sconf.write(sconf.parse(text)) == text


_line_pieces = st.sampled_from(
    ["\t", "  ", "Key", "Domains", "Accounts", ":", ": ", "-", "- ", "#", "x", "nil", "\n", "é", "\r"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line_pieces, max_size=40).map("".join))
def test_hypothesis_garbage_only_raises_config_error(text: str) -> None:
    from app.config import schema
    from app.config.domains import Dynamic

    try:
        sconf.parse(text, "fuzz.conf")
    except ConfigError as e:
        assert e.file == "fuzz.conf"
    try:
        schema.parse_as(Dynamic, text, "fuzz.conf")
    except ConfigError:
        pass
