"""TLSRPT DNS records (RFC 8460 §3): ``_smtp._tls.<domain>`` TXT ``v=TLSRPTv1; rua=...``."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.dns.resolver import Resolver
from app.mailauth import txtpolicy


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
    r = txtpolicy.lookup_single(
        resolver, domain, "_smtp._tls", "v=TLSRPTv1", "TLSRPT", parse_record, TLSRPTRecordError
    )
    return TLSRPTLookup(r.status, r.domain, r.record, r.text, r.reason)
