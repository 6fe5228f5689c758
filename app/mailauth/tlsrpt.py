"""TLSRPT DNS records (RFC 8460 §3): ``_smtp._tls.<domain>`` TXT ``v=TLSRPTv1; rua=...``."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.dns.errors import DNSError, DNSTemporary
from app.dns.resolver import Resolver, normalize_name


class TLSRPTRecordError(ValueError):
    """Malformed TLSRPT record."""


@dataclass(frozen=True)
class TLSRPTRecord:
    """Reporting URIs (mailto: or https:) and unknown extension tags."""

    rua: tuple[str, ...]
    extensions: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return "v=TLSRPTv1; rua=" + ",".join(self.rua)


def parse_record(text: str) -> TLSRPTRecord:
    """Parse a TLSRPT record; raises TLSRPTRecordError."""
    parts = [p.strip() for p in text.split(";")]
    if not parts or parts[0].replace(" ", "") != "v=TLSRPTv1":
        raise TLSRPTRecordError("record must start with v=TLSRPTv1")
    rua: list[str] = []
    ext: dict[str, str] = {}
    for p in parts[1:]:
        if not p:
            continue
        k, sep, v = p.partition("=")
        if not sep or not k.strip():
            raise TLSRPTRecordError(f"malformed field {p[:40]!r}")
        k = k.strip()
        if k == "rua":
            if rua:
                raise TLSRPTRecordError("duplicate rua")
            for u in v.split(","):
                u = u.strip()
                if not (u.lower().startswith("mailto:") or u.lower().startswith("https:")):
                    raise TLSRPTRecordError(f"rua must be mailto: or https:, got {u[:60]!r}")
                rua.append(u)
        else:
            ext[k] = v.strip()
    if not rua:
        raise TLSRPTRecordError("missing rua")
    return TLSRPTRecord(tuple(rua), ext)


@dataclass(frozen=True)
class TLSRPTLookup:
    status: str  # found, none, temperror, permerror
    domain: str
    record: TLSRPTRecord | None = None
    text: str = ""
    reason: str = ""


def lookup(resolver: Resolver, domain: str) -> TLSRPTLookup:
    """Fetch and parse ``_smtp._tls.<domain>``; exactly one TLSRPTv1 record must exist."""
    try:
        d = normalize_name(domain)
        ans = resolver.lookup_txt_sync(f"_smtp._tls.{d}")
    except DNSTemporary as e:
        return TLSRPTLookup("temperror", domain, reason=str(e))
    except DNSError as e:
        return TLSRPTLookup("none", domain, reason=str(e))
    recs = [r for r in ans.records if r.startswith("v=TLSRPTv1")]
    if not recs:
        return TLSRPTLookup("none", d, reason="no v=TLSRPTv1 record")
    if len(recs) > 1:
        return TLSRPTLookup("permerror", d, reason="multiple TLSRPT records")
    try:
        return TLSRPTLookup("found", d, parse_record(recs[0]), recs[0])
    except TLSRPTRecordError as e:
        return TLSRPTLookup("permerror", d, text=recs[0], reason=str(e))
