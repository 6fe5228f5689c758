"""iprev (RFC 8601 §3): forward-confirmed reverse DNS of the connecting IP.

The PTR names of the IP are looked up (at most MAX_NAMES), and each name's addresses are checked
for the IP. Status: pass (a name resolves back), fail (none does), temperror, permerror (no PTR).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from app.dns.errors import DNSError, DNSTemporary, is_not_found
from app.dns.resolver import Resolver

PASS = "pass"
FAIL = "fail"
TEMPERROR = "temperror"
PERMERROR = "permerror"

MAX_NAMES = 10


@dataclass(frozen=True)
class IPRevResult:
    """``host`` is the first name that confirmed the IP; ``names`` all PTR names; ``authentic`` is
    true only when the PTR and the confirming forward lookup were DNSSEC-validated."""

    status: str
    ip: str
    host: str = ""
    names: tuple[str, ...] = ()
    authentic: bool = False
    reason: str = ""


def lookup(resolver: Resolver, ip: str) -> IPRevResult:
    """Forward-confirm the reverse name of ``ip``. Never raises."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return IPRevResult(PERMERROR, ip, reason="invalid ip address")
    try:
        ptr = resolver.lookup_addr_sync(addr)
    except DNSTemporary as e:
        return IPRevResult(TEMPERROR, ip, reason=str(e))
    except DNSError as e:
        why = "no ptr record" if is_not_found(e) else str(e)
        return IPRevResult(PERMERROR, ip, reason=why)
    names = tuple(dict.fromkeys(ptr.records))[:MAX_NAMES]
    temp = ""
    for name in names:
        try:
            fwd = resolver.lookup_a_sync(name) if addr.version == 4 else resolver.lookup_aaaa_sync(name)
        except DNSTemporary as e:
            temp = str(e)
            continue
        except DNSError:
            continue
        for a in fwd.records:
            try:
                if ipaddress.ip_address(a) == addr:
                    return IPRevResult(PASS, ip, name, names, ptr.authentic and fwd.authentic)
            except ValueError:
                continue
    if temp:
        return IPRevResult(TEMPERROR, ip, names=names, reason=temp)
    return IPRevResult(FAIL, ip, names=names, reason="no ptr name resolves back to the ip")
