"""Domain names and addresses as the configuration uses them.

Domains are compared in their ASCII form: lower case, internationalized labels as IDNA A-labels
(RFC 5890/5891, via the ``idna`` package with UTS #46 mapping), no trailing dot. Addresses in
domains.conf are ``localpart@domain``, ``@domain`` (catchall) or, deprecated, a bare localpart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")


def normalize_domain(name: str) -> str:
    """The ASCII lower-case form of a domain name; ValueError when it is not a valid name.

    Accepts U-labels (``bücher.example``) and A-labels (``xn--bcher-kva.example``).
    """
    s = name.strip()
    if s.endswith("."):
        s = s[:-1]
    if not s or s != name.strip().rstrip("."):
        raise ValueError(f"invalid domain name {name!r}")
    if not s.isascii():
        try:
            s = idna.encode(s, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise ValueError(f"invalid internationalized domain name {name!r}: {e}") from None
    s = s.lower()
    if len(s) > 253:
        raise ValueError(f"domain name {name!r} too long")
    for label in s.split("."):
        if not _LABEL.match(label):
            raise ValueError(f"invalid label {label!r} in domain name {name!r}")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError as e:
                raise ValueError(f"invalid A-label {label!r} in domain name {name!r}: {e}") from None
    return s


def unicode_domain(ascii_name: str) -> str:
    """The Unicode form of a normalized domain name, for display."""
    try:
        return str(idna.decode(ascii_name))
    except idna.IDNAError:
        return ascii_name


_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+\Z")


def check_localpart(lp: str) -> None:
    """Raise ValueError unless lp is a usable local part: a dot-atom (RFC 5322 section 3.2.3,
    with UTF-8 per RFC 6531) or text that can be written as a quoted string."""
    if not lp:
        raise ValueError("empty local part")
    if len(lp.encode("utf-8")) > 64:
        raise ValueError(f"local part {lp!r} longer than 64 bytes")
    if all(_ATEXT.match(atom) for atom in lp.split(".")):
        return
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in lp):
        raise ValueError(f"control character in local part {lp!r}")


def address_key(localpart: str, domain: str) -> str:
    """The lookup key of an address: ``lp@domain``, with an empty local part written as ``""``
    so that it differs from the catchall key ``@domain``."""
    return (localpart or '""') + "@" + domain


@dataclass(frozen=True)
class ConfigAddress:
    """An address from the config split up: local part (unquoted), normalized domain, and
    whether it is a catchall (``@domain``, no local part at all)."""

    localpart: str
    domain: str
    catchall: bool = False

    @property
    def key(self) -> str:
        """``@domain`` for a catchall, else ``address_key(localpart, domain)``."""
        return f"@{self.domain}" if self.catchall else address_key(self.localpart, self.domain)

    def __str__(self) -> str:
        return self.key


def parse_address(addr: str) -> ConfigAddress:
    """Parse ``localpart@domain``, ``"quoted"@domain`` or ``@domain`` (catchall); ValueError on bad input."""
    lp, at, dom = addr.rpartition("@")
    if not at:
        raise ValueError(f"address {addr!r} has no @")
    if not lp:
        return ConfigAddress("", normalize_domain(dom), catchall=True)
    if lp.startswith('"') and lp.endswith('"') and len(lp) >= 2:
        lp = lp[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in lp):
            raise ValueError(f"control character in local part of {addr!r}")
    else:
        check_localpart(lp)
    return ConfigAddress(lp, normalize_domain(dom))
