"""Composing messages: headers, text/HTML bodies, attachments, inline parts, forwards.

Builds RFC 5322 messages with MIME (RFC 2045-2049): multipart/alternative for text+HTML,
multipart/related for inline parts, multipart/mixed for attachments and message/rfc822 forwards.
Header values are folded, non-ASCII text becomes RFC 2047 encoded words (or stays UTF-8 when the
message is for SMTPUTF8, RFC 6532), file names use RFC 2231. Bodies get the cheapest safe
transfer encoding: 7bit, quoted-printable for mostly-ASCII text, base64 otherwise.
A CR or LF in any header value or parameter given by the caller raises ``HeaderInjection``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.message.encoded import encode_rfc2047
from app.message.headers import HeaderInjection, fold
from app.message.params import format_params, parse_content_type
from app.smtp.address import AddressError, parse_address

_ATOM_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~ ")


def check_header(value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise HeaderInjection(f"line break in header value {value[:60]!r}")
    return value


@dataclass
class Attachment:
    """A file to attach; ``inline`` with a ``content_id`` for images referenced as cid: in HTML."""

    data: bytes
    content_type: str = "application/octet-stream"
    filename: str | None = None
    inline: bool = False
    content_id: str | None = None


def format_address(name: str, addr: str, smtputf8: bool = False) -> str:
    """``Name <local@domain>`` with the name quoted or encoded as needed; validates the address."""
    check_header(name)
    check_header(addr)
    try:
        a = parse_address(addr, True)
    except AddressError as e:
        raise ValueError(f"bad address {addr!r}: {e}") from None
    if not smtputf8 and not a.localpart.isascii():
        raise ValueError(f"address {addr!r} needs SMTPUTF8")
    spec = a.pack(smtputf8)
    if not name:
        return spec
    if not name.isascii() and not smtputf8:
        disp = encode_rfc2047(name)
    elif (
        all(c in _ATOM_OK or (ord(c) > 127 and c.isprintable()) for c in name)
        and name.strip() == name
        and "  " not in name
    ):
        disp = name
    else:
        disp = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{disp} <{spec}>"


def text_body(text: str, eightbit: bool = False) -> tuple[str, bytes]:
    """(transfer encoding, encoded body with CRLF) for a text body in UTF-8.

    ``eightbit``: the message goes out over 8BITMIME/SMTPUTF8, so UTF-8 text with lines within
    998 octets is sent as is ("8bit", as mox does); otherwise it is encoded.
    """
    norm = text.replace("\r\n", "\n").replace("\r", "\n")
    raw = norm.encode("utf-8")
    if all(len(line) <= 998 for line in raw.split(b"\n")):
        if raw.isascii():
            return "7bit", raw.replace(b"\n", b"\r\n")
        if eightbit and "\0" not in norm:
            return "8bit", raw.replace(b"\n", b"\r\n")
    nonascii = sum(1 for c in norm if not c.isascii())
    if nonascii * 4 < len(norm):
        qp = binascii.b2a_qp(raw, quotetabs=False, istext=True, header=False)
        return "quoted-printable", qp.replace(b"\n", b"\r\n")
    # Canonical text has CRLF line endings (RFC 2045 section 6.8) before base64 encoding.
    crlf = norm.replace("\n", "\r\n").encode("utf-8")
    return "base64", base64.encodebytes(crlf).replace(b"\n", b"\r\n")


def _binary_body(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


@dataclass
class _Node:
    headers: list[str]
    body: bytes = b""
    children: list[_Node] = field(default_factory=list)
    subtype: str = ""

    def render(self) -> bytes:
        out = [h.encode("utf-8") for h in self.headers]
        if not self.children:
            return b"".join(out) + b"\r\n" + self.body
        boundary = "mox-" + secrets.token_hex(12)
        out.append(fold("Content-Type", f'multipart/{self.subtype}; boundary="{boundary}"').encode())
        parts = [b"".join(out), b"\r\n"]
        for c in self.children:
            parts += [b"--", boundary.encode(), b"\r\n", c.render(), b"\r\n"]
        parts += [b"--", boundary.encode(), b"--\r\n"]
        return b"".join(parts)


def _multi(subtype: str, children: list[_Node]) -> _Node:
    return children[0] if len(children) == 1 else _Node([], children=children, subtype=subtype)


@dataclass
class Composer:
    """Fill in the fields, call ``build()`` for the message bytes."""

    from_: tuple[str, str]
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    bcc: list[tuple[str, str]] = field(default_factory=list)
    reply_to: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    forward: bytes | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    message_id: str | None = None
    date: datetime | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    smtputf8: bool = False
    eightbit: bool = False  # 8BITMIME available: UTF-8 text parts as 8bit (implied by smtputf8)

    def _hdr(self, name: str, value: str) -> str:
        check_header(name)
        check_header(value)
        if not name or any(c in name for c in ": \t") or not name.isascii():
            raise HeaderInjection(f"bad header name {name!r}")
        return fold(name, value)

    def _addrs(self, name: str, lst: list[tuple[str, str]]) -> str:
        return self._hdr(name, ", ".join(format_address(n, a, self.smtputf8) for n, a in lst))

    def _text_node(self, subtype: str, text: str) -> _Node:
        cte, body = text_body(text, self.eightbit or self.smtputf8)
        ct = f"text/{subtype}" + ("; charset=us-ascii" if cte == "7bit" else "; charset=utf-8")
        return _Node([fold("Content-Type", ct), f"Content-Transfer-Encoding: {cte}\r\n"], body)

    def _att_node(self, a: Attachment) -> _Node:
        check_header(a.content_type)
        t, st, ctparams, defects = parse_content_type(a.content_type)
        if not t or defects or t in ("multipart", "message"):
            raise ValueError(f"bad attachment content type {a.content_type[:60]!r}")
        params: dict[str, str] = {}
        if a.filename:
            check_header(a.filename)
            params["filename"] = a.filename
            ctparams["name"] = a.filename
        hdrs = [fold("Content-Type", f"{t}/{st}" + format_params(ctparams))]
        hdrs.append(
            fold("Content-Disposition", ("inline" if a.inline else "attachment") + format_params(params))
        )
        if a.content_id:
            hdrs.append(self._hdr("Content-ID", f"<{a.content_id.strip('<>')}>"))
        hdrs.append("Content-Transfer-Encoding: base64\r\n")
        return _Node(hdrs, _binary_body(a.data))

    def _forward_node(self, msg: bytes) -> _Node:
        msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        sub = "global" if self.smtputf8 and not msg.isascii() else "rfc822"
        cte = "7bit" if msg.isascii() else "8bit"
        return _Node([f"Content-Type: message/{sub}\r\n", f"Content-Transfer-Encoding: {cte}\r\n"], msg)

    def build(self) -> bytes:
        addr = self.from_[1]
        domain = addr.rsplit("@", 1)[-1]
        mid = self.message_id or f"{secrets.token_urlsafe(15)}@{domain}"
        date = self.date or datetime.now(UTC)
        subj = check_header(self.subject) if self.smtputf8 else encode_rfc2047(check_header(self.subject))
        top = [self._addrs("From", [self.from_])]
        for hname, lst in (("To", self.to), ("Cc", self.cc), ("Bcc", self.bcc), ("Reply-To", self.reply_to)):
            if lst:
                top.append(self._addrs(hname, lst))
        top.append(self._hdr("Subject", check_header(subj)))
        top.append(self._hdr("Message-ID", f"<{mid.strip('<>')}>"))
        top.append(self._hdr("Date", email.utils.format_datetime(date)))
        if self.in_reply_to:
            top.append(self._hdr("In-Reply-To", f"<{self.in_reply_to.strip('<>')}>"))
        if self.references:
            top.append(self._hdr("References", " ".join(f"<{r.strip('<>')}>" for r in self.references)))
        for hname, v in self.headers:
            top.append(self._hdr(hname, v))
        top.append("MIME-Version: 1.0\r\n")

        texts = [self._text_node("plain", self.text if self.text is not None else "")]
        if self.html is not None:
            texts = ([texts[0]] if self.text is not None else []) + [self._text_node("html", self.html)]
        node = _multi("alternative", texts)
        inline = [self._att_node(a) for a in self.attachments if a.inline]
        if inline:
            node = _multi("related", [node, *inline])
        mixed = [self._att_node(a) for a in self.attachments if not a.inline]
        if self.forward is not None:
            mixed.append(self._forward_node(self.forward))
        if mixed:
            node = _multi("mixed", [node, *mixed])
        node.headers = top + node.headers
        return node.render()
