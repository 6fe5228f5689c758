"""Typed round trip: generated Static and Dynamic values -> sconf text -> the same values."""

from __future__ import annotations

import dataclasses
from typing import Any, get_args, get_origin

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import schema
from app.config.domains import Dynamic
from app.config.duration import Duration
from app.config.static import Static

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
    max_size=12,
)
_keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs"), blacklist_characters=":"),
    min_size=1,
    max_size=10,
).filter(lambda k: not k.startswith(("-", "#")))


def strategy(tp: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    isopt, inner = schema.is_optional_type(tp)
    if isopt:
        return st.none() | strategy(inner, depth)
    origin = get_origin(tp)
    if origin is list:
        return st.lists(
            strategy(get_args(tp)[0], depth + 1), max_size=2 if depth < 2 else 1 if depth < 4 else 0
        )
    if origin is dict:
        val = strategy(get_args(tp)[1], depth + 1)
        if get_args(tp)[1] is str:
            val = val.filter(lambda v: v != "nil")  # sconf's nil means the zero value
        return st.dictionaries(_keys, val, max_size=2 if depth < 2 else 1 if depth < 4 else 0)
    if dataclasses.is_dataclass(tp):
        hints = schema.hints(tp)  # type: ignore[arg-type]
        fields = {f.name: strategy(hints[f.name], depth + 1) for f in dataclasses.fields(tp)}
        return st.builds(tp, **fields)  # type: ignore[arg-type]
    if tp is Duration:
        return st.integers(min_value=-(10**15), max_value=10**15).map(lambda ns: Duration(ns / 1e9))
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if tp is float:
        return st.floats(allow_nan=False)
    assert tp is str
    return _text


_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(strategy(Static))
def test_static_round_trip(value: Static) -> None:
    text = schema.dump(value)
    got, _ = schema.parse_as(Static, text, "gen")
    assert got == value


@_settings
@given(strategy(Dynamic))
def test_dynamic_round_trip(value: Dynamic) -> None:
    text = schema.dump(value)
    got, _ = schema.parse_as(Dynamic, text, "gen")
    assert got == value
    assert schema.dump(got) == text
