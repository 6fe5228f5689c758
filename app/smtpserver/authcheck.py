"""The mail-authentication facts of one incoming message (mox's ``deliver()`` step 2): iprev
(RFC 8601 section 3), SPF for MAIL FROM and HELO (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489)
and DNSBLs, and the Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 section 9.1)
fields made from them. Synchronous: runs in the worker pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.mailauth import dkim, dmarc, dnsbl, iprev, spf


@dataclass
class AuthFacts:
    iprev: iprev.IPRevResult
    spf_mailfrom: spf.SPFResult
    spf_helo: spf.SPFResult
    dkim: list[dkim.DKIMResult]
    dmarc: dmarc.DMARCResult | None
    from_domain: str
    dnsbl_listed: list[str] = field(default_factory=list)

    @property
    def dkim_pass_domains(self) -> list[str]:
        return [r.domain.lower() for r in self.dkim if r.status == dkim.PASS and r.domain]

    def spf_for_dmarc(self) -> spf.SPFResult:
        return self.spf_mailfrom if self.spf_mailfrom.sender else self.spf_helo


def check(
    resolver: Any,
    ip: str,
    helo: str,
    mail_from: str,
    receiver: str,
    data: bytes,
    from_domain: str,
    dnsbl_zones: list[str],
    prev_spf: spf.SPFResult | None = None,
    prev_iprev: iprev.IPRevResult | None = None,
    prev_spf_helo: spf.SPFResult | None = None,
    dmarc_lookups: dict[str, dmarc.DMARCLookup] | None = None,
) -> AuthFacts:
    """The checks of one message. ``prev_*``: results already known for this connection (the
    client's IP and HELO name do not change between its messages); ``dmarc_lookups``: the
    connection's DMARC record lookups (see ``dmarc.verify``)."""
    ipr = prev_iprev if prev_iprev is not None else iprev.lookup(resolver, ip)
    spf_helo = prev_spf_helo if prev_spf_helo is not None else spf.check_helo(resolver, ip, helo, receiver)
    if prev_spf is not None:
        spf_mf = prev_spf
    elif mail_from:
        spf_mf = spf.verify(resolver, ip, mail_from, helo, receiver)
    else:
        spf_mf = spf.SPFResult(spf.NONE, "mailfrom", "", "", helo, ip, problem="null reverse path")
    dk = dkim.verify(resolver, data)
    dm: dmarc.DMARCResult | None = None
    facts = AuthFacts(ipr, spf_mf, spf_helo, dk, None, from_domain)
    if from_domain:
        s = facts.spf_for_dmarc()
        dm = dmarc.verify(
            resolver, from_domain, facts.dkim_pass_domains, s.status, s.domain, lookups=dmarc_lookups
        )
    facts.dmarc = dm
    for zone in dnsbl_zones:
        r = dnsbl.lookup(resolver, zone, ip)
        if r.listed:
            facts.dnsbl_listed.append(zone)
    return facts


def _dnssec(authentic: bool) -> str:
    return " (with dnssec)" if authentic else " (without dnssec)"


def auth_results(hostname: str, f: AuthFacts, mail_from: str) -> bytes:
    """The Authentication-Results field (RFC 8601) with mox's DNSSEC comments, folded, CRLF."""
    lines = [f"Authentication-Results: {hostname};"]
    methods: list[str] = []
    ipr = f.iprev
    methods.append(f"iprev={ipr.status}{_dnssec(ipr.authentic)} policy.iprev={ipr.ip}")
    for r in f.dkim:
        s = f"dkim={r.status}"
        if r.reason and r.status != dkim.PASS:
            s += f" ({_comment(r.reason)})"
        if r.domain:
            s += f" header.d={r.domain}"
        if r.selector:
            s += f" header.s={r.selector}"
        if r.header_b:
            s += f" header.b={r.header_b[:12]}"
        methods.append(s)
    if not f.dkim:
        methods.append("dkim=none")
    spf_mf = f.spf_mailfrom
    if mail_from:
        methods.append(
            f"spf={spf_mf.status}{_dnssec(spf_mf.authentic)} smtp.mailfrom={_value(spf_mf.domain)}"
        )
    else:
        methods.append(
            f"spf={f.spf_helo.status}{_dnssec(f.spf_helo.authentic)} smtp.helo={_value(f.spf_helo.domain)}"
        )
    if f.dmarc is not None:
        methods.append(f"dmarc={f.dmarc.status} header.from={_value(f.dmarc.domain)}")
    for i, m in enumerate(methods):
        lines.append("\t" + m + (";" if i < len(methods) - 1 else ""))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _comment(s: str) -> str:
    return "".join(ch for ch in s if ch.isprintable() and ch not in "()\\\r\n")[:100]


def _value(s: str) -> str:
    v = "".join(ch for ch in s if ch.isprintable() and ch not in '\r\n;" ')
    return v or '""'


def reusable(status: str) -> bool:
    """Whether a result may be reused for a later message of the same connection: not when
    a temporary error might be gone by then."""
    return status not in (spf.TEMPERROR, iprev.TEMPERROR)


def received_spf(f: AuthFacts, receiver: str) -> bytes:
    r = f.spf_mailfrom if f.spf_mailfrom.sender else f.spf_helo
    return (spf.received_spf_header(r, receiver) + "\r\n").encode("utf-8")
