"""Go-style durations: parsing and Go's Duration.String formatting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import format_duration, parse_duration
from app.config.duration import format_duration_ns, parse_duration_ns


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("72h", 72 * 3600.0),
        ("72h0m0s", 72 * 3600.0),
        ("1h30m", 5400.0),
        ("1h30m0s", 5400.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        ("2m3.5s", 123.5),
        ("-1m", -60.0),
        ("+15s", 15.0),
        ("1us", 1e-6),
        ("1µs", 1e-6),
        ("3ns", 3e-9),
        (".5h", 1800.0),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "h", "1", "1d", "s1", "1h ", " 1h", "1H", "--1s", "."])
def test_parse_bad(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (72 * 3600, "72h0m0s"),
        (5400, "1h30m0s"),
        (1.5, "1.5s"),
        (0.5, "500ms"),
        (123.5, "2m3.5s"),
        (-60, "-1m0s"),
        (1e-6, "1µs"),
        (1.5e-6, "1.5µs"),
        (86400 * 7, "168h0m0s"),
    ],
)
def test_format_like_go(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_ns_round_trip(ns: int) -> None:
    assert parse_duration_ns(format_duration_ns(ns)) == ns
