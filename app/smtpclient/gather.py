"""Finding where to deliver mail for a domain: MX lookup following CNAMEs, implicit MX (the
domain itself when it has no MX records, RFC 5321 §5.1), null MX (RFC 7505: the domain accepts
no mail, a permanent failure), and ordering of the IPs of a host, alternating address families
and preferring addresses not tried before.

The results carry ``authentic`` (DNSSEC) so that DANE and MTA-STS verification can be slotted in
by the caller: ``Destinations.authentic`` for the MX set, ``HostIPs.authentic`` per host.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from app.dns import DNSError, DNSNoData, DNSNotFound, Resolver
from app.smtpclient.reply import SMTPClientError


@dataclass(frozen=True)
class Destinations:
    domain: str  # the domain asked for
    expanded: str  # after following CNAMEs
    hosts: list[str]  # MX hosts in preference order (or the domain itself: implicit MX)
    authentic: bool
    implicit: bool


def _ip_literal(domain: str) -> str | None:
    d = domain
    if d.startswith("[") and d.endswith("]"):
        d = d[1:-1]
        if d.lower().startswith("ipv6:"):
            d = d[5:]
    try:
        return str(ipaddress.ip_address(d))
    except ValueError:
        return None


async def gather_destinations(resolver: Resolver, domain: str) -> Destinations:
    """Resolve the hosts to try for ``domain``. Raises SMTPClientError (permanent for a domain
    that does not exist, has no usable hosts, or has a null MX; temporary on DNS trouble)."""
    domain = domain.lower().rstrip(".")
    lit = _ip_literal(domain)
    if lit is not None:
        return Destinations(domain, domain, [lit], False, True)
    try:
        res = await resolver.lookup_mx(domain)
    except DNSNotFound:
        raise SMTPClientError(True, "dns", f"domain {domain} does not exist", 0, "5.1.2") from None
    except DNSNoData as e:
        # Implicit MX: the domain itself, if it has addresses (checked when dialing).
        expanded = domain
        cn = getattr(e, "cnames", None)
        if cn:
            expanded = str(cn[-1])
        return Destinations(domain, expanded, [expanded], bool(getattr(e, "authentic", False)), True)
    except DNSError as e:
        raise SMTPClientError(False, "dns", f"looking up MX for {domain}: {e}", 0, "4.4.3") from None
    expanded = res.cnames[-1] if res.cnames else domain
    mxs = sorted(res.records, key=lambda m: m.pref)
    if any(m.host in ("", ".") for m in mxs):
        if len(mxs) == 1:
            raise SMTPClientError(
                True, "dns", f"domain {domain} does not accept email (null MX)", 0, "5.1.10"
            )
        mxs = [m for m in mxs if m.host not in ("", ".")]
    if not mxs:
        raise SMTPClientError(True, "dns", f"no mail servers for {domain}", 0, "5.1.2")
    hosts: list[str] = []
    i = 0
    while i < len(mxs):
        j = i
        while j < len(mxs) and mxs[j].pref == mxs[i].pref:
            j += 1
        same = [m.host.lower().rstrip(".") for m in mxs[i:j]]
        random.shuffle(same)  # RFC 5321 §5.1: randomize among equal preference
        hosts.extend(h for h in same if h not in hosts)
        i = j
    return Destinations(domain, expanded, hosts, res.authentic, False)


@dataclass(frozen=True)
class HostIPs:
    host: str
    ips: list[str]
    authentic: bool


async def gather_ips(
    resolver: Resolver,
    host: str,
    dialed: list[str],
    disable_ipv4: bool = False,
    disable_ipv6: bool = False,
) -> HostIPs:
    """The addresses of ``host`` in dialing order: not-yet-dialed first, alternating between
    IPv6 and IPv4, starting with the family not used for the last dial."""
    lit = _ip_literal(host)
    if lit is not None:
        ips, authentic = [lit], False
    else:
        try:
            res = await resolver.lookup_ip(host)
        except DNSNotFound:
            raise SMTPClientError(False, "dns", f"host {host} does not exist", 0, "4.4.4") from None
        except DNSNoData:
            raise SMTPClientError(False, "dns", f"host {host} has no addresses", 0, "4.4.4") from None
        except DNSError as e:
            raise SMTPClientError(False, "dns", f"looking up {host}: {e}", 0, "4.4.3") from None
        ips, authentic = list(dict.fromkeys(res.records)), res.authentic
    v4 = [ip for ip in ips if ":" not in ip and not disable_ipv4]
    v6 = [ip for ip in ips if ":" in ip and not disable_ipv6]
    if not v4 and not v6:
        raise SMTPClientError(False, "dns", f"no usable addresses for {host}", 0, "4.4.4")

    def fresh_first(lst: list[str]) -> list[str]:
        return [ip for ip in lst if ip not in dialed] + [ip for ip in lst if ip in dialed]

    v4, v6 = fresh_first(v4), fresh_first(v6)
    first, second = (v6, v4)
    if dialed and ":" in dialed[-1]:
        first, second = v4, v6
    out: list[str] = []
    for i in range(max(len(first), len(second))):
        if i < len(first):
            out.append(first[i])
        if i < len(second):
            out.append(second[i])
    return HostIPs(host, out, authentic)
