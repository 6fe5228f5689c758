"""The real resolver: dnspython's sync and async stub resolvers sharing one TTL cache.

Queries ask with RD, AD and (EDNS0) DO set, so a validating recursive resolver such as unbound
reports in the AD bit whether it validated the answer (RFC 6840 §5.7-5.8); ``authentic`` is that
bit. We rely on the recursive resolver being trusted and on a trusted path to it (localhost), as mox.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from app import mlog
from app.dns.cache import MAX_NEGATIVE_TTL, TTLCache
from app.dns.errors import (
    DNSError,
    DNSNoData,
    DNSNotFound,
    DNSPermanent,
    DNSTemporary,
    DNSTimeout,
)
from app.dns.resolver import BaseResolver, RawAnswer

log = mlog.get("dns")

# How long a temporary failure is remembered, so a dead zone does not cost a timeout per lookup.
TEMPORARY_TTL = 5


def _parse_nameserver(spec: str) -> dns.nameserver.Do53Nameserver:
    """``ip``, ``ip:port`` or ``[ipv6]:port``."""
    host, port = spec, 53
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif spec.count(":") == 1:
        host, p = spec.split(":")
        port = int(p)
    ipaddress.ip_address(host)
    return dns.nameserver.Do53Nameserver(host, port)


def _configure(r: dns.resolver.BaseResolver, nameservers: Sequence[str] | None, timeout: float) -> None:
    if nameservers:
        r.nameservers = [_parse_nameserver(s) for s in nameservers]
    r.lifetime = timeout
    r.timeout = min(timeout, 2.0)
    r.use_edns(0, dns.flags.DO, 1232)
    r.flags = dns.flags.RD | dns.flags.AD
    r.cache = None
    r.search = []


def _negative_ttl(resp: dns.message.Message | None) -> int:
    """Negative caching TTL from the SOA in the authority section (RFC 2308 §5)."""
    if resp is not None:
        for rrset in resp.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                minimum: int = rrset[0].minimum
                return min(rrset.ttl, minimum, MAX_NEGATIVE_TTL)
    return 60


def _authentic(resp: dns.message.Message | None) -> bool:
    return resp is not None and bool(resp.flags & dns.flags.AD)


class DnsResolver(BaseResolver):
    """dnspython-backed Resolver. ``nameservers`` default to /etc/resolv.conf (or the system's)."""

    def __init__(
        self, nameservers: Sequence[str] | None = None, timeout: float = 10.0, cache_size: int = 10000
    ) -> None:
        self.timeout = timeout
        configure = not nameservers
        try:
            self._sync = dns.resolver.Resolver(configure=configure)
            self._async = dns.asyncresolver.Resolver(configure=configure)
        except dns.resolver.NoResolverConfiguration:
            self._sync = dns.resolver.Resolver(configure=False)
            self._async = dns.asyncresolver.Resolver(configure=False)
            self._sync.nameservers = ["127.0.0.1"]
            self._async.nameservers = ["127.0.0.1"]
        _configure(self._sync, nameservers, timeout)
        _configure(self._async, nameservers, timeout)
        self.cache: TTLCache[RawAnswer | DNSError] = TTLCache(cache_size)

    def _cached(self, name: str, rdtype: str) -> RawAnswer | None:
        got = self.cache.get((name, rdtype))
        if got is None:
            return None
        value, ttl = got
        if isinstance(value, DNSError):
            # A fresh exception per raise: one shared instance would collect tracebacks across threads.
            raise type(value)(str(value), value.name, value.rdtype, value.authentic)
        return RawAnswer(value.rdatas, value.authentic, ttl, value.cnames)

    def _store(self, name: str, rdtype: str, value: RawAnswer | DNSError, ttl: int) -> None:
        self.cache.put((name, rdtype), value, ttl)

    def _answer(self, name: str, rdtype: str, ans: dns.resolver.Answer) -> RawAnswer:
        authentic = _authentic(ans.response)
        if ans.rrset is None or len(ans.rrset) == 0:
            err = DNSNoData(f"no {rdtype} records for {name}", name, rdtype, authentic)
            self._store(name, rdtype, err, _negative_ttl(ans.response))
            raise err
        cnames = [
            rd.target.to_text(omit_final_dot=True).lower()
            for rrset in ans.response.answer
            if rrset.rdtype == dns.rdatatype.CNAME and rdtype != "CNAME"
            for rd in rrset
        ]
        ttl = max(0, int(ans.expiration - time.time()))
        raw = RawAnswer(list(ans.rrset), authentic, ttl, cnames)
        self._store(name, rdtype, raw, ttl)
        return raw

    def _error(self, name: str, rdtype: str, e: Exception) -> DNSError:
        err: DNSError
        if isinstance(e, dns.resolver.NXDOMAIN):
            responses: dict[dns.name.Name, dns.message.Message] = e.responses()  # type: ignore[no-untyped-call]
            resp = responses.get(dns.name.from_text(name + ".") if name else dns.name.root)
            err = DNSNotFound(f"no such domain {name}", name, rdtype, _authentic(resp))
            self._store(name, rdtype, err, _negative_ttl(resp))
        elif isinstance(e, dns.exception.Timeout):
            err = DNSTimeout(f"timeout looking up {rdtype} {name}", name, rdtype)
            self._store(name, rdtype, err, TEMPORARY_TTL)
        elif isinstance(e, (dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration)):
            err = DNSTemporary(f"servfail looking up {rdtype} {name}: {e}", name, rdtype)
            self._store(name, rdtype, err, TEMPORARY_TTL)
        elif isinstance(e, (dns.resolver.YXDOMAIN, dns.name.NameTooLong, dns.exception.SyntaxError)):
            err = DNSPermanent(f"looking up {rdtype} {name}: {e}", name, rdtype)
        elif isinstance(e, OSError):
            err = DNSTemporary(f"looking up {rdtype} {name}: {e}", name, rdtype)
        else:
            err = DNSTemporary(f"looking up {rdtype} {name}: {type(e).__name__}: {e}", name, rdtype)
        log.debug("dns lookup failed", name=name, type=rdtype, err=str(err))
        return err

    def _rdtype(self, rdtype: str) -> dns.rdatatype.RdataType:
        try:
            return dns.rdatatype.from_text(rdtype)
        except dns.rdatatype.UnknownRdatatype:
            raise DNSPermanent(f"unknown record type {rdtype!r}", rdtype=rdtype) from None

    def _query_sync(self, name: str, rdtype: str) -> RawAnswer:
        hit = self._cached(name, rdtype)
        if hit is not None:
            return hit
        t = self._rdtype(rdtype)
        try:
            ans = self._sync.resolve(name + "." if name else ".", t, raise_on_no_answer=False, search=False)
        except Exception as e:
            raise self._error(name, rdtype, e) from None
        return self._answer(name, rdtype, ans)

    async def _query(self, name: str, rdtype: str) -> RawAnswer:
        hit = self._cached(name, rdtype)
        if hit is not None:
            return hit
        t = self._rdtype(rdtype)
        try:
            ans = await self._async.resolve(
                name + "." if name else ".", t, raise_on_no_answer=False, search=False
            )
        except Exception as e:
            raise self._error(name, rdtype, e) from None
        return self._answer(name, rdtype, ans)
