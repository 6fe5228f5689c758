"""Syntax of SPF records (RFC 7208 §4.6, §12 ABNF): parse into directives and modifiers.

Evaluation is pyspf's (app.mailauth.spf); this parser serves ``moxpy spf parse`` and tells an
administrator exactly what is wrong with a record.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")

_MACRO = re.compile(r"%\{[slodiphcrtvSLODIPHCRTV][0-9]*[rR]?[.\-+,/_=]*\}|%%|%_|%-")
_LITERAL = re.compile(r"[\x21-\x24\x26-\x7e]")
_TOPLABEL = re.compile(r"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9])$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.]*$")


class SPFSyntaxError(ValueError):
    """The record violates RFC 7208's grammar; the message says where."""


@dataclass(frozen=True)
class Directive:
    qualifier: str  # one of + - ~ ?
    mechanism: str
    value: str = ""  # domain-spec or network
    cidr4: int | None = None
    cidr6: int | None = None


@dataclass(frozen=True)
class SPFRecord:
    directives: tuple[Directive, ...]
    redirect: str = ""
    explanation: str = ""
    other: dict[str, str] = field(default_factory=dict)


def _macro_string(s: str, what: str) -> None:
    i = 0
    while i < len(s):
        m = _MACRO.match(s, i)
        if m:
            i = m.end()
            continue
        if s[i] == "%":
            raise SPFSyntaxError(f"invalid macro in {what} at {s[i : i + 10]!r}")
        if not _LITERAL.match(s[i]):
            raise SPFSyntaxError(f"invalid character {s[i]!r} in {what}")
        i += 1


def _domain_spec(s: str, what: str) -> None:
    if not s:
        raise SPFSyntaxError(f"empty domain in {what}")
    _macro_string(s, what)
    if "%" in s and _MACRO.fullmatch(s[s.rfind("%") :]):
        return  # domain-end is a macro-expand
    body = s[:-1] if s.endswith(".") else s
    if "." not in body:
        raise SPFSyntaxError(f"domain in {what} must be fully qualified: {s!r}")
    top = body.rsplit(".", 1)[1]
    if not _TOPLABEL.match(top):
        raise SPFSyntaxError(f"invalid top label {top!r} in {what}")


def _cidr(s: str, what: str) -> tuple[str, int | None, int | None]:
    """Split ``value/24//64`` into value and the dual CIDR lengths."""
    c4: int | None = None
    c6: int | None = None
    if "//" in s:
        s, v6 = s.split("//", 1)
        if not v6.isdigit() or int(v6) > 128 or (len(v6) > 1 and v6[0] == "0"):
            raise SPFSyntaxError(f"invalid ip6 cidr length in {what}")
        c6 = int(v6)
    if "/" in s:
        s, v4 = s.rsplit("/", 1)
        if not v4.isdigit() or int(v4) > 32 or (len(v4) > 1 and v4[0] == "0"):
            raise SPFSyntaxError(f"invalid ip4 cidr length in {what}")
        c4 = int(v4)
    return s, c4, c6


def _directive(term: str) -> Directive:
    q = "+"
    if term[0] in QUALIFIERS:
        q, term = term[0], term[1:]
    name, sep, arg = term.partition(":")
    mech = name.lower()
    if mech not in MECHANISMS:
        # a/mx may carry a cidr without domain: "a/24".
        base = name.split("/", 1)[0].lower()
        if base in ("a", "mx") and not sep:
            _, c4, c6 = _cidr(term[len(base) :], term)
            return Directive(q, base, "", c4, c6)
        raise SPFSyntaxError(f"unknown mechanism {name!r}")
    if mech == "all":
        if sep:
            raise SPFSyntaxError("all takes no argument")
        return Directive(q, mech)
    if mech in ("include", "exists"):
        if not sep:
            raise SPFSyntaxError(f"{mech} needs a domain")
        _domain_spec(arg, term)
        return Directive(q, mech, arg)
    if mech == "ptr":
        if sep:
            _domain_spec(arg, term)
        return Directive(q, mech, arg)
    if mech in ("ip4", "ip6"):
        if not sep:
            raise SPFSyntaxError(f"{mech} needs a network")
        if mech == "ip4":
            net, _, length = arg.partition("/")
            try:
                ipaddress.IPv4Address(net)
            except ValueError:
                raise SPFSyntaxError(f"invalid ip4 address {net!r}") from None
            if length and (not length.isdigit() or int(length) > 32):
                raise SPFSyntaxError(f"invalid ip4 cidr length {length!r}")
            return Directive(q, mech, net, int(length) if length else None)
        net, _, length = arg.partition("/")
        try:
            ipaddress.IPv6Address(net)
        except ValueError:
            raise SPFSyntaxError(f"invalid ip6 address {net!r}") from None
        if length and (not length.isdigit() or int(length) > 128):
            raise SPFSyntaxError(f"invalid ip6 cidr length {length!r}")
        return Directive(q, mech, net, None, int(length) if length else None)
    # a, mx with ":domain[/cidr]"
    value, c4, c6 = _cidr(arg, term)
    if sep:
        _domain_spec(value, term)
    return Directive(q, mech, value, c4, c6)


def parse(text: str) -> SPFRecord:
    """Parse an SPF record; raises SPFSyntaxError with the reason."""
    terms = text.split(" ")
    if not terms or terms[0].lower() != "v=spf1":
        raise SPFSyntaxError("record must start with v=spf1")
    directives: list[Directive] = []
    redirect = exp = ""
    other: dict[str, str] = {}
    for term in terms[1:]:
        if not term:
            continue
        if not term.isascii() or not term.isprintable():
            raise SPFSyntaxError(f"invalid characters in term {term[:40]!r}")
        m = re.match(r"^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)$", term)
        if m:
            name, value = m.group(1).lower(), m.group(2)
            if name == "redirect":
                if redirect:
                    raise SPFSyntaxError("duplicate redirect")
                _domain_spec(value, term)
                redirect = value
            elif name == "exp":
                if exp:
                    raise SPFSyntaxError("duplicate exp")
                _domain_spec(value, term)
                exp = value
            else:
                if not _NAME.match(name):
                    raise SPFSyntaxError(f"invalid modifier name {name!r}")
                _macro_string(value, term)
                other[name] = value
            continue
        directives.append(_directive(term))
    return SPFRecord(tuple(directives), redirect, exp, other)
