"""Typed DNS answers: a result wrapper with the DNSSEC ``authentic`` flag and record types.

``authentic`` is the AD bit of the answer from a validating recursive resolver (RFC 4035 §3.2.3,
RFC 6840 §5.8); we never validate ourselves, as mox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Result(Generic[T]):
    """The records of one lookup, whether the answer was DNSSEC-authentic, and its remaining TTL."""

    records: list[T]
    authentic: bool = False
    ttl: int = 0
    # Names followed through CNAMEs before the records were found (first is the asked name's target).
    cnames: list[str] = field(default_factory=list)


@dataclass(frozen=True, order=True)
class MX:
    """One MX record (RFC 5321 §5.1): lower preference first. ``host`` has no trailing dot;
    an empty host is the null MX of RFC 7505."""

    pref: int
    host: str


@dataclass(frozen=True)
class SRV:
    """One SRV record (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class TLSA:
    """One TLSA record (RFC 6698 §2.1): usage, selector, matching type and association data."""

    usage: int
    selector: int
    mtype: int
    data: bytes

    def text(self) -> str:
        """The record in presentation format (``3 1 1 abcd...``)."""
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"
