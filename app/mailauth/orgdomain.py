"""The DMARC DNS tree walk and the organizational domain (RFC 9989 §4.10), replacing the public
suffix list of RFC 7489: DMARC records up the DNS tree, at most 8 queries, decide where an
organization's domain starts. Used for DMARC policy discovery, relaxed alignment and reputation.
"""

from __future__ import annotations

from collections.abc import Callable
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


def walk(
    resolver: Resolver, domain: str, stop: Callable[[FoundRecord], bool] | None = None
) -> list[FoundRecord]:
    """Query ``_dmarc`` up the tree; return the records found, stopping early when ``stop`` says so."""
    found: list[FoundRecord] = []
    for name in tree_walk_names(domain):
        txt, authentic = dmarc_txt(resolver, name)
        if txt is None:
            continue
        rec = FoundRecord(name, txt, _psd(txt), authentic)
        found.append(rec)
        if stop is not None and stop(rec):
            break
    return found


def org_domain(resolver: Resolver, domain: str) -> str:
    """The organizational domain of ``domain`` (RFC 9989 §4.10.2).

    A record with psd=n marks its domain as the organizational domain; psd=y marks a public suffix
    domain, whose child on the walk is the organizational domain; otherwise the found record with
    the fewest labels decides. Without any record the domain itself is its organizational domain.
    On temporary DNS failures the domain itself is returned (the caller's DMARC lookup reports
    the temperror).
    """
    try:
        d = normalize_name(domain)
    except DNSError:
        return domain.lower().rstrip(".")
    names = tree_walk_names(d)
    try:
        found = walk(resolver, d, stop=lambda r: r.psd in ("y", "n"))
    except DNSTemporary:
        return d
    if not found:
        return d
    last = found[-1]
    if last.psd == "n":
        return last.domain
    if last.psd == "y":
        if last.domain == d:
            return d
        i = names.index(last.domain)
        child = names[i - 1]
        # After the 8-label shortcut the walk's previous name may be far below; take one label more.
        want = len(last.domain.split(".")) + 1
        return ".".join(child.split(".")[-want:])
    return min(found, key=lambda r: len(r.domain.split("."))).domain
