"""The Authentication-Results header (RFC 8601), with mox's DNSSEC remarks.

``AuthResults(hostname, methods).header()`` renders ``Authentication-Results: <authserv-id>;
method=result (comment) reason="..." ptype.prop=value ...`` folded at 78 columns with CRLF + TAB.
The builders turn our SPF/DKIM/DMARC/iprev/ARC results into methods; as mox, each carries a
"with dnssec" / "without dnssec" comment telling whether the DNS data behind it was authentic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.mailauth.arc import ARCResult
from app.mailauth.dkim import DKIMResult
from app.mailauth.dmarc import DMARCResult
from app.mailauth.iprev import IPRevResult
from app.mailauth.spf import SPFResult

_TOKEN = re.compile(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$")  # RFC 2045 token
_PVALUE = re.compile(r"^([!#$%&'*+\-/=?^_`{|}~0-9A-Za-z.]*@)?[0-9A-Za-z.\-:\[\]]+$")


def _clean(s: str) -> str:
    return "".join(c for c in s if c.isprintable() and c not in "\r\n")[:400]


def _quote(s: str) -> str:
    return '"' + _clean(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(s: str) -> str:
    return "(" + _clean(s).replace("\\", "").replace("(", "").replace(")", "") + ")"


def dnssec_comment(authentic: bool) -> str:
    return "with dnssec" if authentic else "without dnssec"


@dataclass(frozen=True)
class AuthProp:
    """``ptype.property=value (comment)``, e.g. ``smtp.mailfrom=example.org``."""

    ptype: str
    property: str
    value: str
    comment: str = ""

    def text(self) -> str:
        v = _clean(self.value)
        if not _PVALUE.match(v) and not _TOKEN.match(v):
            v = _quote(v)
        out = f"{self.ptype}.{self.property}={v}"
        if self.comment:
            out += " " + _comment(self.comment)
        return out


@dataclass(frozen=True)
class AuthMethod:
    method: str
    result: str
    comment: str = ""
    reason: str = ""
    props: tuple[AuthProp, ...] = ()

    def tokens(self) -> list[str]:
        out = [f"{self.method}={self.result}"]
        if self.comment:
            out.append(_comment(self.comment))
        if self.reason:
            out.append("reason=" + _quote(self.reason))
        out.extend(p.text() for p in self.props)
        return out


@dataclass
class AuthResults:
    """An Authentication-Results header for ``hostname`` (the authserv-id)."""

    hostname: str
    methods: list[AuthMethod] = field(default_factory=list)
    comment: str = ""

    def header(self) -> str:
        """The header field including its name and trailing CRLF, folded."""
        lines: list[str] = []
        line = "Authentication-Results:"
        if self.comment:
            line += " " + _comment(self.comment)
        line += " " + _clean(self.hostname) + ";"
        if not self.methods:
            return line + " none\r\n"
        for i, m in enumerate(self.methods):
            toks = m.tokens()
            if i < len(self.methods) - 1:
                toks[-1] += ";"
            for t in toks:
                if len(line) + 1 + len(t) > 78:
                    lines.append(line)
                    line = "\t" + t
                else:
                    line += " " + t
        lines.append(line)
        return "\r\n".join(lines) + "\r\n"


def spf_method(r: SPFResult) -> AuthMethod:
    """``spf=<status> (with/without dnssec) smtp.mailfrom=<domain>`` or ``smtp.helo=<helo>``."""
    if r.identity == "mailfrom":
        prop = AuthProp("smtp", "mailfrom", r.domain)
    else:
        prop = AuthProp("smtp", "helo", r.helo or r.domain)
    return AuthMethod("spf", r.status, dnssec_comment(r.authentic), "", (prop,))


def dkim_methods(results: Sequence[DKIMResult]) -> list[AuthMethod]:
    """One ``dkim=`` per signature, as mox: ``(2048 bit rsa, with dnssec)``, header.d/s/a/b and
    header.i; ``dkim=none reason="no dkim signatures"`` without any (RFC 8601 §2.7.1)."""
    if not results:
        return [AuthMethod("dkim", "none", "", "no dkim signatures")]
    out = []
    for r in results:
        props: list[AuthProp] = []
        comment = ""
        if r.domain and r.selector:
            props = [AuthProp("header", "d", r.domain), AuthProp("header", "s", r.selector)]
            if r.algorithm:
                props.append(AuthProp("header", "a", r.algorithm))
            if r.header_b:
                props.append(AuthProp("header", "b", r.header_b))
            if r.identity:
                props.append(AuthProp("header", "i", r.identity))
            comment = (f"{r.key_bits} bit rsa, " if r.key_bits else "") + dnssec_comment(r.authentic)
        out.append(
            AuthMethod("dkim", r.status, comment, r.reason if r.status != "pass" else "", tuple(props))
        )
    return out


def dmarc_method(r: DMARCResult) -> AuthMethod:
    """``dmarc=<status> (with/without dnssec) header.from=<domain>``; ``dmarc=none`` without From."""
    if not r.domain:
        return AuthMethod("dmarc", r.status)
    return AuthMethod(
        "dmarc", r.status, dnssec_comment(r.authentic), "", (AuthProp("header", "from", r.domain),)
    )


def iprev_method(r: IPRevResult) -> AuthMethod:
    """``iprev=<status> (with/without dnssec) policy.iprev=<ip>``."""
    return AuthMethod(
        "iprev", r.status, dnssec_comment(r.authentic), "", (AuthProp("policy", "iprev", r.ip),)
    )


def arc_method(r: ARCResult, remote_ip: str = "") -> AuthMethod:
    props = (AuthProp("smtp", "remote-ip", remote_ip),) if remote_ip else ()
    return AuthMethod("arc", r.status, "", r.reason if r.status not in ("pass", "none") else "", props)
