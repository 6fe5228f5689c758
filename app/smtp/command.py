"""SMTP command lines and their arguments (RFC 5321 section 4.1, RFC 1869/5321 ESMTP parameters).

Pure parsing, no state: ``parse_command`` splits a received line into verb and argument,
``parse_mail``/``parse_rcpt`` parse ``FROM:<path> params`` and ``TO:<path> params``, and
``parse_ehlo_domain`` checks the EHLO/HELO argument. Errors are ``SMTPError`` with the reply mox
gives. Paths keep their localpart and domain as text; domains are lower-cased ASCII or, with
SMTPUTF8, NFC-normalized UTF-8.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from app.smtp import codes as c
from app.smtp.reply import SMTPError

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_LDH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
# RFC 5321 section 4.1.2 Dot-string: atoms of "atext" (RFC 5322 section 3.2.3), with SMTPUTF8
# (RFC 6531) also any non-ASCII character, separated by single dots.
_ATEXT_CLASS = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~"
_DOT_STRING = re.compile(f"[{_ATEXT_CLASS}]+(?:\\.[{_ATEXT_CLASS}]+)*")
_DOT_STRING_UTF8 = re.compile(f"[{_ATEXT_CLASS}\u0080-\U0010ffff]+(?:\\.[{_ATEXT_CLASS}\u0080-\U0010ffff]+)*")

MAX_LOCALPART = 64  # RFC 5321 section 4.5.3.1.1
MAX_DOMAIN = 255  # RFC 5321 section 4.5.3.1.2
MAX_PATH = 256  # RFC 5321 section 4.5.3.1.3


@dataclass(frozen=True)
class Command:
    """A command line: upper-case verb and the raw argument text after the first space."""

    verb: str
    arg: str


@dataclass(frozen=True)
class Path:
    """A reverse- or forward-path. ``localpart == domain == ""`` is the null path ``<>``."""

    localpart: str
    domain: str

    @property
    def is_null(self) -> bool:
        return not self.localpart and not self.domain

    def __str__(self) -> str:
        # Computed once: a path is formatted many times per transaction (headers, queue, logs).
        text: str | None = self.__dict__.get("_text")
        if text is None:
            text = _path_text(self.localpart, self.domain)
            object.__setattr__(self, "_text", text)
        return text

    @property
    def ascii(self) -> bool:
        return str(self).isascii()


def _path_text(localpart: str, domain: str) -> str:
    if not localpart and not domain:
        return ""
    lp = localpart
    if not is_dot_string(lp, utf8=True):
        lp = '"' + lp.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{lp}@{domain}"


@dataclass
class MailArgs:
    """Parsed ``MAIL FROM:`` argument."""

    path: Path
    params: dict[str, str | None] = field(default_factory=dict)


@dataclass
class RcptArgs:
    """Parsed ``RCPT TO:`` argument; ``postmaster`` is set for the bare ``<Postmaster>`` form."""

    path: Path
    params: dict[str, str | None] = field(default_factory=dict)
    postmaster: bool = False


def syntax_error(text: str) -> SMTPError:
    return SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, text)


def parse_command(line: bytes) -> Command:
    """Split a command line (CRLF already removed) into verb and argument.

    The line must be UTF-8 (RFC 6531 allows UTF-8 in paths); control characters are refused.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_SYNTAX2, "invalid utf-8 in command line")
    if _CONTROL.search(text):
        raise SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_SYNTAX2, "control characters in command line")
    verb, _, arg = text.partition(" ")
    if not verb.isascii():
        raise SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_CMD1, "unknown command")
    return Command(verb.upper(), arg)


def is_dot_string(s: str, utf8: bool = False) -> bool:
    """RFC 5321 Dot-string: atoms of atext separated by single dots (RFC 6531 adds UTF-8)."""
    return (_DOT_STRING_UTF8 if utf8 else _DOT_STRING).fullmatch(s) is not None


