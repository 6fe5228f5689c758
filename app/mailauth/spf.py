"""SPF verification (RFC 7208) with pyspf, wired to our Resolver, and the Received-SPF header (§9.1).

pyspf looks names up through its module-level ``spf.DNSLookup`` hook. We replace that hook once,
at import, with a function that answers through the Resolver of the running check (kept in a
context variable, so concurrent checks in different worker threads never mix). pyspf therefore
never reaches the network on its own. The RFC 7208 §4.6.4 limits (10 DNS-querying terms, 10 MX
and PTR names, 2 void lookups) are enforced by pyspf.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

import spf as pyspf

from app.dns.errors import DNSError, DNSTemporary, is_not_found
from app.dns.resolver import Resolver

NONE = "none"
NEUTRAL = "neutral"
PASS = "pass"
FAIL = "fail"
SOFTFAIL = "softfail"
TEMPERROR = "temperror"
PERMERROR = "permerror"
STATUSES = (NONE, NEUTRAL, PASS, FAIL, SOFTFAIL, TEMPERROR, PERMERROR)

# Whole-evaluation time limit in seconds (RFC 7208 §4.6.4 suggests at least 20 s).
DEFAULT_TIMEOUT = 20.0


@dataclass
class _Check:
    """Per-evaluation state shared with the pyspf hook."""

    resolver: Resolver
    # Authenticity of each TXT lookup, by name; used to report whether the policy was DNSSEC-signed.
    txt_authentic: dict[str, bool] = field(default_factory=dict)


_current: contextvars.ContextVar[_Check | None] = contextvars.ContextVar("moxpy_spf_check", default=None)


def _dns_lookup(
    name: str, qtype: str, strict: Any = True, timeout: Any = None
) -> list[tuple[tuple[str, str], Any]]:
    """pyspf's DNSLookup signature, answered by the Resolver of the current check."""
    check = _current.get()
    if check is None:
        raise pyspf.TempError("no resolver configured for SPF check")
    key = name.lower().rstrip(".")
    try:
        if qtype in ("TXT", "SPF"):
            ans = check.resolver.lookup_sync(key, qtype)
            if qtype == "TXT":
                check.txt_authentic.setdefault(key, ans.authentic)
            return [((key, qtype), tuple(rd.strings)) for rd in ans.rdatas]  # type: ignore[attr-defined]
        ans = check.resolver.lookup_sync(key, qtype)
    except DNSTemporary as e:
        raise pyspf.TempError(f"DNS {e}") from None
    except DNSError as e:
        if is_not_found(e) and qtype == "TXT":
            check.txt_authentic.setdefault(key, e.authentic)
        return []
    out: list[tuple[tuple[str, str], Any]] = []
    for rd in ans.rdatas:
        if qtype in ("A", "AAAA"):
            out.append(((key, qtype), str(rd.address)))  # type: ignore[attr-defined]
        elif qtype == "MX":
            out.append(((key, qtype), (rd.preference, rd.exchange.to_text(omit_final_dot=True))))  # type: ignore[attr-defined]
        elif qtype in ("PTR", "CNAME"):
            out.append(((key, qtype), rd.target.to_text(omit_final_dot=True)))  # type: ignore[attr-defined]
    return out


pyspf.DNSLookup = _dns_lookup


@dataclass(frozen=True)
class SPFResult:
    """Outcome of one SPF evaluation.

    ``identity`` is "mailfrom" or "helo"; ``domain`` the domain whose policy was evaluated;
    ``explanation`` the (macro-expanded, possibly remote, RFC 7208 §6.2) text for fail results;
    ``problem`` pyspf's reason for errors; ``mechanism`` the matching term; ``authentic`` whether
    the domain's SPF TXT lookup was DNSSEC-validated.
    """

    status: str
    identity: str
    domain: str
    sender: str = ""
    helo: str = ""
    ip: str = ""
    explanation: str = ""
    problem: str = ""
    mechanism: str = ""
    authentic: bool = False

    @property
    def passed(self) -> bool:
        return self.status == PASS


