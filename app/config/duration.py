"""Go-style durations as used in mox's config files (``72h``, ``1h30m0s``, ``500ms``).

Parsing follows Go's ``time.ParseDuration``; formatting follows Go's ``Duration.String`` so
that files written by moxpy look like files written by mox.
"""

from __future__ import annotations

import re

_UNITS_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)")
_MAX_NS = (1 << 63) - 1


class Duration(float):
    """A duration in seconds, written to config files in Go's notation."""

    def __repr__(self) -> str:
        return f"Duration({format_duration(self)!r})"


def parse_duration_ns(s: str) -> int:
    """Parse a Go duration into integer nanoseconds; ValueError when malformed."""
    orig = s
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {orig!r}")
    total = 0
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m or m.group(1) in ("", "."):
            raise ValueError(f"invalid duration {orig!r}")
        num, unit = m.group(1), m.group(2)
        if unit not in _UNITS_NS:
            raise ValueError(f"unknown unit {unit!r} in duration {orig!r}")
        whole, _, frac = num.partition(".")
        mult = _UNITS_NS[unit]
        part = int(whole or "0") * mult
        if frac:
            part += int(frac) * mult // (10 ** len(frac))
        total += part
        if total > _MAX_NS:
            raise ValueError(f"invalid duration {orig!r}: too large")
        pos = m.end()
    return -total if neg else total


def parse_duration(s: str) -> float:
    """Parse a Go duration (``1h30m``, ``72h0m0s``, ``250ms``) into seconds."""
    return parse_duration_ns(s) / 1e9


def _frac(v: int, prec: int) -> tuple[str, int]:
    """Format the low ``prec`` digits of v as a fraction without trailing zeros."""
    digits = ""
    printed = False
    for _ in range(prec):
        d = v % 10
        printed = printed or d != 0
        if printed:
            digits = str(d) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def format_duration_ns(ns: int) -> str:
    """Format nanoseconds the way Go's ``time.Duration.String`` does."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < 1_000_000_000:
        if u < 1_000:
            out = f"{u}ns"
        elif u < 1_000_000:
            f, w = _frac(u, 3)
            out = f"{w}{f}µs"
        else:
            f, w = _frac(u, 6)
            out = f"{w}{f}ms"
    else:
        f, w = _frac(u, 9)
        secs = w % 60
        w //= 60
        out = f"{secs}{f}s"
        if w > 0:
            mins = w % 60
            w //= 60
            out = f"{mins}m{out}"
            if w > 0:
                out = f"{w}h{out}"
    return "-" + out if neg else out


def format_duration(seconds: float) -> str:
    """Format seconds as a Go duration string (``72h0m0s``, ``1.5s``, ``0s``)."""
    return format_duration_ns(round(seconds * 1e9))
