"""The delivery verdict for one recipient of an incoming message: a pure function of the facts
(authentication results, rulesets of the destination, sender reputation signals), as mox's
``smtpserver/analyze.go``, without the Bayesian junk filter (not part of this server yet).

Reasons are mox's: ``list-allow``, ``dmarc-policy``, ``msg-auth-required``, ``dns-blocklisted``,
``high-rate``, ``no-bad-signals``, ``forward``... A rejected message may still be stored in the
account's Rejects mailbox (``reject_mailbox``) so the user can find false positives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.smtp import codes as c

REASON_LIST_ALLOW = "list-allow"
REASON_DMARC_POLICY = "dmarc-policy"
REASON_MSG_AUTH_REQUIRED = "msg-auth-required"
REASON_DNSBL = "dns-blocklisted"
REASON_HIGH_RATE = "high-rate"
REASON_NO_BAD_SIGNALS = "no-bad-signals"
REASON_REPORTING = "reporting"


@dataclass(frozen=True)
class Facts:
    """What is known about a message for one recipient."""

    mail_from: str  # "" for the null reverse path
    mail_from_domain: str
    msg_from: str  # first From address, "" when none
    msg_from_domain: str
    spf_status: str  # for the MAIL FROM (or HELO for <>)
    spf_domain: str
    dkim_pass_domains: tuple[str, ...] = ()
    dmarc_status: str = "none"
    dmarc_reject: bool = False  # DMARC fail with an enforced reject/quarantine policy
    dnsbl_listed: tuple[str, ...] = ()
    rate_ok: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    is_dsn: bool = False
    localserve: bool = False


@dataclass(frozen=True)
class Ruleset:
    """The parts of a domains.conf ruleset the verdict uses."""

    smtp_mail_from_regexp: str = ""
    msg_from_regexp: str = ""
    verified_domain: str = ""
    headers_regexp: tuple[tuple[str, str], ...] = ()
    is_forward: bool = False
    list_allow_domain: str = ""
    accept_rejects_to_mailbox: str = ""
    mailbox: str = ""

    @classmethod
    def from_config(cls, rs: Any) -> Ruleset:
        return cls(
            smtp_mail_from_regexp=rs.SMTPMailFromRegexp,
            msg_from_regexp=rs.MsgFromRegexp,
            verified_domain=rs.VerifiedDomain,
            headers_regexp=tuple((rs.HeadersRegexp or {}).items()),
            is_forward=rs.IsForward,
            list_allow_domain=rs.ListAllowDomain,
            accept_rejects_to_mailbox=rs.AcceptRejectsToMailbox,
            mailbox=rs.Mailbox,
        )


@dataclass(frozen=True)
class Destination:
    mailbox: str = ""  # "" is Inbox
    rulesets: tuple[Ruleset, ...] = ()
    msg_auth_required_error: str = ""  # MessageAuthRequiredSMTPError
    rejects_mailbox: str = ""  # account RejectsMailbox


@dataclass
class Verdict:
    accept: bool
    mailbox: str
    reason: str
    code: int = c.C250_COMPLETED
    secode: str = c.SE_OTHER0
    text: str = ""
    reject_mailbox: str = ""  # store a copy here although rejected
    is_forward: bool = False
    is_list: bool = False
    texts: list[str] = field(default_factory=list)


def _verified(domain: str, f: Facts) -> bool:
    """The domain (or a subdomain) is verified by SPF pass for MAIL FROM or a DKIM pass."""
    d = domain.lower().strip(".")

    def match(x: str) -> bool:
        x = x.lower()
        return x == d or x.endswith("." + d)

    return (f.spf_status == "pass" and match(f.spf_domain)) or any(match(x) for x in f.dkim_pass_domains)


def _search(pattern: str, s: str) -> bool:
    try:
        return re.search(pattern, s) is not None
    except re.error:
        return False


def ruleset_matches(rs: Ruleset, f: Facts) -> bool:
    """All conditions of the ruleset hold (mox: unset conditions match anything)."""
    if rs.smtp_mail_from_regexp and not _search(rs.smtp_mail_from_regexp, f.mail_from):
        return False
    if rs.msg_from_regexp and not _search(rs.msg_from_regexp, f.msg_from):
        return False
    if rs.verified_domain and not _verified(rs.verified_domain, f):
        return False
    for hre, vre in rs.headers_regexp:
        if not any(_search(hre, n.lower()) and _search(vre, v) for n, v in f.headers):
            return False
    return True


def _first_match(rulesets: Sequence[Ruleset], f: Facts) -> Ruleset | None:
    for rs in rulesets:
        if ruleset_matches(rs, f):
            return rs
    return None


def analyze(f: Facts, dest: Destination) -> Verdict:
    """The verdict for one recipient."""
    rs = _first_match(dest.rulesets, f)
    mailbox = (rs.mailbox if rs is not None and rs.mailbox else dest.mailbox) or "Inbox"
    is_forward = rs is not None and rs.is_forward
    is_list = rs is not None and bool(rs.list_allow_domain) and _verified(rs.list_allow_domain, f)

    def reject(code: int, secode: str, text: str, reason: str) -> Verdict:
        if rs is not None and rs.accept_rejects_to_mailbox:
            return Verdict(True, rs.accept_rejects_to_mailbox, reason, is_forward=is_forward, is_list=is_list)
        return Verdict(False, mailbox, reason, code, secode, text, reject_mailbox=dest.rejects_mailbox)

    if is_list:
        return Verdict(True, mailbox, REASON_LIST_ALLOW, is_forward=is_forward, is_list=True)
    if not f.rate_ok:
        return Verdict(
            False,
            mailbox,
            REASON_HIGH_RATE,
            c.C452_STORAGE_FULL,
            c.SE_MAILBOX_MSG_LIMIT3,
            "too many messages",
        )
    # Forwarded mail fails DMARC through no fault of the sender's domain; the ruleset says so.
    if f.dmarc_reject and not is_forward:
        return reject(c.C550_MAILBOX_UNAVAIL, c.SE_SEC_DMARC_FAIL26, "dmarc policy", REASON_DMARC_POLICY)
    if dest.msg_auth_required_error and f.dmarc_status != "pass" and not is_forward:
        code_s, _, text = dest.msg_auth_required_error.partition(" ")
        code = int(code_s) if code_s.isdigit() and len(code_s) == 3 else c.C550_MAILBOX_UNAVAIL
        return reject(
            code,
            c.SE_SEC_NOT_AUTHORIZED1,
            text or "message authentication required",
            REASON_MSG_AUTH_REQUIRED,
        )
    if f.dnsbl_listed and not f.localserve:
        # mox: content/reputation rejects are temporary so a legitimate sender gets a DSN.
        return reject(c.C451_LOCAL_ERR, c.SE_SEC_OTHER0, "rejected", REASON_DNSBL)
    return Verdict(True, mailbox, REASON_NO_BAD_SIGNALS, is_forward=is_forward, is_list=is_list)
