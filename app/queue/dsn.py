"""Composing delivery status notifications (RFC 3464 multipart/report with
message/delivery-status; RFC 6533 message/global-delivery-status and message/global-headers for
SMTPUTF8 messages) for failed and delayed deliveries. DSNs are delivered into the sender's
account, never relayed (as mox)."""

from __future__ import annotations

import datetime
import secrets
import time
from dataclasses import dataclass

from app.message.dsn import DSNMessage, DSNRecipientIn, make_dsn
from app.queue.model import BASE_BACKOFF, Msg


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


def _last_attempt_time(m: Msg) -> float:
    """When the last attempt is due: the backoffs between the attempts add up to
    7.5 min * (2^(n-1) - 1) after the first."""
    return float(m.queued + BASE_BACKOFF * (2 ** max(0, m.max_attempts - 1) - 1))


def compose(
    hostname: str, recipients: list[DSNRecipient], original: bytes, now: float | None = None
) -> bytes:
    """A DSN to the sender of ``recipients`` (all of one submission) with the original's headers
    (app.message.dsn builds the MIME structure)."""
    now = time.time() if now is None else now
    first = recipients[0].msg
    failed = any(r.action == "failed" for r in recipients)
    lines = [
        "Delivery of your message failed permanently for the following recipients:"
        if failed
        else "Delivery of your message is delayed; it will be retried for the following recipients:",
        "",
    ]
    lines += [f"- {_clean(r.msg.recipient)}: {_clean(r.diagnostic)}" for r in recipients]
    lines.append("")
    if first.subject:
        lines.append(f"Original subject: {_clean(first.subject)}")
    if first.message_id:
        lines.append(f"Original Message-ID: {_clean(first.message_id)}")
    if first.future_release:
        lines.append(f"Requested release: {_clean(first.future_release)}")

    def when(t: float | None) -> datetime.datetime | None:
        return None if not t else datetime.datetime.fromtimestamp(t, datetime.UTC)

    m = DSNMessage(
        from_=f"postmaster@{hostname}",
        to=first.sender,
        subject="mail delivery failed" if failed else "mail delivery delayed",
        text="\n".join(lines) + "\n",
        reporting_mta=hostname,
        recipients=[
            DSNRecipientIn(
                final_recipient=_clean(r.msg.recipient),
                action=r.action,
                status=r.status,
                original_recipient=_clean(r.msg.orcpt.partition(";")[2].strip()) or None
                if r.msg.orcpt
                else None,
                remote_mta=_clean(r.remote_mta) or None,
                diagnostic_code=_clean(r.diagnostic)[:900] or None,
                last_attempt_date=when(r.msg.last_attempt),
                will_retry_until=when(_last_attempt_time(r.msg)) if r.action == "delayed" else None,
            )
            for r in recipients
        ],
        original=original,
        envelope_id=_clean(first.dsn_envid) or None,
        arrival_date=when(first.queued),
        smtputf8=first.smtputf8,
        message_id=f"{secrets.token_hex(16)}@{hostname}",
        date=when(now),
        references=_clean(first.message_id) or None,
    )
    return make_dsn(m)


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
