"""DNS blocklists (RFC 5782): is an IP listed in a zone, and is the zone healthy.

An IP is looked up as its reversed octets (IPv4) or nibbles (IPv6) under the zone; any A record
means listed (the TXT record, if any, explains why). A healthy zone lists 127.0.0.2 and does not
list 127.0.0.1 (RFC 5782 §5).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from app.dns.errors import DNSError, DNSTemporary, is_not_found
from app.dns.resolver import Resolver, normalize_name

PASS = "pass"  # not listed
FAIL = "fail"  # listed
TEMPERROR = "temperror"


@dataclass(frozen=True)
class DNSBLResult:
    status: str
    zone: str
    ip: str
    explanation: str = ""
    addresses: tuple[str, ...] = ()

    @property
    def listed(self) -> bool:
        return self.status == FAIL


def query_name(zone: str, ip: str) -> str:
    """``4.3.2.1.<zone>`` for 1.2.3.4; nibbles for IPv6 (RFC 5782 §2.1, §2.4)."""
    addr = ipaddress.ip_address(ip)
    labels = str(addr).split(".")[::-1] if addr.version == 4 else list(addr.exploded.replace(":", ""))[::-1]
    return ".".join(labels) + "." + normalize_name(zone)


def lookup(resolver: Resolver, zone: str, ip: str) -> DNSBLResult:
    """Whether ``ip`` is listed in ``zone``. A malformed ip or zone gives temperror with the reason."""
    try:
        name = query_name(zone, ip)
    except (ValueError, DNSError) as e:
        return DNSBLResult(TEMPERROR, zone, ip, f"invalid input: {e}")
    try:
        ans = resolver.lookup_a_sync(name)
    except DNSTemporary as e:
        return DNSBLResult(TEMPERROR, zone, ip, str(e))
    except DNSError as e:
        if is_not_found(e):
            return DNSBLResult(PASS, zone, ip)
        return DNSBLResult(TEMPERROR, zone, ip, str(e))
    explanation = ""
    try:
        explanation = " ".join(resolver.lookup_txt_sync(name).records)[:512]
    except DNSError:
        pass
    return DNSBLResult(FAIL, zone, ip, explanation, tuple(ans.records))


class DNSBLUnhealthy(Exception):
    """The zone does not behave as a blocklist should."""


def check_health(resolver: Resolver, zone: str) -> None:
    """Raise DNSBLUnhealthy unless 127.0.0.2 is listed and 127.0.0.1 is not (RFC 5782 §5)."""
    r = lookup(resolver, zone, "127.0.0.2")
    if r.status != FAIL:
        raise DNSBLUnhealthy(
            f"test address 127.0.0.2 not listed in {zone} ({r.status} {r.explanation})".strip()
        )
    r = lookup(resolver, zone, "127.0.0.1")
    if r.status != PASS:
        raise DNSBLUnhealthy(f"address 127.0.0.1 should not be listed in {zone} ({r.status})")
