"""Address lookup for delivery: which account (and which destination) an address belongs to,
following mox's rules:

- the local part is canonicalized per domain: everything from the first catchall separator
  (``LocalpartCatchallSeparator(s)``, e.g. ``+``) on is dropped, and it is lower-cased unless
  the domain has ``LocalpartCaseSensitive``;
- ``postmaster`` (any case) at the host name, a listener host name, or a domain without its own
  postmaster address goes to the ``Postmaster`` account and mailbox of mox.conf;
- an exact destination wins; an alias address is not an account address (see ``lookup_alias``);
- otherwise a catchall destination ``@domain`` of the domain matches;
- disabled and unknown domains match nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config.accounts import Account, Destination
from app.config.domains import Alias, Domain
from app.config.names import address_key, normalize_domain


@dataclass(frozen=True)
class AddressMatch:
    """The account an address delivers to.

    ``key`` is the destination's key in domains.conf (``mox@localhost``, ``@example.org``), or
    the generated address for implicit destinations (postmaster, DMARC/TLS report addresses).
    ``canonical`` is the canonical address that matched (``@domain`` for a catchall).
    """

    account: str
    key: str
    destination: Destination
    canonical: str


@dataclass(frozen=True)
class AliasMatch:
    """An alias address: its domain (normalized), local part and configuration."""

    domain: str
    localpart: str
    alias: Alias

    @property
    def address(self) -> str:
        return f"{self.localpart}@{self.domain}"


@dataclass
class Index:
    """Lookup tables derived from one validated (static, dynamic) pair; never mutated after build."""

    hostname: str = ""
    postmaster_account: str = ""
    postmaster_mailbox: str = ""
    postmaster_domains: set[str] = field(default_factory=set)
    domains: dict[str, str] = field(default_factory=dict)  # normalized -> key in Dynamic.Domains
    domain_configs: dict[str, Domain] = field(default_factory=dict)  # normalized -> Domain
    destinations: dict[str, AddressMatch] = field(default_factory=dict)  # canonical address -> match
    aliases: dict[str, AliasMatch] = field(default_factory=dict)  # canonical address -> alias
    accounts: dict[str, Account] = field(default_factory=dict)


def separators(d: Domain) -> list[str]:
    """The effective catchall separators of a domain."""
    if d.LocalpartCatchallSeparators:
        return [s for s in d.LocalpartCatchallSeparators if s]
    return [d.LocalpartCatchallSeparator] if d.LocalpartCatchallSeparator else []


def canonical_localpart(localpart: str, d: Domain) -> str:
    """The local part used for matching: cut at the first catchall separator, lower-cased
    unless the domain is case-sensitive."""
    for sep in separators(d):
        localpart = localpart.split(sep, 1)[0]
    if not d.LocalpartCaseSensitive:
        localpart = localpart.lower()
    return localpart


def _domain(domain: str) -> str | None:
    try:
        return normalize_domain(domain)
    except ValueError:
        return None


def lookup_address(
    ix: Index, localpart: str, domain: str, allow_postmaster: bool = True
) -> AddressMatch | None:
    """The account destination for localpart@domain, or None (unknown, disabled, or an alias)."""
    dom = _domain(domain)
    if dom is None:
        return None
    is_postmaster = localpart.lower() == "postmaster"
    postmaster = AddressMatch(
        ix.postmaster_account, "postmaster", Destination(Mailbox=ix.postmaster_mailbox), "postmaster"
    )
    if is_postmaster and dom in ix.postmaster_domains:
        return postmaster if allow_postmaster else None
    d = ix.domain_configs.get(dom)
    if d is None:
        # The host name need not be a configured domain; its implicit destinations still apply.
        return ix.destinations.get(address_key(localpart.lower(), dom)) if dom == ix.hostname else None
    if d.Disabled:
        return None
    canonical = address_key(canonical_localpart(localpart, d), dom)
    if canonical in ix.aliases:
        return None
    m = ix.destinations.get(canonical)
    if m is not None:
        return m
    m = ix.destinations.get(f"@{dom}")
    if m is not None:
        return m
    if is_postmaster and allow_postmaster:
        return postmaster
    return None


def lookup_alias(ix: Index, localpart: str, domain: str) -> AliasMatch | None:
    """The alias for localpart@domain, or None."""
    dom = _domain(domain)
    if dom is None:
        return None
    d = ix.domain_configs.get(dom)
    if d is None or d.Disabled:
        return None
    return ix.aliases.get(address_key(canonical_localpart(localpart, d), dom))
