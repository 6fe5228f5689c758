"""Email addresses: RFC 5321 paths/mailboxes and RFC 5322 address lists, with SMTPUTF8 and IDNA.

- ``parse_path``/``parse_address``: strict RFC 5321 section 4.1.2 syntax (dot-string or
  quoted-string local part, domain or address literal); UTF-8 only with SMTPUTF8 (RFC 6531).
- ``parse_address_list``: RFC 5322 section 3.4 address lists with groups, quoted local parts,
  comments, RFC 2047 display names, UTF-8 (RFC 6532) and the obsolete forms of section 4.4 that
  mail clients still produce (obs-phrase with dots, obs-local-part, obs-route, empty list
  elements). Anything that could be read two ways, like ``alice@example.org)<bob@example.com>``
  (CVE-2023-27043), is an error, never guessed.
- Local parts are NFC-normalized (RFC 6532 section 3.1); domains go through ``idna_domain``.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field

from app.smtp.idna_domain import Domain, DomainError, parse_domain

__all__ = [
    "Address",
    "AddressError",
    "Domain",
    "DomainError",
    "Group",
    "Localpart",
    "MailboxAddr",
    "Path",
    "canonical_localpart",
    "parse_address",
    "parse_address_list",
    "parse_domain",
    "parse_localpart",
    "parse_path",
]

_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_SPECIALS = frozenset('()<>[]:;@\\,."')
_DOT_ATOM_ASCII = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
# A bare ASCII addr-spec with a dot-atom local part and domain (the common ``From: a@b.example``):
# parse_address_list reads it without tokenizing.
_SIMPLE_ADDR_SPEC = re.compile(
    r"([A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
)


class AddressError(ValueError):
    """An address, path or address list that does not parse."""


def _is_atext(c: str, utf8: bool) -> bool:
    return c in _ATEXT or (utf8 and ord(c) > 127 and c.isprintable())


class Localpart(str):
    """A local part in its unquoted, NFC-normalized form; ``quoted()`` gives the wire form."""

    __slots__ = ()

    def __new__(cls, s: str) -> Localpart:
        return super().__new__(cls, unicodedata.normalize("NFC", s))

    def is_dot_atom(self) -> bool:
        if self.isascii():
            return _DOT_ATOM_ASCII.fullmatch(self) is not None
        return bool(self) and all(w and all(_is_atext(c, True) for c in w) for w in self.split("."))

    def quoted(self) -> str:
        """The local part as written in an address: dot-atom when possible, else quoted-string."""
        if self.is_dot_atom():
            return str(self)
        return '"' + self.replace("\\", "\\\\").replace('"', '\\"') + '"'


def canonical_localpart(lp: str, separators: list[str], case_sensitive: bool = False) -> Localpart:
    """mox's lookup form: cut at the first catchall separator, lower case unless case-sensitive."""
    for sep in separators:
        if sep:
            lp = lp.split(sep, 1)[0]
    return Localpart(lp if case_sensitive else lp.lower())


@dataclass(frozen=True)
class Address:
    """An address localpart@domain (domain may be an address literal like ``[1.2.3.4]``)."""

    localpart: Localpart
    domain: Domain

    def __str__(self) -> str:
        return f"{self.localpart.quoted()}@{self.domain.unicode}"

    def pack(self, smtputf8: bool) -> str:
        """Wire form: U-labels with SMTPUTF8, A-labels otherwise."""
        return f"{self.localpart.quoted()}@{self.domain.name(smtputf8)}"

    @property
    def is_ascii(self) -> bool:
        return self.localpart.isascii() and not self.domain.is_idn


@dataclass(frozen=True)
class Path:
    """An RFC 5321 reverse/forward path; ``address`` is None for the null path ``<>``."""

    address: Address | None

    @property
    def is_null(self) -> bool:
        return self.address is None

    def __str__(self) -> str:
        return "" if self.address is None else str(self.address)


def _literal_domain(s: str) -> Domain:
    inner = s[1:-1]
    try:
        if inner[:5].lower() == "ipv6:":
            ip = str(ipaddress.IPv6Address(inner[5:]))
            v = f"[IPv6:{ip}]"
        else:
            v = f"[{ipaddress.IPv4Address(inner)}]"
    except ValueError:
        raise AddressError(f"bad address literal {s[:80]!r}") from None
    return Domain(v, v)


