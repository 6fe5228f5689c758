"""Domain names in both forms: A-label (ASCII, "xn--...") and U-label (Unicode), IDNA 2008.

Conversion uses the ``idna`` package (RFC 5890-5893) with UTS #46 mapping for input, as mail
clients type domains in mixed case and compatibility forms. Names are compared in their ASCII
form, lower case. A trailing dot, empty labels, labels over 63 octets and names over 253 octets
are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import idna

_LDH = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


class DomainError(ValueError):
    """A domain name that is not valid (syntax or IDNA)."""


@dataclass(frozen=True)
class Domain:
    """A domain name; ``ascii`` is the lower-case A-label form, ``unicode`` the U-label form.

    ``unicode`` equals ``ascii`` for names without IDN labels. Equality and hashing use ``ascii``.
    """

    ascii: str
    unicode: str

    def __str__(self) -> str:
        return self.unicode

    def name(self, smtputf8: bool = True) -> str:
        """The form to put on the wire: U-labels when SMTPUTF8 is in use, else A-labels."""
        return self.unicode if smtputf8 else self.ascii

    @property
    def is_idn(self) -> bool:
        return self.ascii != self.unicode

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Domain) and other.ascii == self.ascii

    def __hash__(self) -> int:
        return hash(self.ascii)


@lru_cache(maxsize=4096)
def parse_domain(s: str) -> Domain:
    """Parse a domain in either form; raises DomainError.

    Results are cached (a server sees the same few domains over and over; ``Domain`` is
    immutable, and errors are not cached)."""
    if not s or len(s) > 255 or s.endswith(".") or s.startswith("."):
        raise DomainError(f"invalid domain {s[:80]!r}")
    if s.isascii() and "xn--" not in s.lower():
        a = s.lower()
        _check_ascii(a, s)
        return Domain(a, a)
    try:
        a = idna.encode(s, uts46=True).decode("ascii").lower()
        u = idna.decode(a)
    except (idna.IDNAError, UnicodeError) as e:
        raise DomainError(f"invalid internationalized domain {s[:80]!r}: {e}") from None
    _check_ascii(a, s)
    return Domain(a, u)


def _check_ascii(a: str, orig: str) -> None:
    if len(a) > 253:
        raise DomainError(f"domain too long: {orig[:80]!r}")
    for label in a.split("."):
        if not _LDH.match(label):
            raise DomainError(f"invalid label {label[:70]!r} in domain {orig[:80]!r}")
