"""Lookup of a versioned policy TXT record of which exactly one may exist (MTA-STS, RFC 8461
§3.1, at ``_mta-sts.<domain>``; TLSRPT, RFC 8460 §3, at ``_smtp._tls.<domain>``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from app.dns.errors import DNSError, DNSTemporary
from app.dns.resolver import Resolver, normalize_name

R = TypeVar("R")


class Found(Generic[R]):
    """Outcome of a lookup: ``status`` is found, none, temperror or permerror."""

    __slots__ = ("domain", "reason", "record", "status", "text")

    def __init__(
        self, status: str, domain: str, record: R | None = None, text: str = "", reason: str = ""
    ) -> None:
        self.status = status
        self.domain = domain
        self.record = record
        self.text = text
        self.reason = reason


def lookup_single(
    resolver: Resolver,
    domain: str,
    label: str,
    version: str,
    what: str,
    parse: Callable[[str], R],
    error: type[Exception],
) -> Found[R]:
    """TXT records at ``label.<domain>`` starting with ``version``: none is "none", more than one
    or one that ``parse`` refuses (raising ``error``) is "permerror"; CNAMEs are followed by the
    resolver and a temporary DNS failure is "temperror"."""
    try:
        d = normalize_name(domain)
        ans = resolver.lookup_txt_sync(f"{label}.{d}")
    except DNSTemporary as e:
        return Found("temperror", domain, reason=str(e))
    except DNSError as e:
        return Found("none", domain, reason=str(e))
    recs = [r for r in ans.records if r.startswith(version)]
    if not recs:
        return Found("none", d, reason=f"no {version} record")
    if len(recs) > 1:
        return Found("permerror", d, reason=f"multiple {what} records")
    try:
        return Found("found", d, parse(recs[0]), recs[0])
    except error as e:
        return Found("permerror", d, text=recs[0], reason=str(e))
