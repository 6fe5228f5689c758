"""Building delivery status notifications (RFC 3464; RFC 6533 for SMTPUTF8 messages).

The DSN is a multipart/report (RFC 6522) with a human-readable text/plain part, the
machine-readable message/delivery-status part (message/global-delivery-status when the original
used SMTPUTF8 or a recipient is non-ASCII) and the original's header section as
text/rfc822-headers (message/global-headers for SMTPUTF8).
"""

from __future__ import annotations

import email.utils
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.message.compose import check_header, format_address, text_body
from app.message.encoded import encode_rfc2047
from app.message.headers import fold
from app.message.parser import parse


@dataclass
class DSNRecipientIn:
    """One recipient's status for ``make_dsn``."""

    final_recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded (RFC 3464 2.3.3)
    status: str  # e.g. "5.1.1" (RFC 3463)
    original_recipient: str | None = None
    remote_mta: str | None = None
    diagnostic_code: str | None = None  # the remote SMTP reply, e.g. "550 5.1.1 no such user"
    last_attempt_date: datetime | None = None
    will_retry_until: datetime | None = None


@dataclass
class DSNMessage:
    """Everything ``make_dsn`` needs; ``original`` is the original message (only its header is used)."""

    from_: str
    to: str
    subject: str
    text: str
    reporting_mta: str
    recipients: list[DSNRecipientIn] = field(default_factory=list)
    original: bytes | None = None
    envelope_id: str | None = None
    arrival_date: datetime | None = None
    received_from_mta: str | None = None
    smtputf8: bool = False
    message_id: str | None = None
    date: datetime | None = None
    from_name: str = "Mail Delivery Subsystem"
    references: str | None = None


def _addr_type(addr: str, utf8: bool) -> str:
    if addr.isascii():
        return f"rfc822; {addr}"
    if utf8:
        return f"utf-8; {addr}"
    # Without RFC 6533 forms, non-ASCII is written in the utf-8-addr-xtext form.
    return "utf-8; " + "".join(c if c.isascii() and c not in "\\+=" else f"\\x{{{ord(c):X}}}" for c in addr)


def _status_fields(m: DSNMessage, utf8: bool) -> bytes:
    lines = [f"Reporting-MTA: dns; {m.reporting_mta}"]
    if m.envelope_id:
        lines.append(f"Original-Envelope-Id: {m.envelope_id}")
    if m.received_from_mta:
        lines.append(f"Received-From-MTA: dns; {m.received_from_mta}")
    if m.arrival_date:
        lines.append(f"Arrival-Date: {email.utils.format_datetime(m.arrival_date)}")
    out = ["\r\n".join(lines) + "\r\n"]
    for r in m.recipients:
        rl = []
        if r.original_recipient:
            rl.append(f"Original-Recipient: {_addr_type(r.original_recipient, utf8)}")
        rl.append(f"Final-Recipient: {_addr_type(r.final_recipient, utf8)}")
        rl.append(f"Action: {r.action}")
        rl.append(f"Status: {r.status}")
        if r.remote_mta:
            rl.append(f"Remote-MTA: dns; {r.remote_mta}")
        if r.diagnostic_code:
            rl.append(f"Diagnostic-Code: smtp; {r.diagnostic_code}")
        if r.last_attempt_date:
            rl.append(f"Last-Attempt-Date: {email.utils.format_datetime(r.last_attempt_date)}")
        if r.will_retry_until:
            rl.append(f"Will-Retry-Until: {email.utils.format_datetime(r.will_retry_until)}")
        for x in rl:
            check_header(x)
        out.append("\r\n".join(rl) + "\r\n")
    return "\r\n".join(out).encode("utf-8")


def make_dsn(m: DSNMessage) -> bytes:
    """The DSN message bytes (CRLF line endings)."""
    utf8 = m.smtputf8 or any(not r.final_recipient.isascii() for r in m.recipients)
    boundary = "mox-dsn-" + secrets.token_hex(12)
    domain = m.from_.rsplit("@", 1)[-1]
    mid = (m.message_id or f"{secrets.token_urlsafe(15)}@{domain}").strip().strip("<>")
    hdr = [
        fold("From", format_address(m.from_name, m.from_, utf8)),
        fold("To", format_address("", m.to, utf8)),
        fold("Subject", check_header(m.subject) if utf8 else encode_rfc2047(check_header(m.subject))),
        fold("Message-Id", f"<{mid}>"),
        fold("Date", email.utils.format_datetime(m.date or datetime.now(UTC))),
    ]
    if m.references:
        hdr.append(fold("References", check_header(m.references)))
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
    st = "message/global-delivery-status" if utf8 else "message/delivery-status"
    out.append(b"--" + b + b"\r\nContent-Type: " + st.encode() + b"\r\n")
    out.append(b"Content-Transfer-Encoding: 8bit\r\n" if utf8 else b"")
    out.append(b"\r\n" + _status_fields(m, utf8) + b"\r\n")
    if m.original is not None:
        op = parse(m.original)
        oh = bytes(m.original[op.header_start : op.body_start]).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if not oh.endswith(b"\r\n\r\n"):
            oh = oh.rstrip(b"\r\n") + b"\r\n\r\n"
        ht = "message/global-headers" if utf8 else "text/rfc822-headers"
        enc = b"Content-Transfer-Encoding: 8bit\r\n" if not oh.isascii() else b""
        out.append(b"--" + b + b"\r\nContent-Type: " + ht.encode() + b"\r\n" + enc + b"\r\n" + oh)
    out.append(b"--" + b + b"--\r\n")
    return b"".join(out)
