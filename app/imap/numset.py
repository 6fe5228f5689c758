"""IMAP sequence sets (RFC 9051 section 9, "sequence-set"), including "*" for the largest
number in use and "$" for the saved search result (RFC 5182, SEARCHRES).

A set is kept as written (ranges with "*" unresolved) and resolved against a mailbox when
used, so that huge ranges such as 1:4294967295 never expand into lists.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

STAR = 0  # the value used for "*" inside a range; real numbers are >= 1


class NumSetError(ValueError):
    """A syntactically invalid sequence set."""


@dataclass(frozen=True)
class NumSet:
    """A parsed sequence set: ranges of (first, last) where STAR (0) means "*", or "$"."""

    ranges: tuple[tuple[int, int], ...] = ()
    search_result: bool = False

    @classmethod
    def parse(cls, text: str) -> NumSet:
        if text == "$":
            return cls((), True)
        if not text:
            raise NumSetError("empty sequence set")
        out: list[tuple[int, int]] = []
        for part in text.split(","):
            if ":" in part:
                a, _sep, b = part.partition(":")
                if ":" in b:
                    raise NumSetError(f"bad range {part!r}")
                out.append((_num(a), _num(b)))
            else:
                v = _num(part)
                out.append((v, v))
        return cls(tuple(out), False)

    @classmethod
    def from_numbers(cls, nums: Sequence[int]) -> NumSet:
        """A compact set for ascending or unordered numbers (for responses like COPYUID)."""
        return cls(tuple(compact(nums)), False)

    def __str__(self) -> str:
        if self.search_result:
            return "$"
        return ",".join(_fmt_range(a, b) for a, b in self.ranges)

    def resolved(self, largest: int) -> list[tuple[int, int]]:
        """Ranges with "*" replaced by largest and each range ordered low..high.

        With an empty mailbox (largest 0), "*" stands for nothing; ranges that use it drop out.
        """
        out: list[tuple[int, int]] = []
        for a, b in self.ranges:
            if a == STAR or b == STAR:
                if largest == 0:
                    continue
                a = largest if a == STAR else a
                b = largest if b == STAR else b
            lo, hi = (a, b) if a <= b else (b, a)
            out.append((lo, hi))
        return out

    def contains(self, n: int, largest: int) -> bool:
        return any(lo <= n <= hi for lo, hi in self.resolved(largest))

    def select(self, sorted_nums: Sequence[int]) -> list[int]:
        """The members of an ascending list that are in the set, ascending and without duplicates.

        This is how a UID set applies to a mailbox: "*" is the largest UID present, and the
        cost is proportional to the matches, not to the width of the ranges.
        """
        if not sorted_nums:
            return []
        largest = sorted_nums[-1]
        picked: set[int] = set()
        result: list[int] = []
        for lo, hi in self.resolved(largest):
            i = bisect.bisect_left(sorted_nums, lo)
            j = bisect.bisect_right(sorted_nums, hi)
            if j - i == len(sorted_nums) and not picked:
                return list(sorted_nums)
            for v in sorted_nums[i:j]:
                if v not in picked:
                    picked.add(v)
                    result.append(v)
        result.sort()
        return result

    def seq_indexes(self, count: int) -> list[int]:
        """Message sequence numbers (1-based) in the set for a mailbox of count messages.

        Raises NumSetError when a number is beyond count (RFC 9051 section 6.4.4 calls a
        sequence number that does not exist an error).
        """
        out: set[int] = set()
        for lo, hi in self.resolved(count):
            if hi > count or lo < 1:
                raise NumSetError("message sequence number out of range")
            out.update(range(lo, hi + 1))
        return sorted(out)


def _num(s: str) -> int:
    if s == "*":
        return STAR
    if not s.isdigit() or not s.isascii() or s[0] == "0":
        raise NumSetError(f"bad number {s!r} in sequence set")
    v = int(s)
    if v > 0xFFFFFFFF:
        raise NumSetError("number in sequence set too large")
    return v


def _fmt_range(a: int, b: int) -> str:
    fa = "*" if a == STAR else str(a)
    if a == b:
        return fa
    return fa + ":" + ("*" if b == STAR else str(b))


def compact(nums: Sequence[int]) -> list[tuple[int, int]]:
    """Ranges covering the given numbers, in order (duplicates merged)."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(nums)):
        if out and out[-1][1] + 1 == n:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def format_numbers(nums: Sequence[int]) -> str:
    """A compact sequence-set string for numbers in the given order, keeping the order.

    Used for COPYUID/APPENDUID where source and destination lists must correspond.
    """
    out: list[tuple[int, int]] = []
    for n in nums:
        if out and out[-1][1] + 1 == n:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return ",".join(_fmt_range(a, b) for a, b in out)
