"""Records of the outgoing queue: queued and retired messages (one per recipient), delivery
results, hold rules, suppression entries, and the filter used by management commands.

Shapes follow mox's queue (Msg, MsgRetired, HoldRule, Suppression); DSN parameters are those
of RFC 3461 (NOTIFY, ORCPT, RET, ENVID), RequireTLS is RFC 8689, FUTURERELEASE RFC 4865.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from app.smtp.idna_domain import parse_domain

# Retry schedule (as mox): first attempt immediately, then 7.5 minutes doubling per attempt.
BASE_BACKOFF = 7.5 * 60
DEFAULT_MAX_ATTEMPTS = 8
DELAYED_DSN_AFTER = 5


@dataclass(frozen=True)
class Recipient:
    """One RCPT TO of a submission, with its RFC 3461 parameters."""

    address: str
    notify: tuple[str, ...] | None = None  # NEVER, SUCCESS, FAILURE, DELAY; None: default
    orcpt: str = ""  # "rfc822;user@example.org"


@dataclass
class Result:
    """The outcome of one delivery attempt for one recipient."""

    start: float
    duration: float
    success: bool
    code: int = 0
    secode: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "duration": self.duration,
            "success": self.success,
            "code": self.code,
            "secode": self.secode,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Result:
        return cls(
            start=float(d.get("start", 0)),
            duration=float(d.get("duration", 0)),
            success=bool(d.get("success")),
            code=int(d.get("code", 0)),
            secode=str(d.get("secode", "")),
            error=str(d.get("error", "")),
        )


@dataclass
class Msg:
    """A queued message for one recipient. Messages of one submission share ``base_id``."""

    id: int
    base_id: int
    queued: float
    hold: bool
    sender_account: str
    sender_localpart: str
    sender_domain: str
    rcpt_localpart: str
    rcpt_domain: str
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    next_attempt: float = 0.0
    last_attempt: float | None = None
    results: list[Result] = field(default_factory=list)
    dialed_ips: dict[str, list[str]] = field(default_factory=dict)
    has_8bit: bool = False
    smtputf8: bool = False
    is_dmarc_report: bool = False
    is_tls_report: bool = False
    size: int = 0
    message_id: str = ""
    subject: str = ""
    from_id: str = ""
    transport: str = ""
    requiretls: bool | None = None
    future_release: str = ""
    notify: tuple[str, ...] | None = None
    orcpt: str = ""
    dsn_ret: str = ""
    dsn_envid: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    content_id: int = 0

    @property
    def sender(self) -> str:
        if not self.sender_localpart and not self.sender_domain:
            return ""
        return f"{self.sender_localpart}@{self.sender_domain}"

    @property
    def recipient(self) -> str:
        return f"{self.rcpt_localpart}@{self.rcpt_domain}"

    def last_result(self) -> Result | None:
        return self.results[-1] if self.results else None

    def summary(self) -> dict[str, Any]:
        """A JSON-able view for listings and dumps."""
        return {
            "ID": self.id,
            "BaseID": self.base_id,
            "Queued": _iso(self.queued),
            "Hold": self.hold,
            "SenderAccount": self.sender_account,
            "Sender": self.sender,
            "Recipient": self.recipient,
            "Attempts": self.attempts,
            "MaxAttempts": self.max_attempts,
            "NextAttempt": _iso(self.next_attempt),
            "LastAttempt": _iso(self.last_attempt) if self.last_attempt else "",
            "Results": [r.to_json() for r in self.results],
            "Size": self.size,
            "MessageID": self.message_id,
            "Subject": self.subject,
            "Transport": self.transport,
            "RequireTLS": self.requiretls,
            "FutureReleaseRequest": self.future_release,
            "SMTPUTF8": self.smtputf8,
            "Has8bit": self.has_8bit,
            "Extra": self.extra,
        }


@dataclass
class Retired:
    """A message that left the queue (delivered or failed), kept for KeepRetiredMessagePeriod."""

    msg: Msg
    success: bool
    last_activity: float
    keep_until: float

    def summary(self) -> dict[str, Any]:
        d = self.msg.summary()
        d.update(
            Success=self.success,
            LastActivity=_iso(self.last_activity),
            KeepUntil=_iso(self.keep_until),
        )
        return d


@dataclass(frozen=True)
class HoldRule:
    """New messages matching every non-empty field are queued on hold; an empty rule holds all."""

    id: int
    account: str = ""
    sender_domain: str = ""
    recipient_domain: str = ""

    def matches(self, account: str, sender_domain: str, recipient_domain: str) -> bool:
        return (
            (not self.account or self.account == account)
            and (not self.sender_domain or self.sender_domain == sender_domain)
            and (not self.recipient_domain or self.recipient_domain == recipient_domain)
        )


@dataclass(frozen=True)
class Suppression:
    """An address of an account that outgoing messages are not sent to."""

    account: str
    base_address: str
    original_address: str
    manual: bool
    reason: str
    created: float


@dataclass
class Filter:
    """Selects queue entries for management commands; every set field must match."""

    ids: list[int] = field(default_factory=list)
    account: str = ""
    from_: str = ""  # sender address, or "@domain"
    to: str = ""  # recipient address, or "@domain"
    hold: bool | None = None
    submitted: str = ""  # "<D" or ">D", D a duration relative to now (may be negative)
    next_attempt: str = ""
    transport: str | None = None
    max: int = 0


def _iso(t: float | None) -> str:
    if t is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


_DUR_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(s: str) -> float:
    """Parse a Go-style duration (``1h30m``, ``-10m``, ``90s``) into seconds."""
    t = s.strip()
    sign = 1.0
    if t[:1] in "+-" and t:
        sign = -1.0 if t[0] == "-" else 1.0
        t = t[1:]
    if t == "0":
        return 0.0
    pos = 0
    total = 0.0
    while pos < len(t):
        m = _DUR_RE.match(t, pos)
        if m is None:
            raise ValueError(f"invalid duration {s!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0:
        raise ValueError(f"invalid duration {s!r}")
    return sign * total


def split_address(addr: str) -> tuple[str, str]:
    """Split ``local@domain`` at the last ``@``; the domain in lower-case A-label form (IDNA),
    IP literals as given; ``""`` is the null path. ValueError for an invalid address."""
    if addr == "":
        return "", ""
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"invalid address {addr!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in addr):
        raise ValueError(f"control character in address {addr!r}")
    domain = domain.rstrip(".")
    if domain.startswith("[") and domain.endswith("]"):
        return local, domain.lower()
    return local, parse_domain(domain).ascii


def base_address(addr: str) -> str:
    """The suppression key of an address (as mox): lowercased, dots removed from the localpart,
    cut at the first ``+`` or ``-``."""
    local, domain = split_address(addr)
    local = local.lower().replace(".", "")
    for sep in ("+", "-"):
        i = local.find(sep)
        if i > 0:
            local = local[:i]
    return f"{local}@{domain}"
