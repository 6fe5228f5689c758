"""DNS for moxpy: one Resolver interface, a dnspython implementation and a zone-text mock.

Public API (import from ``app.dns``):

``Resolver``
    Protocol. Async lookups ``lookup_txt``, ``lookup_txt_raw`` (bytes), ``lookup_mx``,
    ``lookup_ip`` (A+AAAA), ``lookup_a``, ``lookup_aaaa``, ``lookup_addr`` (PTR of an IP),
    ``lookup_ptr``, ``lookup_cname``, ``lookup_ns``, ``lookup_srv``, ``lookup_tlsa(port, proto, host)``,
    ``lookup(name, type)`` (raw rdata); each has a synchronous twin with a ``_sync`` suffix for
    code running in worker threads (SPF, DKIM). Each returns ``Result(records, authentic, ttl, cnames)``
    where ``authentic`` is the DNSSEC AD bit. Errors: ``DNSNotFound`` (NXDOMAIN), ``DNSNoData``
    (empty answer), ``DNSTemporary`` (SERVFAIL etc.) with subclass ``DNSTimeout``, ``DNSPermanent``;
    all subclass ``DNSError``; ``is_not_found(e)`` is true for the first two.
``DnsResolver(nameservers=None, timeout=10.0)``
    dnspython (sync + asyncio) with one shared TTL cache (positive, negative and short-lived
    temporary failures); sends RD+AD+DO and reports ``authentic`` from the validating resolver's AD
    bit. ``nameservers`` are ``"ip"``/``"ip:port"``/``"[v6]:port"`` strings; default: resolv.conf.
``MockResolver.from_zone(text, origin=".", authentic=False|{names}, fail=(names), timeout=(names))``
    Answers from zone-file text; ``fail``/``timeout`` entries are ``"name"`` or ``"name TYPE"``.
    ``add(name, type, *rdata_texts)`` and ``add_txt(name, text)`` add records later; ``queries``
    holds the recent questions.
``new_resolver()``
    MockResolver from ``$MOXPY_TEST_ZONEFILE`` when set (CLI tests), else DnsResolver.
Record types ``MX``, ``SRV``, ``TLSA``; helpers ``normalize_name``, ``reverse_name``, ``tlsa_name``.
"""

from app.dns.choose import new_resolver
from app.dns.dnsresolver import DnsResolver
from app.dns.errors import (
    DNSError,
    DNSNoData,
    DNSNotFound,
    DNSPermanent,
    DNSTemporary,
    DNSTimeout,
    is_not_found,
    is_temporary,
)
from app.dns.mock import MockResolver
from app.dns.records import MX, SRV, TLSA, Result
from app.dns.resolver import (
    BaseResolver,
    IPAddress,
    RawAnswer,
    Resolver,
    normalize_name,
    reverse_name,
    tlsa_name,
)

__all__ = [
    "MX",
    "SRV",
    "TLSA",
    "BaseResolver",
    "DNSError",
    "DNSNoData",
    "DNSNotFound",
    "DNSPermanent",
    "DNSTemporary",
    "DNSTimeout",
    "DnsResolver",
    "IPAddress",
    "MockResolver",
    "RawAnswer",
    "Resolver",
    "Result",
    "is_not_found",
    "is_temporary",
    "new_resolver",
    "normalize_name",
    "reverse_name",
    "tlsa_name",
]
