"""DMARC (RFC 9989, reading RFC 7489 records too): record parsing, policy discovery by DNS tree
walk, identifier alignment and the resulting verdict.

As mox, a quarantine policy is treated like reject by callers (``DMARCResult.reject``), and the
result says which policy applied and why. ``pct`` (RFC 7489) sampling and ``t=y`` (RFC 9989
testing) both turn an enforced policy into monitoring.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.dns.errors import DNSError, DNSNotFound, DNSTemporary
from app.dns.resolver import Resolver, normalize_name
from app.mailauth import orgdomain

NONE = "none"
PASS = "pass"
FAIL = "fail"
TEMPERROR = "temperror"
PERMERROR = "permerror"

POLICIES = ("none", "quarantine", "reject")


class DMARCRecordError(ValueError):
    """A DMARC record that cannot be used, with the reason."""


@dataclass(frozen=True)
class URI:
    """A reporting URI with optional size limit (RFC 7489 §6.2: ``mailto:x@y!10m``)."""

    address: str
    max_size: str = ""

    def text(self) -> str:
        return self.address + (f"!{self.max_size}" if self.max_size else "")


@dataclass(frozen=True)
class DMARCRecord:
    """A parsed ``v=DMARC1`` record; absent tags have their defaults."""

    policy: str = ""  # p=; "" only for a record without valid p= but with rua (treated as none)
    subdomain_policy: str = ""  # sp=
    nonexistent_policy: str = ""  # np= (RFC 9989)
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100
    rua: tuple[URI, ...] = ()
    ruf: tuple[URI, ...] = ()
    ri: int = 86400
    fo: str = "0"
    rf: str = "afrf"
    psd: str = "u"
    testing: bool = False  # t=y
    unknown: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The record in canonical text form."""
        parts = ["v=DMARC1", f"p={self.policy or 'none'}"]
        if self.subdomain_policy:
            parts.append(f"sp={self.subdomain_policy}")
        if self.nonexistent_policy:
            parts.append(f"np={self.nonexistent_policy}")
        if self.rua:
            parts.append("rua=" + ",".join(u.text() for u in self.rua))
        if self.ruf:
            parts.append("ruf=" + ",".join(u.text() for u in self.ruf))
        if self.adkim != "r":
            parts.append(f"adkim={self.adkim}")
        if self.aspf != "r":
            parts.append(f"aspf={self.aspf}")
        if self.pct != 100:
            parts.append(f"pct={self.pct}")
        if self.testing:
            parts.append("t=y")
        if self.psd != "u":
            parts.append(f"psd={self.psd}")
        return "; ".join(parts)


def _uris(v: str) -> tuple[URI, ...]:
    out = []
    for u in v.split(","):
        u = u.strip()
        if not u:
            continue
        addr, _, size = u.partition("!")
        if ":" not in addr:
            raise DMARCRecordError(f"invalid report uri {u[:60]!r}")
        out.append(URI(addr, size))
    return tuple(out)