def _parse_quoted(s: str, i: int, utf8: bool) -> tuple[str, int]:
    """Parse a quoted-string starting at s[i] == '"'; return its content and the index after it."""
    out: list[str] = []
    i += 1
    while i < len(s):
        ch = s[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 >= len(s) or not (32 <= ord(s[i + 1]) <= 126):
                raise syntax_error("bad quoted-pair in localpart")
            out.append(s[i + 1])
            i += 2
            continue
        o = ord(ch)
        if o in (32, 33) or 35 <= o <= 91 or 93 <= o <= 126 or (utf8 and o >= 0x80):
            out.append(ch)
            i += 1
            continue
        raise syntax_error("bad character in quoted localpart")
    raise syntax_error("unterminated quoted localpart")


def parse_domain(s: str, utf8: bool = False) -> str:
    """A domain (or address literal ``[1.2.3.4]`` / ``[IPv6:...]``), normalized.

    ASCII labels are letters, digits and hyphens (RFC 5321 section 4.1.2); with SMTPUTF8, U-labels
    are accepted and NFC-normalized (RFC 6531 section 3.3). Valid names are cached (clients
    name the same few domains over and over); errors are raised each time.
    """
    return _parse_domain(s, utf8)


@lru_cache(maxsize=4096)
def _parse_domain(s: str, utf8: bool) -> str:
    if s.startswith("["):
        if not s.endswith("]"):
            raise syntax_error("bad address literal")
        inner = s[1:-1]
        try:
            if inner.lower().startswith("ipv6:"):
                ip6 = ipaddress.IPv6Address(inner[5:])
                return f"[IPv6:{ip6}]"
            return f"[{ipaddress.IPv4Address(inner)}]"
        except ValueError:
            raise syntax_error("bad address literal")
    if not s or len(s) > MAX_DOMAIN:
        raise syntax_error("bad domain")
    d = s.rstrip(".") if s.endswith(".") and not s.endswith("..") else s
    labels = d.split(".")
    for lab in labels:
        if not lab or len(lab) > 63 or lab.startswith("-") or lab.endswith("-"):
            raise syntax_error("bad domain label")
        if lab.isascii():
            if not all(ch in _LDH for ch in lab.lower()):
                raise syntax_error("bad character in domain")
        elif not utf8:
            raise SMTPError(c.C553_BAD_MAILBOX, c.SE_MSG_UTF8_HDR7, "non-ascii domain without smtputf8")
        elif not all(ch.isalnum() or ch == "-" or ord(ch) >= 0x80 for ch in lab):
            raise syntax_error("bad character in domain")
    return unicodedata.normalize("NFC", d).lower()


def parse_mailbox(s: str, utf8: bool = False) -> Path:
    """RFC 5321 Mailbox: Local-part "@" ( Domain / address-literal )."""
    if s.startswith('"'):
        lp, i = _parse_quoted(s, 0, utf8)
        if i >= len(s) or s[i] != "@":
            raise syntax_error("missing @ after localpart")
        rest = s[i + 1 :]
    else:
        lp, at, rest = s.rpartition("@")
        if not at:
            raise syntax_error("missing @ in address")
        if not is_dot_string(lp, utf8=utf8):
            if not lp.isascii() and not utf8:
                raise SMTPError(
                    c.C553_BAD_MAILBOX, c.SE_MSG_UTF8_HDR7, "non-ascii localpart without smtputf8"
                )
            raise syntax_error("bad localpart")
    if len(lp.encode()) > MAX_LOCALPART:
        raise syntax_error("localpart too long")
    if not lp.isascii():
        lp = unicodedata.normalize("NFC", lp)
    return Path(lp, parse_domain(rest, utf8))


def _split_path(arg: str, pedantic: bool) -> tuple[str, str]:
    """Split ``<path> params`` into the text inside the brackets and the parameter text."""
    if arg.startswith(" "):
        if pedantic:
            raise syntax_error("space after colon not allowed")
        arg = arg.lstrip(" ")
    if not arg.startswith("<"):
        raise syntax_error("path must start with <")
    end = arg.find(">")
    # A quoted localpart may contain ">".
    if '"' in arg[: end if end >= 0 else len(arg)]:
        i = arg.index('"')
        _, j = _parse_quoted(arg, i, True)
        end = arg.find(">", j)
    if end < 0:
        raise syntax_error("missing > after path")
    inner, rest = arg[1:end], arg[end + 1 :]
    if rest and not rest.startswith(" "):
        raise syntax_error("expected space after path")
    if len(inner.encode()) > MAX_PATH:
        raise syntax_error("path too long")
    return inner, rest.strip(" ")


def _strip_source_route(inner: str) -> str:
    # RFC 5321 section 4.1.2: A-d-l source routes MUST be accepted and SHOULD be ignored.
    if inner.startswith("@"):
        colon = inner.find(":")
        if colon < 0:
            raise syntax_error("bad source route")
        return inner[colon + 1 :]
    return inner


def parse_params(text: str) -> dict[str, str | None]:
    """ESMTP parameters ``KEY[=VALUE]`` separated by spaces (RFC 5321 section 4.1.2).

    Keys are upper-cased; a duplicate key is an error (501).
    """
    params: dict[str, str | None] = {}
    for item in text.split(" ") if text else []:
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not key or not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in key):
            raise syntax_error("bad parameter syntax")
        k = key.upper()
        if k in params:
            raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_PARAM4, f'duplicate param "{k}"')
        params[k] = value if eq else None
    return params


def _smtputf8_param(params_text: str) -> bool:
    return any(p.upper() == "SMTPUTF8" for p in params_text.split(" "))


def parse_mail(arg: str, pedantic: bool = False) -> MailArgs:
    """``FROM:<reverse-path> [params]`` (RFC 5321 section 4.1.1.2)."""
    if not arg[:5].upper() == "FROM:":
        raise syntax_error("expected FROM:")
    inner, ptext = _split_path(arg[5:], pedantic)
    params = parse_params(ptext)
    utf8 = "SMTPUTF8" in params
    inner = _strip_source_route(inner)
    path = Path("", "") if inner == "" else parse_mailbox(inner, utf8)
    return MailArgs(path, params)


def parse_rcpt(arg: str, pedantic: bool = False, utf8: bool = False) -> RcptArgs:
    """``TO:<forward-path> [params]`` (RFC 5321 section 4.1.1.3); ``utf8`` from the MAIL command."""
    if not arg[:3].upper() == "TO:":
        raise syntax_error("expected TO:")
    inner, ptext = _split_path(arg[3:], pedantic)
    params = parse_params(ptext)
    if inner.lower() == "postmaster":
        return RcptArgs(Path("postmaster", ""), params, postmaster=True)
    inner = _strip_source_route(inner)
    if inner == "":
        raise syntax_error("empty forward path")
    return RcptArgs(parse_mailbox(inner, utf8), params)


def parse_ehlo_domain(arg: str) -> str:
    """The EHLO/HELO argument: a domain or address literal (RFC 5321 section 4.1.1.1).

    Returned as given after validation (mox keeps it for the Received header); raises 501 when
    missing or malformed.
    """
    name = arg.strip(" ")
    if not name:
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "missing domain")
    # Some clients add text after the domain; only the first word counts.
    name = name.split(" ")[0]
    if name.startswith("["):
        parse_domain(name)
        return name
    try:
        parse_domain(name, utf8=True)
    except SMTPError:
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "invalid domain")
    return name