def check_host(
    resolver: Resolver,
    ip: str,
    domain: str,
    sender: str = "",
    helo: str = "",
    receiver: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    default_explanation: str | None = None,
) -> SPFResult:
    """RFC 7208 §4 check_host(ip, domain, sender). ``sender`` defaults to postmaster@domain.

    Never raises for bad input: a malformed IP or domain gives permerror/none with a problem text.
    """
    identity = "mailfrom" if sender else "helo"
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return SPFResult(PERMERROR, identity, domain, sender, helo, ip, problem=f"invalid ip address {ip!r}")
    if not domain:
        return SPFResult(NONE, identity, domain, sender, helo, ip, problem="no domain")
    check = _Check(resolver)
    token = _current.set(check)
    try:
        q = pyspf.query(
            i=ip,
            s=sender or f"postmaster@{domain}",
            h=helo or domain,
            receiver=receiver or None,
            strict=True,
            timeout=timeout,
            querytime=timeout,
        )
        if default_explanation is not None:
            q.set_default_explanation(default_explanation)
        status, _code, explanation = q.check()
        problem = getattr(q, "prob", "") or ""
        mechanism = str(q.mechanism or "")
    except (pyspf.TempError, TimeoutError) as e:
        status, explanation, problem, mechanism = TEMPERROR, "", str(e), ""
    except Exception as e:  # pyspf can raise on pathological input; never let it escape
        status, explanation, problem, mechanism = PERMERROR, "", f"{type(e).__name__}: {e}", ""
    finally:
        _current.reset(token)
    status = {"unknown": PERMERROR, "error": TEMPERROR, "ambiguous": PERMERROR}.get(status, status)
    if status not in STATUSES:
        status = PERMERROR
    if status in (TEMPERROR, PERMERROR) and explanation.startswith("SPF "):
        problem = problem or explanation
        explanation = ""
    auth = check.txt_authentic.get(domain.lower().rstrip("."), False)
    return SPFResult(
        status,
        identity,
        domain.lower().rstrip("."),
        sender,
        helo,
        ip,
        explanation,
        str(problem),
        mechanism,
        auth,
    )


def verify(
    resolver: Resolver,
    ip: str,
    mailfrom: str,
    helo: str,
    receiver: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> SPFResult:
    """Check the MAIL FROM identity, or, for the null reverse-path, the HELO identity (RFC 7208 §2.4).

    ``mailfrom`` is the reverse-path address ("" for ``<>``); a localpart-only or domain-less
    address is treated as postmaster@helo as pyspf does.
    """
    if mailfrom and "@" in mailfrom:
        domain = mailfrom.rsplit("@", 1)[1]
        return check_host(resolver, ip, domain, mailfrom, helo, receiver, timeout)
    return check_helo(resolver, ip, helo, receiver, timeout)


def check_helo(
    resolver: Resolver, ip: str, helo: str, receiver: str = "", timeout: float = DEFAULT_TIMEOUT
) -> SPFResult:
    """Check the HELO identity (RFC 7208 §2.3). An address literal or a non-FQDN HELO gives none."""
    h = helo.strip().rstrip(".")
    if not h or h.startswith("[") or "." not in h:
        return SPFResult(NONE, "helo", h, f"postmaster@{h}", helo, ip, problem="helo is not a domain name")
    r = check_host(resolver, ip, h, f"postmaster@{h}", helo, receiver, timeout)
    return SPFResult(
        r.status, "helo", r.domain, r.sender, helo, ip, r.explanation, r.problem, r.mechanism, r.authentic
    )


_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+(@[A-Za-z0-9.\-]+)?$")


def _clean(s: str, limit: int = 256) -> str:
    """Remove control characters and anything that could break out of a header value."""
    out = "".join(c for c in s if c.isprintable() and c not in "\r\n")
    return out[:limit]


def _value(s: str) -> str:
    """A key=value value (RFC 7208 §9.1 uses RFC 5322 dot-atom or quoted-string)."""
    s = _clean(s)
    if s and _DOT_ATOM.match(s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def received_spf_header(result: SPFResult, receiver: str = "") -> str:
    """The ``Received-SPF:`` header (RFC 7208 §9.1), folded with CRLF-TAB, WITHOUT the final CRLF,
    with the fields mox writes. Hostile input is filtered: values quoted, control characters dropped."""
    comment = {
        PASS: f"domain {result.domain} designates {result.ip} as permitted sender",
        FAIL: f"domain {result.domain} does not designate {result.ip} as permitted sender",
        SOFTFAIL: f"domain {result.domain} discourages use of {result.ip} as permitted sender",
        NEUTRAL: f"{result.ip} is neither permitted nor denied by domain {result.domain}",
        NONE: f"domain {result.domain} does not designate permitted sender hosts",
        TEMPERROR: f"error in processing during lookup of {result.domain}",
        PERMERROR: f"permanent error in processing domain {result.domain}",
    }[result.status]
    tokens = [
        f"Received-SPF: {result.status}",
        "(" + _clean(comment).replace("(", "").replace(")", "") + ")",
        f"client-ip={_value(result.ip)};",
        f"envelope-from={_value(result.sender)};",
        f"helo={_value(result.helo)};",
    ]
    if result.problem and result.status in (TEMPERROR, PERMERROR):
        tokens.append(f"problem={_value(result.problem[:67])};")
    if result.mechanism:
        tokens.append(f"mechanism={_value(result.mechanism)};")
    tokens += [f"receiver={_value(receiver)};", f"identity={result.identity}"]
    lines: list[str] = []
    line = ""
    for t in tokens:
        if line and len(line) + 1 + len(t) > 78:
            lines.append(line)
            line = "\t" + t
        else:
            line = f"{line} {t}" if line else t
    lines.append(line)
    return "\r\n".join(lines)
