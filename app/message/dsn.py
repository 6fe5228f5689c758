"""Building delivery status notifications (RFC 3464; RFC 6533 for SMTPUTF8 messages).

The DSN is a multipart/report (RFC 6522) with a human-readable text/plain part, the
machine-readable message/delivery-status part and the original's header section as
text/rfc822-headers. When the original used SMTPUTF8 (or a recipient address is not ASCII) and
the receiver of the DSN supports SMTPUTF8, the RFC 6533 forms are used:
message/global-delivery-status with ``utf-8;`` addresses and message/global-headers. When the
receiver does not support SMTPUTF8, addresses use the utf-8-addr-xtext form and UTF-8 original
headers go base64-encoded in text/rfc822-headers; charset=utf-8 (RFC 6533 section 6.3), as mox.
"""

from __future__ import annotations

import base64
import email.utils
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.message.compose import check_header, format_address, text_body
from app.message.encoded import encode_rfc2047
from app.message.headers import fold
from app.message.parser import parse

ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")  # RFC 3464 section 2.3.3
_DEFAULT_STATUS = {"failed": "5.0.0", "delayed": "4.0.0"}


@dataclass
class DSNRecipientIn:
    """One recipient's status for ``make_dsn``."""

    final_recipient: str
    action: str  # one of ACTIONS
    status: str = ""  # e.g. "5.1.1" (RFC 3463); empty: made up from the action
    original_recipient: str | None = None
    remote_mta: str | None = None  # host name, optionally followed by " (ip)"
    diagnostic_code: str | None = None  # the remote SMTP reply, e.g. "550 5.1.1 no such user"
    last_attempt_date: datetime | None = None
    will_retry_until: datetime | None = None
    status_comment: str | None = None  # written after the status code in parentheses
    final_log_id: str | None = None


@dataclass
class DSNMessage:
    """Everything ``make_dsn`` needs; ``original`` is the original message (only its header is used).

    ``smtputf8``: the original message was sent with SMTPUTF8. ``remote_smtputf8``: the server
    that will receive this DSN supports SMTPUTF8 (the UTF-8 forms need both).
    """

    from_: str
    to: str
    subject: str
    text: str
    reporting_mta: str
    recipients: list[DSNRecipientIn] = field(default_factory=list)
    original: bytes | None = None
    envelope_id: str | None = None
    arrival_date: datetime | None = None
    received_from_mta: str | None = None  # host name, optionally followed by " (ip)"
    smtputf8: bool = False
    remote_smtputf8: bool = True
    message_id: str | None = None
    date: datetime | None = None
    from_name: str = "Mail Delivery Subsystem"
    references: str | None = None
    dsn_gateway: str | None = None
    future_release_request: str | None = None  # RFC 4865


def _xtext(addr: str) -> str:
    """RFC 6533 utf-8-addr-xtext: non-ASCII (and "\\", "+", "=") as \\x{HEX}."""
    return "".join(c if c.isascii() and c not in "\\+=" and c > " " else f"\\x{{{ord(c):X}}}" for c in addr)


def _addr_type(addr: str, utf8: bool) -> str:
    if addr.isascii():
        return f"rfc822; {addr}"
    return f"utf-8; {addr}" if utf8 else f"utf-8; {_xtext(addr)}"


def _date(d: datetime) -> str:
    return email.utils.format_datetime(d)


def _field(name: str, value: str) -> str:
    return f"{name}: {check_header(value)}"