def parse_record(text: str) -> DMARCRecord:
    """Parse a DMARC record (RFC 7489 §6.3, RFC 9989 §4.7); raises DMARCRecordError."""
    parts = [p.strip() for p in text.split(";")]
    if not parts or parts[0].replace(" ", "").lower() != "v=dmarc1":
        raise DMARCRecordError("record must start with v=DMARC1")
    tags: dict[str, str] = {}
    for p in parts[1:]:
        if not p:
            continue
        k, sep, v = p.partition("=")
        if not sep:
            raise DMARCRecordError(f"missing = in {p[:40]!r}")
        k = k.strip().lower()
        if k in tags:
            raise DMARCRecordError(f"duplicate tag {k!r}")
        tags[k] = v.strip()
    kw: dict[str, object] = {}
    unknown: dict[str, str] = {}
    for k, v in tags.items():
        lv = v.lower()
        if k in ("p", "sp", "np"):
            if lv not in POLICIES:
                if k == "p":
                    continue  # handled below: invalid p= is tolerated when rua is present
                raise DMARCRecordError(f"invalid {k}={v[:20]!r}")
            kw[{"p": "policy", "sp": "subdomain_policy", "np": "nonexistent_policy"}[k]] = lv
        elif k in ("adkim", "aspf"):
            if lv not in ("r", "s"):
                raise DMARCRecordError(f"invalid {k}={v[:20]!r}")
            kw[k] = lv
        elif k == "pct":
            if not v.isdigit() or int(v) > 100:
                raise DMARCRecordError(f"invalid pct={v[:20]!r}")
            kw["pct"] = int(v)
        elif k in ("rua", "ruf"):
            kw[k] = _uris(v)
        elif k == "ri":
            if not v.isdigit():
                raise DMARCRecordError(f"invalid ri={v[:20]!r}")
            kw["ri"] = int(v)
        elif k == "fo":
            kw["fo"] = v
        elif k == "rf":
            kw["rf"] = lv
        elif k == "psd":
            if lv not in ("y", "n", "u"):
                raise DMARCRecordError(f"invalid psd={v[:20]!r}")
            kw["psd"] = lv
        elif k == "t":
            if lv not in ("y", "n"):
                raise DMARCRecordError(f"invalid t={v[:20]!r}")
            kw["testing"] = lv == "y"
        else:
            unknown[k] = v  # RFC 7489 §6.3: unknown tags are ignored
    if "policy" not in kw:
        # RFC 7489 §6.6.3 / RFC 9989 §4.7: a missing or invalid p= with a valid rua= means p=none.
        if not kw.get("rua"):
            raise DMARCRecordError("missing or invalid p= and no rua=")
        kw["policy"] = "none"
    return DMARCRecord(unknown=unknown, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DMARCLookup:
    """Where policy discovery found a record (``record_domain``), the record, and the org domain."""

    status: str  # none (no record), pass (found), temperror, permerror (malformed)
    domain: str
    record_domain: str = ""
    record: DMARCRecord | None = None
    text: str = ""
    authentic: bool = False
    reason: str = ""
    org_domain: str = ""


# For lookups: the few records of the domains mail comes from, parsed once (DMARCRecord is
# frozen; its ``unknown`` dict is only read).
_parse_record_cached = functools.lru_cache(maxsize=512)(parse_record)


def lookup(resolver: Resolver, domain: str) -> DMARCLookup:
    """RFC 9989 §4.10.1 policy discovery by DNS tree walk: the author domain's own record if it
    has one, otherwise the valid record highest in the tree (fewest labels) met on the walk. The
    same walk gives the organizational domain. A malformed record at the author domain itself is
    a permerror (as mox); malformed records higher up are skipped."""
    try:
        d = normalize_name(domain)
    except DNSError as e:
        return DMARCLookup(PERMERROR, domain, reason=str(e))
    if not d:
        return DMARCLookup(PERMERROR, domain, reason="empty domain")
    try:
        found = orgdomain.walk(resolver, d)
    except DNSTemporary as e:
        return DMARCLookup(TEMPERROR, d, reason=f"dns: {e}")
    org = orgdomain.org_domain_from(d, found)
    valid: list[tuple[orgdomain.FoundRecord, DMARCRecord]] = []
    for f in found:
        try:
            valid.append((f, _parse_record_cached(f.text)))
        except DMARCRecordError as e:
            if f.domain == d:
                return DMARCLookup(PERMERROR, d, d, None, f.text, f.authentic, f"malformed record: {e}", org)
    if not valid:
        return DMARCLookup(NONE, d, reason="no dmarc record", org_domain=org)
    f, rec = valid[0] if valid[0][0].domain == d else min(valid, key=lambda v: len(v[0].domain.split(".")))
    return DMARCLookup(PASS, d, f.domain, rec, f.text, f.authentic, "", org)


@dataclass(frozen=True)
class DMARCResult:
    """The DMARC verdict for one message.

    ``reject`` is true when the applied policy (``policy``: p, sp or np value) is reject or
    quarantine (mox treats both as reject) and was not sampled out (pct) or in testing mode (t=y).
    ``quarantine`` is true when t=y demoted a reject policy to quarantine: deliver, but as junk.
    ``reason`` explains the choice.
    """

    status: str
    domain: str
    policy: str = ""
    reject: bool = False
    quarantine: bool = False
    record_domain: str = ""
    org_domain: str = ""
    record: DMARCRecord | None = None
    aligned_spf: bool = False
    aligned_dkim: bool = False
    aligned_dkim_domain: str = ""
    authentic: bool = False
    reason: str = ""


def aligned(resolver: Resolver, ident: str, author: str, strict: bool, author_org: str = "") -> bool:
    """Identifier alignment (RFC 9989 §4.4): equal domains, or in relaxed mode equal org domains
    (``author_org``, when known, saves the author domain's tree walk)."""
    ident = ident.lower().rstrip(".")
    author = author.lower().rstrip(".")
    if not ident or not author:
        return False
    if ident == author:
        return True
    if strict:
        return False
    return orgdomain.org_domain(resolver, ident) == (author_org or orgdomain.org_domain(resolver, author))


def _domain_exists(resolver: Resolver, domain: str) -> bool:
    """RFC 9989 §4.6 np=: a domain is non-existent when A, AAAA and MX all give NXDOMAIN."""
    for fn in (resolver.lookup_a_sync, resolver.lookup_aaaa_sync, resolver.lookup_mx_sync):
        try:
            fn(domain)
            return True
        except DNSNotFound:
            continue
        except DNSError:
            return True
    return False


def verify(
    resolver: Resolver,
    from_domain: str,
    dkim_pass_domains: Sequence[str],
    spf_status: str,
    spf_domain: str,
    apply_pct: bool = True,
    rng: random.Random | None = None,
    lookups: dict[str, DMARCLookup] | None = None,
) -> DMARCResult:
    """Evaluate DMARC for the author (From) domain given the DKIM domains that passed and the SPF
    result with the domain it was for (MAIL FROM domain, or HELO if MAIL FROM was empty).

    ``lookups``: record lookups made before for this SMTP connection, by author domain; used and
    added to (not temporary failures), as the connection's SPF results are reused."""
    key = from_domain.lower()
    look = lookups.get(key) if lookups is not None else None
    if look is None:
        look = lookup(resolver, from_domain)
        if lookups is not None and look.status != TEMPERROR and len(lookups) < 32:
            lookups[key] = look
    d = look.domain
    if look.status != PASS or look.record is None:
        return DMARCResult(look.status, d, authentic=look.authentic, reason=look.reason)
    rec = look.record
    org = look.org_domain or d
    if look.record_domain == d:
        policy, why = rec.policy, "p= of the author domain's record"
    elif rec.nonexistent_policy and not _domain_exists(resolver, d):
        policy, why = rec.nonexistent_policy, f"np= of {look.record_domain}: author domain does not exist"
    elif rec.subdomain_policy:
        policy, why = rec.subdomain_policy, f"sp= of {look.record_domain}"
    else:
        policy, why = rec.policy, f"p= of {look.record_domain}"
    spf_aligned = spf_status == "pass" and aligned(resolver, spf_domain, d, rec.aspf == "s", org)
    dkim_dom = ""
    for dom in dkim_pass_domains:
        if aligned(resolver, dom, d, rec.adkim == "s", org):
            dkim_dom = dom.lower()
            break
    base = dict(
        domain=d,
        policy=policy,
        record_domain=look.record_domain,
        org_domain=org,
        record=rec,
        aligned_spf=spf_aligned,
        aligned_dkim=bool(dkim_dom),
        aligned_dkim_domain=dkim_dom,
        authentic=look.authentic,
    )
    if spf_aligned or dkim_dom:
        what = "aligned dkim" if dkim_dom else "aligned spf"
        return DMARCResult(PASS, reason=f"{what} pass; policy {policy} from {why}", **base)  # type: ignore[arg-type]
    reject = policy in ("reject", "quarantine")
    quarantine = False
    reason = f"no aligned spf or dkim pass; policy {policy} from {why}"
    if reject and rec.testing:
        # RFC 9989 §4.7 t=y: reject is applied as quarantine, quarantine as none.
        demoted = "quarantine" if policy == "reject" else "none"
        reason += f"; t=y testing mode: {policy} applied as {demoted}"
        base["policy"] = demoted
        reject, quarantine = False, demoted == "quarantine"
    elif reject and apply_pct and rec.pct < 100:
        r = (rng or random).randrange(100)
        if r >= rec.pct:
            reject, reason = False, reason + f"; not enforced: sampled out by pct={rec.pct}"
    return DMARCResult(FAIL, reject=reject, quarantine=quarantine, reason=reason, **base)  # type: ignore[arg-type]


def lookup_external_report(resolver: Resolver, from_domain: str, dest_domain: str) -> tuple[bool, str]:
    """RFC 7489 §7.1: does ``dest_domain`` accept reports about ``from_domain``? (accepted, reason)."""
    name = f"{from_domain.lower().rstrip('.')}._report._dmarc.{dest_domain.lower().rstrip('.')}"
    try:
        ans = resolver.lookup_txt_sync(name)
    except DNSTemporary as e:
        return False, f"temporary dns error: {e}"
    except DNSError:
        return False, f"no record at {name}"
    for txt in ans.records:
        if txt.strip().replace(" ", "").lower().startswith("v=dmarc1"):
            return True, f"accepted by record at {name}"
    return False, f"no v=DMARC1 record at {name}"