def _parse_localpart_5321(s: str, utf8: bool) -> tuple[Localpart, int]:
    """Local-part at the start of s; returns it and the index after it."""
    if s.startswith('"'):
        out: list[str] = []
        i = 1
        while i < len(s):
            c = s[i]
            if c == "\\":
                if i + 1 >= len(s) or not (32 <= ord(s[i + 1]) <= 126 or (utf8 and ord(s[i + 1]) > 127)):
                    raise AddressError("bad quoted-pair in local part")
                out.append(s[i + 1])
                i += 2
                continue
            if c == '"':
                return Localpart("".join(out)), i + 1
            if not (32 <= ord(c) <= 126 or (utf8 and ord(c) > 127)):
                raise AddressError("bad character in quoted local part")
            out.append(c)
            i += 1
        raise AddressError("unterminated quoted local part")
    i = 0
    while i < len(s) and (s[i] == "." or _is_atext(s[i], utf8)):
        i += 1
    lp = s[:i]
    if not lp or lp.startswith(".") or lp.endswith(".") or ".." in lp:
        raise AddressError(f"bad local part {s[:80]!r}")
    return Localpart(lp), i


def parse_localpart(s: str, smtputf8: bool = True) -> Localpart:
    """A whole string as an RFC 5321 Local-part (dot-string or quoted-string); raises AddressError."""
    lp, i = _parse_localpart_5321(s, smtputf8)
    if i != len(s):
        raise AddressError(f"data after local part in {s[:80]!r}")
    return lp


def parse_address(s: str, smtputf8: bool = True) -> Address:
    """RFC 5321 Mailbox ``local@domain``; raises AddressError."""
    if not smtputf8 and not s.isascii():
        raise AddressError("non-ASCII address without SMTPUTF8")
    lp, i = _parse_localpart_5321(s, smtputf8)
    if i >= len(s) or s[i] != "@":
        raise AddressError(f"missing @ in address {s[:80]!r}")
    if len(lp.encode("utf-8")) > 64:  # RFC 5321 section 4.5.3.1.1
        raise AddressError("local part longer than 64 octets")
    d = s[i + 1 :]
    if d.startswith("[") and d.endswith("]"):
        return Address(lp, _literal_domain(d))
    try:
        return Address(lp, parse_domain(d))
    except DomainError as e:
        raise AddressError(str(e)) from None


def parse_path(s: str, smtputf8: bool = False) -> Path:
    """RFC 5321 Reverse-path/Forward-path including the angle brackets; ``<>`` is the null path.

    A source route (``<@a,@b:user@c>``) is accepted and ignored (RFC 5321 section 4.1.2).
    """
    if len(s) < 2 or s[0] != "<" or s[-1] != ">":
        raise AddressError("path must be enclosed in < and >")
    if len(s.encode("utf-8")) > 256:  # RFC 5321 section 4.5.3.1.3
        raise AddressError("path longer than 256 octets")
    inner = s[1:-1]
    if inner == "":
        return Path(None)
    if inner.startswith("@"):
        colon = inner.find(":")
        if colon < 0:
            raise AddressError("bad source route")
        for hop in inner[:colon].split(","):
            if not hop.startswith("@"):
                raise AddressError("bad source route")
            try:
                parse_domain(hop[1:])
            except DomainError as e:
                raise AddressError(str(e)) from None
        inner = inner[colon + 1 :]
    return Path(parse_address(inner, smtputf8))


@dataclass(frozen=True)
class MailboxAddr:
    """One mailbox of an RFC 5322 list: display name (RFC 2047 words not decoded; a comment after
    a bare address serves as name), local part (unquoted), domain and obsolete route as written."""

    name: str
    localpart: str
    domain: str
    route: str = ""

    def address(self) -> Address:
        """As a validated Address (IDNA applied); raises AddressError."""
        return parse_address(f"{Localpart(self.localpart).quoted()}@{self.domain}", True)

    def __str__(self) -> str:
        return f"{Localpart(self.localpart).quoted()}@{self.domain}"


@dataclass(frozen=True)
class Group:
    """An RFC 5322 group ``name: a@b, c@d;``."""

    name: str
    members: list[MailboxAddr] = field(default_factory=list)


