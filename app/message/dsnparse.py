"""Parsing incoming delivery status notifications (RFC 3464, RFC 6533) into per-recipient status.

Accepts multipart/report messages with report-type delivery-status whose status part is
message/delivery-status or message/global-delivery-status (also when wrongly transfer-encoded).
The returned original headers give the Message-ID the queue matches against its sent messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.message.decode import decode_binary
from app.message.encoded import header_text
from app.message.headers import header_value, iter_fields, unfold
from app.message.parser import as_buffer, parse
from app.message.part import Buffer, Part
from app.message.thread import message_id

_XTEXT = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
_GROUP_SPLIT = re.compile(rb"\r?\n[ \t]*\r?\n")


@dataclass
class DSNRecipient:
    final_recipient: str
    action: str
    status: str
    original_recipient: str | None = None
    remote_mta: str | None = None
    diagnostic_code: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class DSNInfo:
    reporting_mta: str | None
    recipients: list[DSNRecipient]
    envelope_id: str | None = None
    arrival_date: str | None = None
    original_message_id: str | None = None
    original_headers: bytes = b""
    fields: dict[str, str] = field(default_factory=dict)


def _uncomment(s: str) -> str:
    out: list[str] = []
    depth = 0
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def _typed(v: str | None, uncomment: bool = False) -> str | None:
    """Strip the address/MTA type ("rfc822; x", "dns; y") and decode utf-8-addr-xtext; addresses
    also lose comments (``rfc822; a@b (old mailbox)``)."""
    if v is None:
        return None
    if uncomment:
        v = _uncomment(v)
    t, sep, rest = v.partition(";")
    if not sep:
        return v.strip()
    rest = rest.strip()
    if t.strip().lower() == "utf-8":
        rest = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), rest)
    return rest


def _groups(b: bytes) -> list[dict[str, str]]:
    out = []
    for g in _GROUP_SPLIT.split(b.strip(b"\r\n") + b"\n"):
        if not g.strip():
            continue
        if not g.endswith(b"\n"):
            g += b"\n"
        d: dict[str, str] = {}
        for name, raw in iter_fields(g, 0, len(g)):
            d.setdefault(name.lower(), unfold(header_text(raw)).strip())
        out.append(d)
    return out


def _status_part(root: Part) -> tuple[Part, Part | None] | None:
    report = None
    for p in root.walk():
        if is_dsn(p):
            report = p
            break
    if report is None:
        return None
    status = orig = None
    for c in report.parts:
        if c.mime_type in _STATUS_TYPES:
            status = status or c
        elif c.mime_type in (
            "text/rfc822-headers",
            "message/global-headers",
            "message/rfc822",
            "message/global",
        ):
            orig = orig or c
    return (status, orig) if status is not None else None


_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


def is_dsn(part: Part) -> bool:
    """Whether a parsed message is a DSN: multipart/report with report-type delivery-status, or
    (as mox checks) whose second part is a (global) delivery-status part."""
    if part.mime_type != "multipart/report":
        return False
    if part.params.get("report-type", "").lower() in ("delivery-status", "global-delivery-status"):
        return True
    return len(part.parts) >= 2 and part.parts[1].mime_type in _STATUS_TYPES


def parse_dsn(data: Buffer) -> DSNInfo | None:
    """The DSN's information, or None when the message is not a delivery status notification."""
    buf = as_buffer(data)
    root = parse(buf)
    found = _status_part(root)
    if found is None:
        return None
    status, orig = found
    try:
        body = decode_binary(buf, status)
    except ValueError:
        body = bytes(buf[status.body_start : status.body_end])
    groups = _groups(body)
    if not groups:
        return None
    msgf = groups[0]
    rcpts = []
    for g in groups[1:]:
        rcpts.append(
            DSNRecipient(
                final_recipient=_typed(g.get("final-recipient"), True) or "",
                action=g.get("action", "").lower(),
                status=g.get("status", "").split()[0] if g.get("status") else "",
                original_recipient=_typed(g.get("original-recipient"), True),
                remote_mta=_typed(g.get("remote-mta")),
                diagnostic_code=_typed(g.get("diagnostic-code")),
                fields=g,
            )
        )
    info = DSNInfo(
        reporting_mta=_typed(msgf.get("reporting-mta"), True),
        recipients=rcpts,
        envelope_id=msgf.get("original-envelope-id"),
        arrival_date=msgf.get("arrival-date"),
        fields=msgf,
    )
    if orig is not None:
        if orig.message is not None:
            hp = orig.message
            info.original_headers = bytes(buf[hp.header_start : hp.body_start])
        else:
            info.original_headers = bytes(buf[orig.body_start : orig.body_end])
        oh = info.original_headers
        hpart = Part(0, len(oh), len(oh))
        mid = header_value(oh, hpart, "message-id")
        info.original_message_id = message_id(mid) if mid else None
    return info