def _status_fields(m: DSNMessage, utf8: bool) -> bytes:
    """The message/delivery-status body: per-message fields, then one group per recipient."""
    lines = []
    if m.envelope_id:
        lines.append(_field("Original-Envelope-Id", m.envelope_id))
    lines.append(_field("Reporting-MTA", f"dns; {m.reporting_mta}"))
    if m.dsn_gateway:
        lines.append(_field("DSN-Gateway", f"dns; {m.dsn_gateway}"))
    if m.received_from_mta:
        lines.append(_field("Received-From-MTA", f"dns; {m.received_from_mta}"))
    lines.append(_field("Arrival-Date", _date(m.arrival_date or datetime.now(UTC))))
    if m.future_release_request:
        lines.append(_field("Future-Release-Request", m.future_release_request))
    groups = ["\r\n".join(lines) + "\r\n"]
    for r in m.recipients:
        if r.action not in ACTIONS:
            raise ValueError(f"bad DSN action {r.action!r}")
        status = r.status or _DEFAULT_STATUS.get(r.action, "2.0.0")
        if r.status_comment:
            status += f" ({r.status_comment})"
        rl = []
        if r.original_recipient:
            rl.append(_field("Original-Recipient", _addr_type(r.original_recipient, utf8)))
        rl.append(_field("Final-Recipient", _addr_type(r.final_recipient, utf8)))
        rl.append(_field("Action", r.action))
        rl.append(_field("Status", status))
        if r.remote_mta:
            rl.append(_field("Remote-MTA", f"dns; {r.remote_mta}"))
        if r.diagnostic_code:
            rl.append(_field("Diagnostic-Code", f"smtp; {r.diagnostic_code}"))
        if r.last_attempt_date:
            rl.append(_field("Last-Attempt-Date", _date(r.last_attempt_date)))
        if r.final_log_id:
            rl.append(_field("Final-Log-Id", r.final_log_id))
        if r.will_retry_until:
            rl.append(_field("Will-Retry-Until", _date(r.will_retry_until)))
        groups.append("\r\n".join(rl) + "\r\n")
    return "\r\n".join(groups).encode("utf-8")


def _original_headers(original: bytes) -> bytes:
    op = parse(original)
    oh = bytes(original[op.header_start : op.body_start]).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return oh.rstrip(b"\r\n") + b"\r\n\r\n"


def make_dsn(m: DSNMessage) -> bytes:
    """The DSN message bytes (CRLF line endings); raises ValueError/HeaderInjection on bad input."""
    if not m.recipients:
        raise ValueError("a DSN needs at least one recipient")
    needs_utf8 = m.smtputf8 or any(not r.final_recipient.isascii() for r in m.recipients)
    utf8 = needs_utf8 and m.remote_smtputf8
    status = _status_fields(m, utf8)
    boundary = "mox-dsn-" + secrets.token_hex(12)
    domain = m.from_.rsplit("@", 1)[-1]
    mid = (m.message_id or f"{secrets.token_urlsafe(15)}@{domain}").strip().strip("<>")
    hdr = [
        fold("From", format_address(m.from_name, m.from_, utf8)),
        fold("To", format_address("", m.to, utf8) if utf8 or m.to.isascii() else f"<{_xtext(m.to)}>"),
        fold("Subject", check_header(m.subject) if utf8 else encode_rfc2047(check_header(m.subject))),
        fold("Message-Id", f"<{mid}>"),
        fold("Date", _date(m.date or datetime.now(UTC))),
    ]
    if m.references:
        hdr.append(fold("References", m.references))
    hdr += [
        "MIME-Version: 1.0\r\n",
        fold("Content-Type", f'multipart/report; report-type="delivery-status"; boundary="{boundary}"'),
        "Auto-Submitted: auto-replied\r\n",
        "\r\n",
        "This is a MIME-formatted message.\r\n",
    ]
    b = boundary.encode()
    out = ["".join(hdr).encode("utf-8")]
    cte, body = text_body(m.text)
    charset = "us-ascii" if cte == "7bit" else "utf-8"
    out.append(b"--" + b + b"\r\nContent-Type: text/plain; charset=" + charset.encode())
    out.append(b"\r\nContent-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + body + b"\r\n")
    if utf8:
        out.append(
            b"--"
            + b
            + b"\r\nContent-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n"
        )
    else:
        out.append(b"--" + b + b"\r\nContent-Type: message/delivery-status\r\n")
    out.append(b"\r\n" + status + b"\r\n")
    if m.original is not None:
        oh = _original_headers(m.original)
        if utf8:
            out.append(
                b"--"
                + b
                + b"\r\nContent-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + oh
            )
        elif oh.isascii():
            out.append(b"--" + b + b"\r\nContent-Type: text/rfc822-headers\r\n\r\n" + oh)
        else:
            enc = base64.encodebytes(oh).replace(b"\n", b"\r\n")
            out.append(
                b"--" + b + b"\r\nContent-Type: text/rfc822-headers; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" + enc
            )
    out.append(b"--" + b + b"--\r\n")
    return b"".join(out)