class _Tokens:
    """RFC 5322 lexical tokens: ("atom"|"qs"|"dl"|"sp", text, preceded-by-whitespace)."""

    def __init__(self, s: str) -> None:
        self.toks: list[tuple[str, str, bool]] = []
        self.comments: dict[int, str] = {}  # token index following the comment → comment text
        i, n, ws = 0, len(s), False
        while i < n:
            c = s[i]
            if c in " \t\r\n":
                i += 1
                ws = True
            elif c == "(":
                depth, start = 0, i
                while i < n:
                    if s[i] == "\\":
                        i += 1
                    elif s[i] == "(":
                        depth += 1
                    elif s[i] == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    i += 1
                if i >= n:
                    raise AddressError("unterminated comment")
                text = re.sub(r"\\(.)", r"\1", s[start + 1 : i]).strip()
                if text:
                    self.comments[len(self.toks)] = text
                i += 1
                ws = True
            elif c == ")":
                raise AddressError("unbalanced ')' in address list")
            elif c == '"':
                j, out = i + 1, []
                while j < n and s[j] != '"':
                    if s[j] == "\\" and j + 1 < n:
                        j += 1
                    out.append(s[j])
                    j += 1
                if j >= n:
                    raise AddressError("unterminated quoted string")
                self.toks.append(("qs", "".join(out), ws))
                i, ws = j + 1, False
            elif c == "[":
                j = s.find("]", i)
                if j < 0:
                    raise AddressError("unterminated domain literal")
                self.toks.append(("dl", s[i : j + 1], ws))
                i, ws = j + 1, False
            elif c in _SPECIALS:
                self.toks.append(("sp", c, ws))
                i, ws = i + 1, False
            elif _is_atext(c, True):
                j = i
                while j < n and _is_atext(s[j], True):
                    j += 1
                self.toks.append(("atom", s[i:j], ws))
                i, ws = j, False
            else:
                raise AddressError(f"invalid character {c!r} in address list")
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str, bool] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def is_sp(self, c: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t[0] == "sp" and t[1] == c

    def expect(self, c: str) -> None:
        if not self.is_sp(c):
            raise AddressError(f"expected {c!r} in address list")
        self.i += 1


def _phrase(t: _Tokens) -> str:
    """display-name: words (atoms, quoted strings) and obsolete dots; raw (RFC 2047 undecoded)."""
    out: list[str] = []
    while (tok := t.peek()) is not None and (tok[0] in ("atom", "qs") or (tok[0] == "sp" and tok[1] == ".")):
        if out and tok[2]:
            out.append(" ")
        out.append(tok[1])
        t.i += 1
    return "".join(out)


def _addr_spec(t: _Tokens) -> tuple[str, str]:
    lp: list[str] = []
    while True:
        tok = t.peek()
        if tok is None or tok[0] not in ("atom", "qs"):
            raise AddressError("expected local part")
        lp.append(tok[1])
        t.i += 1
        if t.is_sp("."):
            lp.append(".")
            t.i += 1
            continue
        break
    t.expect("@")
    dom: list[str] = []
    tok = t.peek()
    if tok is not None and tok[0] == "dl":
        t.i += 1
        return "".join(lp), tok[1]
    while True:
        tok = t.peek()
        if tok is None or tok[0] != "atom":
            raise AddressError("expected domain")
        dom.append(tok[1])
        t.i += 1
        if t.is_sp("."):
            dom.append(".")
            t.i += 1
            continue
        break
    return Localpart("".join(lp)), "".join(dom)


def _mailbox(t: _Tokens) -> MailboxAddr:
    start = t.i
    name = _phrase(t)
    if t.is_sp("<"):
        t.i += 1
        route = ""
        if t.is_sp("@"):
            # obs-route: "@a,@b:" before the addr-spec.
            r0 = t.i
            while t.peek() is not None and not t.is_sp(":"):
                t.i += 1
            t.expect(":")
            route = "".join(x[1] for x in t.toks[r0 : t.i - 1])
        lp, dom = _addr_spec(t)
        t.expect(">")
        return MailboxAddr(name, lp, dom, route)
    t.i = start
    lp, dom = _addr_spec(t)
    # Obsolete convention "user@domain (Real Name)": the comment after the address names it.
    return MailboxAddr(t.comments.get(t.i, ""), lp, dom)


def parse_address_list(s: str) -> list[MailboxAddr | Group]:
    """Parse an RFC 5322 address-list (To, Cc, From, ...); raises AddressError.

    Display names are returned undecoded (the message layer decodes RFC 2047 words).
    """
    m = _SIMPLE_ADDR_SPEC.fullmatch(s)
    if m is not None:
        return [MailboxAddr("", Localpart(m.group(1)), m.group(2))]
    t = _Tokens(s)
    out: list[MailboxAddr | Group] = []
    while t.peek() is not None:
        if t.is_sp(","):
            t.i += 1  # obs-addr-list allows empty elements
            continue
        start = t.i
        name = _phrase(t)
        if t.is_sp(":"):
            t.i += 1
            members: list[MailboxAddr] = []
            while not t.is_sp(";"):
                if t.peek() is None:
                    raise AddressError("unterminated group")
                if t.is_sp(","):
                    t.i += 1
                    continue
                members.append(_mailbox(t))
                if not (t.is_sp(",") or t.is_sp(";")):
                    raise AddressError("expected ',' or ';' in group")
            t.i += 1
            out.append(Group(name, members))
        else:
            t.i = start
            out.append(_mailbox(t))
        if t.peek() is not None and not t.is_sp(","):
            raise AddressError(f"unexpected {t.peek()[1]!r} after address")  # type: ignore[index]
    return out
