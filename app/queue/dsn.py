"""Composing delivery status notifications (RFC 3464 multipart/report with
message/delivery-status; RFC 6533 message/global-delivery-status and message/global-headers for
SMTPUTF8 messages) for failed and delayed deliveries. DSNs are delivered into the sender's
account, never relayed (as mox)."""

from __future__ import annotations

import email.utils
import secrets
import time
from dataclasses import dataclass

from app.queue.headers import header_section
from app.queue.model import Msg


@dataclass(frozen=True)
class DSNRecipient:
    msg: Msg
    action: str  # "failed" | "delayed"
    status: str  # enhanced status code, e.g. "5.0.0"
    diagnostic: str  # remote reply line or our error text
    remote_mta: str = ""


def _clean(s: str) -> str:
    """One line of text safe for a header field: no CR, LF or other control characters."""
    return "".join(c if c >= " " and c != "\x7f" else " " for c in s).strip()


def compose(
    hostname: str,
    recipients: list[DSNRecipient],
    original: bytes,
    full: bool = False,
    now: float | None = None,
) -> bytes:
    """A DSN to the sender of ``recipients`` (all of one submission); ``full`` includes the whole
    original message (RET=FULL), else only its headers."""
    now = time.time() if now is None else now
    first = recipients[0].msg
    utf8 = first.smtputf8 or any(not r.msg.recipient.isascii() for r in recipients)
    failed = any(r.action == "failed" for r in recipients)
    boundary = "dsn-" + secrets.token_hex(12)
    date = email.utils.formatdate(now)
    subject = "mail delivery failed" if failed else "mail delivery delayed"
    lines = [
        f"From: Mail Delivery Subsystem <postmaster@{hostname}>",
        f"To: <{first.sender}>",
        f"Subject: {subject}",
        f"Message-Id: <{secrets.token_hex(16)}@{hostname}>",
        f"Date: {date}",
        "MIME-Version: 1.0",
        "Auto-Submitted: auto-replied",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-formatted delivery status notification.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    if failed:
        lines.append("Delivery of your message failed permanently for the following recipients:")
    else:
        lines.append("Delivery of your message is delayed; it will be retried for the following recipients:")
    lines.append("")
    for r in recipients:
        lines.append(f"- {_clean(r.msg.recipient)}: {_clean(r.diagnostic)}")
    lines.append("")
    if first.subject:
        lines.append(f"Original subject: {_clean(first.subject)}")
    if first.message_id:
        lines.append(f"Original Message-ID: {_clean(first.message_id)}")
    if first.future_release:
        lines.append(f"Requested release: {_clean(first.future_release)}")
    lines.append("")
    lines.append(f"--{boundary}")
    lines.append(f"Content-Type: message/{'global-' if utf8 else ''}delivery-status")
    lines.append("")
    lines.append(f"Reporting-MTA: dns; {hostname}")
    if first.dsn_envid:
        lines.append(f"Original-Envelope-Id: {_clean(first.dsn_envid)}")
    lines.append(f"Arrival-Date: {email.utils.formatdate(first.queued)}")
    for r in recipients:
        m = r.msg
        lines.append("")
        addrtype = "utf-8" if not m.recipient.isascii() else "rfc822"
        lines.append(f"Final-Recipient: {addrtype}; {_clean(m.recipient)}")
        if m.orcpt:
            lines.append(f"Original-Recipient: {_clean(m.orcpt)}")
        lines.append(f"Action: {r.action}")
        lines.append(f"Status: {r.status}")
        if r.remote_mta:
            lines.append(f"Remote-MTA: dns; {_clean(r.remote_mta)}")
        if r.diagnostic:
            lines.append(f"Diagnostic-Code: smtp; {_clean(r.diagnostic)[:900]}")
        if m.last_attempt:
            lines.append(f"Last-Attempt-Date: {email.utils.formatdate(m.last_attempt)}")
        if r.action == "delayed":
            lines.append(f"Will-Retry-Until: {email.utils.formatdate(m.queued + 5 * 24 * 3600)}")
    lines.append("")
    lines.append(f"--{boundary}")
    if full:
        lines.append(f"Content-Type: message/{'global' if utf8 else 'rfc822'}")
        lines.append("Content-Disposition: attachment")
        lines.append("")
        body = original
    else:
        lines.append(f"Content-Type: {'message/global-headers' if utf8 else 'text/rfc822-headers'}")
        lines.append("Content-Disposition: attachment")
        lines.append("")
        body = header_section(original)
    body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n"
    return head + body + f"\r\n--{boundary}--\r\n".encode()


def wants(msg: Msg, action: str) -> bool:
    """Whether the sender asked for (or by default gets) a DSN of this kind (RFC 3461 §4.1)."""
    if not msg.sender:  # never for null-sender messages (bounces)
        return False
    if msg.is_dmarc_report or msg.is_tls_report:
        return False
    if msg.notify is None:
        return action in ("failed", "delayed")
    n = {x.upper() for x in msg.notify}
    if "NEVER" in n:
        return False
    return ("FAILURE" if action == "failed" else "DELAY") in n
