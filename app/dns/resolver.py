"""The Resolver interface and the typed lookups shared by every implementation.

Every lookup exists twice: ``await r.lookup_txt(name)`` for asyncio code and
``r.lookup_txt_sync(name)`` for synchronous code (pyspf and dkimpy run in worker threads).
Each returns a ``Result`` with ``authentic`` (the AD bit, RFC 4035 §3.2.3) and raises
``DNSNotFound`` (NXDOMAIN), ``DNSNoData`` (empty answer), ``DNSTemporary`` / ``DNSTimeout``
(retry later) or ``DNSPermanent``.

Implementations provide two primitives, ``_query`` and ``_query_sync``, returning the raw
dnspython rdata of one (name, type) question; ``BaseResolver`` turns them into typed lookups.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import dns.name
import dns.rdata
import dns.reversename

from app.dns.errors import DNSError, DNSNoData, DNSNotFound, DNSPermanent, DNSTemporary
from app.dns.records import MX, SRV, TLSA, Result

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class RawAnswer:
    """What a primitive query returns: the rdatas of the asked type at the end of any CNAME chain."""

    rdatas: Sequence[dns.rdata.Rdata]
    authentic: bool
    ttl: int
    cnames: list[str] = field(default_factory=list)


_PLAIN_NAME = re.compile(
    r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?$"
)


def normalize_name(name: str) -> str:
    """Lower-case ASCII (A-label) form of a domain name without trailing dot ("" for the root);
    raises DNSPermanent for names that cannot be valid."""
    low = name.lower()
    if len(low) < 254 and _PLAIN_NAME.match(low) and not low.startswith("xn--") and ".xn--" not in low:
        return low.rstrip(".")  # the common case, without dnspython's slower parsing
    return _normalize_slow(name)


@functools.lru_cache(maxsize=4096)
def _normalize_slow(name: str) -> str:
    try:
        n = dns.name.from_text(name.strip() if name.strip() else ".")
    except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel, ValueError) as e:
        raise DNSPermanent(f"invalid domain name {name!r}: {e}", name=name) from None
    except Exception as e:  # dnspython raises a range of codec errors for bad IDNA input
        raise DNSPermanent(f"invalid domain name {name!r}: {e}", name=name) from None
    if n == dns.name.root:
        return ""  # the root zone; "" is how names are keyed everywhere (no trailing dot)
    return n.to_text(omit_final_dot=True).lower()


def _name_text(n: dns.name.Name) -> str:
    return n.to_text(omit_final_dot=True).lower()


def txt_bytes(rd: dns.rdata.Rdata) -> bytes:
    """The character-strings of one TXT record concatenated (RFC 7208 §3.3, RFC 6376 §3.6.2.2)."""
    return b"".join(rd.strings)  # type: ignore[attr-defined]


def _txt(ans: RawAnswer) -> Result[str]:
    recs = [txt_bytes(rd).decode("utf-8", "replace") for rd in ans.rdatas]
    return Result(recs, ans.authentic, ans.ttl, ans.cnames)


def _txt_raw(ans: RawAnswer) -> Result[bytes]:
    return Result([txt_bytes(rd) for rd in ans.rdatas], ans.authentic, ans.ttl, ans.cnames)


def _mx(ans: RawAnswer) -> Result[MX]:
    recs = sorted(MX(rd.preference, _name_text(rd.exchange)) for rd in ans.rdatas)  # type: ignore[attr-defined]
    return Result(recs, ans.authentic, ans.ttl, ans.cnames)


def _addr(ans: RawAnswer) -> Result[str]:
    return Result([str(rd.address) for rd in ans.rdatas], ans.authentic, ans.ttl, ans.cnames)  # type: ignore[attr-defined]


def _target(ans: RawAnswer) -> Result[str]:
    return Result([_name_text(rd.target) for rd in ans.rdatas], ans.authentic, ans.ttl, ans.cnames)  # type: ignore[attr-defined]


def _tlsa(ans: RawAnswer) -> Result[TLSA]:
    recs = [TLSA(rd.usage, rd.selector, rd.mtype, bytes(rd.cert)) for rd in ans.rdatas]  # type: ignore[attr-defined]
    return Result(recs, ans.authentic, ans.ttl, ans.cnames)


def _srv(ans: RawAnswer) -> Result[SRV]:
    recs = [
        SRV(rd.priority, rd.weight, rd.port, _name_text(rd.target))  # type: ignore[attr-defined]
        for rd in ans.rdatas
    ]
    recs.sort(key=lambda s: (s.priority, -s.weight))
    return Result(recs, ans.authentic, ans.ttl, ans.cnames)


def reverse_name(ip: str | IPAddress) -> str:
    """The in-addr.arpa / ip6.arpa name of an address (RFC 1035 §3.5, RFC 3596 §2.5)."""
    try:
        return _name_text(dns.reversename.from_address(str(ip)))
    except (ValueError, dns.exception.SyntaxError) as e:
        raise DNSPermanent(f"invalid ip address {ip!r}: {e}", name=str(ip), rdtype="PTR") from None


def tlsa_name(port: int, protocol: str, host: str) -> str:
    """``_<port>._<protocol>.<host>`` (RFC 6698 §3)."""
    return f"_{port}._{protocol}.{normalize_name(host)}"


def _combine_ips(name: str, results: list[Result[str] | BaseException]) -> Result[str]:
    """A+AAAA: records if either family had some; else the most telling error."""
    recs: list[str] = []
    authentic = True
    ttls: list[int] = []
    errors: list[BaseException] = []
    for r in results:
        if isinstance(r, BaseException):
            errors.append(r)
            authentic = authentic and isinstance(r, DNSError) and r.authentic
        else:
            recs.extend(r.records)
            authentic = authentic and r.authentic
            ttls.append(r.ttl)
    if recs:
        return Result(recs, authentic, min(ttls) if ttls else 0)
    for e in errors:
        if not isinstance(e, DNSError):
            raise e
    for e in errors:
        if isinstance(e, DNSTemporary):
            raise e
    if any(isinstance(e, DNSNotFound) for e in errors):
        raise DNSNotFound(f"no such domain {name}", name=name, rdtype="A", authentic=authentic)
    if all(isinstance(e, (DNSNoData, DNSNotFound)) for e in errors):
        raise DNSNoData(f"no A/AAAA records for {name}", name=name, rdtype="A", authentic=authentic)
    raise errors[0]


@runtime_checkable
class Resolver(Protocol):
    """What the rest of moxpy uses to ask DNS. See the module docstring for the error contract."""

    async def lookup_txt(self, name: str) -> Result[str]: ...
    async def lookup_txt_raw(self, name: str) -> Result[bytes]: ...
    async def lookup_mx(self, name: str) -> Result[MX]: ...
    async def lookup_ip(self, name: str) -> Result[str]: ...
    async def lookup_a(self, name: str) -> Result[str]: ...
    async def lookup_aaaa(self, name: str) -> Result[str]: ...
    async def lookup_addr(self, ip: str | IPAddress) -> Result[str]: ...
    async def lookup_ptr(self, name: str) -> Result[str]: ...
    async def lookup_cname(self, name: str) -> Result[str]: ...
    async def lookup_ns(self, name: str) -> Result[str]: ...
    async def lookup_srv(self, service: str, proto: str, name: str) -> Result[SRV]: ...
    async def lookup_tlsa(self, port: int, protocol: str, host: str) -> Result[TLSA]: ...
    async def lookup(self, name: str, rdtype: str) -> RawAnswer: ...

    def lookup_txt_sync(self, name: str) -> Result[str]: ...
    def lookup_txt_raw_sync(self, name: str) -> Result[bytes]: ...
    def lookup_mx_sync(self, name: str) -> Result[MX]: ...
    def lookup_ip_sync(self, name: str) -> Result[str]: ...
    def lookup_a_sync(self, name: str) -> Result[str]: ...
    def lookup_aaaa_sync(self, name: str) -> Result[str]: ...
    def lookup_addr_sync(self, ip: str | IPAddress) -> Result[str]: ...
    def lookup_ptr_sync(self, name: str) -> Result[str]: ...
    def lookup_cname_sync(self, name: str) -> Result[str]: ...
    def lookup_ns_sync(self, name: str) -> Result[str]: ...
    def lookup_srv_sync(self, service: str, proto: str, name: str) -> Result[SRV]: ...
    def lookup_tlsa_sync(self, port: int, protocol: str, host: str) -> Result[TLSA]: ...
    def lookup_sync(self, name: str, rdtype: str) -> RawAnswer: ...


class BaseResolver(abc.ABC):
    """Typed lookups on top of two primitives that subclasses implement.

    ``_query_sync(name, rdtype)`` / ``_query(name, rdtype)`` get a normalized name and an upper-case
    type name, follow CNAMEs (except for CNAME questions) and return a non-empty RawAnswer or raise.
    """

    @abc.abstractmethod
    def _query_sync(self, name: str, rdtype: str) -> RawAnswer: ...

    @abc.abstractmethod
    async def _query(self, name: str, rdtype: str) -> RawAnswer: ...

    # Generic.

    def lookup_sync(self, name: str, rdtype: str) -> RawAnswer:
        """Raw lookup of any type (e.g. ``"SPF"``, ``"CAA"``)."""
        return self._query_sync(normalize_name(name), rdtype.upper())

    async def lookup(self, name: str, rdtype: str) -> RawAnswer:
        return await self._query(normalize_name(name), rdtype.upper())

    # Synchronous typed lookups.

    def lookup_txt_sync(self, name: str) -> Result[str]:
        return _txt(self.lookup_sync(name, "TXT"))

    def lookup_txt_raw_sync(self, name: str) -> Result[bytes]:
        return _txt_raw(self.lookup_sync(name, "TXT"))

    def lookup_mx_sync(self, name: str) -> Result[MX]:
        return _mx(self.lookup_sync(name, "MX"))

    def lookup_a_sync(self, name: str) -> Result[str]:
        return _addr(self.lookup_sync(name, "A"))

    def lookup_aaaa_sync(self, name: str) -> Result[str]:
        return _addr(self.lookup_sync(name, "AAAA"))

    def lookup_ip_sync(self, name: str) -> Result[str]:
        results: list[Result[str] | BaseException] = []
        for fn in (self.lookup_a_sync, self.lookup_aaaa_sync):
            try:
                results.append(fn(name))
            except DNSError as e:
                results.append(e)
        return _combine_ips(name, results)

    def lookup_ptr_sync(self, name: str) -> Result[str]:
        return _target(self.lookup_sync(name, "PTR"))

    def lookup_addr_sync(self, ip: str | IPAddress) -> Result[str]:
        return self.lookup_ptr_sync(reverse_name(ip))

    def lookup_cname_sync(self, name: str) -> Result[str]:
        return _target(self.lookup_sync(name, "CNAME"))

    def lookup_ns_sync(self, name: str) -> Result[str]:
        return _target(self.lookup_sync(name, "NS"))

    def lookup_srv_sync(self, service: str, proto: str, name: str) -> Result[SRV]:
        return _srv(self.lookup_sync(f"_{service}._{proto}.{name}", "SRV"))

    def lookup_tlsa_sync(self, port: int, protocol: str, host: str) -> Result[TLSA]:
        return _tlsa(self.lookup_sync(tlsa_name(port, protocol, host), "TLSA"))

    # Asynchronous typed lookups.

    async def lookup_txt(self, name: str) -> Result[str]:
        return _txt(await self.lookup(name, "TXT"))

    async def lookup_txt_raw(self, name: str) -> Result[bytes]:
        return _txt_raw(await self.lookup(name, "TXT"))

    async def lookup_mx(self, name: str) -> Result[MX]:
        return _mx(await self.lookup(name, "MX"))

    async def lookup_a(self, name: str) -> Result[str]:
        return _addr(await self.lookup(name, "A"))

    async def lookup_aaaa(self, name: str) -> Result[str]:
        return _addr(await self.lookup(name, "AAAA"))

    async def lookup_ip(self, name: str) -> Result[str]:
        got = await asyncio.gather(self.lookup_a(name), self.lookup_aaaa(name), return_exceptions=True)
        return _combine_ips(name, list(got))

    async def lookup_ptr(self, name: str) -> Result[str]:
        return _target(await self.lookup(name, "PTR"))

    async def lookup_addr(self, ip: str | IPAddress) -> Result[str]:
        return await self.lookup_ptr(reverse_name(ip))

    async def lookup_cname(self, name: str) -> Result[str]:
        return _target(await self.lookup(name, "CNAME"))

    async def lookup_ns(self, name: str) -> Result[str]:
        return _target(await self.lookup(name, "NS"))

    async def lookup_srv(self, service: str, proto: str, name: str) -> Result[SRV]:
        return _srv(await self.lookup(f"_{service}._{proto}.{name}", "SRV"))

    async def lookup_tlsa(self, port: int, protocol: str, host: str) -> Result[TLSA]:
        return _tlsa(await self.lookup(tlsa_name(port, protocol, host), "TLSA"))
