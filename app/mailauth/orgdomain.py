"""The DMARC DNS tree walk and the organizational domain (RFC 9989 §4.10), replacing the public
suffix list of RFC 7489: DMARC records up the DNS tree, at most 8 queries, decide where an
organization's domain starts. Used for DMARC policy discovery, relaxed alignment and reputation.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.dns.errors import DNSError, DNSTemporary
from app.dns.resolver import Resolver, normalize_name

MAX_LABELS = 7  # a name of 8 or more labels is shortened to 7 after the first query


def tree_walk_names(domain: str) -> list[str]:
    """The names whose ``_dmarc`` records the walk may query, in order (at most 8)."""
    labels = domain.lower().rstrip(".").split(".")
    if not labels or labels == [""]:
        return []
    names = [".".join(labels)]
    if len(labels) > MAX_LABELS:
        labels = labels[-MAX_LABELS:]
        names.append(".".join(labels))
    while len(labels) > 1:
        labels = labels[1:]
        names.append(".".join(labels))
    # The shortcut can make the first shortened name equal to the next step; drop duplicates.
    out: list[str] = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


@dataclass(frozen=True)
class FoundRecord:
    """A DMARC record met on the walk: where, its text, and its psd= value ("y", "n" or "")."""

    domain: str
    text: str
    psd: str
    authentic: bool


def dmarc_txt(resolver: Resolver, domain: str) -> tuple[str | None, bool]:
    """The single valid-looking ``v=DMARC1`` TXT record at ``_dmarc.<domain>`` (None if absent or
    ambiguous) and whether the answer was authentic. Raises DNSTemporary."""
    try:
        ans = resolver.lookup_txt_sync(f"_dmarc.{domain}")
    except DNSTemporary:
        raise
    except DNSError as e:
        return None, e.authentic
    recs = [r for r in ans.records if _is_dmarc(r)]
    if len(recs) != 1:
        return None, ans.authentic
    return recs[0], ans.authentic


def _is_dmarc(txt: str) -> bool:
    head = txt.strip().split(";", 1)[0].replace(" ", "").replace("\t", "")
    return head.lower() == "v=dmarc1"


def _psd(txt: str) -> str:
    for part in txt.split(";"):
        k, _, v = part.partition("=")
        if k.strip().lower() == "psd":
            v = v.strip().lower()
            return v if v in ("y", "n") else ""
    return ""


def walk(resolver: Resolver, domain: str) -> list[FoundRecord]:
    """RFC 9989 §4.10 steps 1-7: query ``_dmarc`` up the tree (longest name first, at most 8
    queries) and return every single valid-looking record found, stopping after a record with
    psd=y or psd=n. Names with several records contribute none. Raises DNSTemporary."""
    found: list[FoundRecord] = []
    for name in tree_walk_names(domain):
        txt, authentic = dmarc_txt(resolver, name)
        if txt is None:
            continue
        rec = FoundRecord(name, txt, _psd(txt), authentic)
        found.append(rec)
        if rec.psd in ("y", "n"):
            break
    return found


def org_domain_from(domain: str, found: list[FoundRecord]) -> str:
    """RFC 9989 §4.10.2 applied to the records of a walk from ``domain`` (longest name first):
    psd=n makes its name the organizational domain; psd=y (not at ``domain`` itself) makes the
    name one label below it the organizational domain; otherwise the record with the fewest
    labels decides; without records, ``domain`` itself is its organizational domain."""
    for rec in found:
        if rec.psd == "n":
            return rec.domain
        if rec.psd == "y" and rec.domain != domain:
            want = len(rec.domain.split(".")) + 1
            return ".".join(domain.split(".")[-want:])
    if not found:
        return domain
    return min(found, key=lambda r: len(r.domain.split("."))).domain


def org_domain(resolver: Resolver, domain: str) -> str:
    """The organizational domain of ``domain`` (RFC 9989 §4.10.2), by DNS tree walk.

    On temporary DNS failures the domain itself is returned (a DMARC lookup of the same names
    reports the temperror).
    """
    try:
        d = normalize_name(domain)
    except DNSError:
        return domain.lower().rstrip(".")
    try:
        return org_domain_from(d, walk(resolver, d))
    except DNSTemporary:
        return d
