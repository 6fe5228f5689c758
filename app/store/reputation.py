"""Sender reputation from the account's own history, as mox's smtpserver/reputation.go does.

Only messages the user classified (``$Junk`` or ``$NotJunk``) that were first delivered to the
same mailbox as the new message count, newest first. Signals are tried in order, and the first
that has history decides (possibly "inconclusive"):

1. the full From address (validated or not, compared separately), 3 years, last 1-2 messages;
2. the account sent mail to that address (3 years): not junk;
3. the From domain, then its organizational domain (2 years, 20 messages; > 80% not junk
   accepts, all junk rejects, conclusive with 3 different localparts), and mail sent to them;
4. DKIM domains and the validated MAIL FROM (address, else domain) or EHLO domain (half a year,
   50 messages each);
5. the remote IP, then its /26 (IPv6 /48), then /21 (/32) (a quarter year, 50 messages; a wider
   range needs more messages to be conclusive).

RFC 5863, RFC 7960, RFC 6376 section 8.15 and RFC 7208 section 11 discuss why authenticated
identities, not unverified ones, carry reputation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import apsw

from app.store.model import DeliveryFacts, masked_ips
from app.store.sqlq import q

YEAR = 365 * 24 * 3600.0


@dataclass(frozen=True)
class Reputation:
    junk: bool | None  # None: no signal either way
    conclusive: bool
    method: str  # msgfromfull, msgtofull, msgfromdomain, msgfromorgdomain, msgtodomain,
    # msgtoorgdomain, dkimspf, ip1, ip2, ip3 or none


class _Query:
    def __init__(self, conn: apsw.Connection, mailbox_id: int, now: float) -> None:
        self.conn = conn
        self.mailbox_id = mailbox_id
        self.now = now

    def junk_flags(
        self, where: str, params: tuple[Any, ...], max_age: float, limit: int
    ) -> list[tuple[bool, str]]:
        """(is junk, from localpart) of the newest classified messages matching ``where``."""
        rows = q(
            self.conn,
            "SELECT junk, msg_from_localpart FROM message"
            " WHERE mailbox_orig_id = ? AND (junk OR notjunk) AND received >= ?"
            f" AND {where} ORDER BY received DESC LIMIT ?",
            (self.mailbox_id, self.now - max_age, *params, limit),
        )
        return [(bool(r[0]), str(r[1])) for r in rows]

    def sent_to(self, where: str, params: tuple[Any, ...], max_age: float) -> bool:
        rows = q(
            self.conn,
            f"SELECT 1 FROM recipient WHERE {where} AND sent >= ? LIMIT 1",
            (*params, self.now - max_age),
        )
        return bool(rows)


def _last_two_junk(msgs: list[tuple[bool, str]]) -> bool:
    return msgs[0][0] and (len(msgs) == 1 or msgs[1][0])


def reputation(
    conn: apsw.Connection, mailbox_id: int, f: DeliveryFacts, now: float | None = None
) -> Reputation:
    """Judge a message about to be delivered to ``mailbox_id`` with facts ``f``."""
    qq = _Query(conn, mailbox_id, time.time() if now is None else now)
    if f.msg_from_domain:
        r = _by_from(qq, f)
        if r is not None:
            return r
    r = _by_dkim_spf(qq, f)
    if r is not None:
        return r
    return _by_ip(qq, f)


def _by_from(qq: _Query, f: DeliveryFacts) -> Reputation | None:
    lp, dom, validated = f.msg_from_localpart, f.msg_from_domain, int(f.msg_from_validated)
    full = "msg_from_localpart = ? AND msg_from_domain = ?"
    msgs = qq.junk_flags(full + " AND msg_from_validated = ?", (lp, dom, validated), 3 * YEAR, 2)
    if msgs:
        return Reputation(_last_two_junk(msgs), bool(validated), "msgfromfull")
    if not validated:
        # Earlier mail from this address was authenticated and this one is not: likely forged.
        msgs = qq.junk_flags(full + " AND msg_from_validated = 1", (lp, dom), 3 * YEAR, 2)
        if msgs:
            return Reputation(True, _last_two_junk(msgs), "msgfromfull")
    if qq.sent_to("domain = ? AND localpart = ?", (dom, lp), 3 * YEAR):
        return Reputation(False, True, "msgtofull")
    for col, value, method, rcol, rmethod in (
        ("msg_from_domain", dom, "msgfromdomain", "domain", "msgtodomain"),
        (
            "msg_from_org_domain",
            f.msg_from_org_domain or dom,
            "msgfromorgdomain",
            "org_domain",
            "msgtoorgdomain",
        ),
    ):
        msgs = qq.junk_flags(f"{col} = ? AND msg_from_validated = ?", (value, validated), 2 * YEAR, 20)
        if msgs:
            nonjunk = sum(1 for j, _ in msgs if not j)
            if 100 * nonjunk // len(msgs) > 80:
                return Reputation(False, True, method)
            if nonjunk == 0:
                return Reputation(True, len({lp for _, lp in msgs}) >= 3, method)
            return Reputation(None, False, method)  # mixed: do not block a new sender
        if not validated:
            msgs = qq.junk_flags(f"{col} = ? AND msg_from_validated = 1", (value,), 2 * YEAR, 2)
            if msgs:
                return Reputation(True, _last_two_junk(msgs), method)
        if qq.sent_to(f"{rcol} = ?", (value,), 2 * YEAR):
            return Reputation(False, True, rmethod)
    return None


def _share_junk(msgs: list[tuple[bool, str]]) -> float:
    return sum(1 for j, _ in msgs if j) / len(msgs)


def _by_dkim_spf(qq: _Query, f: DeliveryFacts) -> Reputation | None:
    signals: list[float] = []
    nmsgs = 0
    for dom in f.dkim_domains:
        msgs = qq.junk_flags(
            "(' ' || dkim_domains || ' ') LIKE ? ESCAPE '\\'", (f"% {_like(dom)} %",), YEAR / 2, 50
        )
        if msgs:
            signals.append(_share_junk(msgs))
            nmsgs = len(msgs)
    if f.mail_from_validated or f.ehlo_validated:
        msgs = []
        if f.mail_from_validated and f.mail_from_domain:
            msgs = qq.junk_flags(
                "mail_from_localpart = ? AND mail_from_domain = ?",
                (f.mail_from_localpart, f.mail_from_domain),
                YEAR / 2,
                50,
            )
            if not msgs:
                msgs = qq.junk_flags("mail_from_domain = ?", (f.mail_from_domain,), YEAR / 2, 50)
        if not msgs and f.ehlo_validated and f.ehlo_domain:
            msgs = qq.junk_flags("ehlo_domain = ?", (f.ehlo_domain,), YEAR / 2, 50)
        if msgs:
            signals.append(_share_junk(msgs))
            nmsgs = max(nmsgs, len(msgs))
    if not signals:
        return None
    nham = sum(1 for p in signals if p < 0.1)
    nspam = sum(1 for p in signals if p > 0.9)
    if nham and not nspam:
        return Reputation(False, True, "dkimspf")
    if nspam and not nham:
        return Reputation(True, nmsgs > 1, "dkimspf")
    return Reputation(None, False, "dkimspf")


def _like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _by_ip(qq: _Query, f: DeliveryFacts) -> Reputation:
    masks = masked_ips(f.remote_ip)
    for col, value, need, method in (
        ("remote_ip_masked1", masks[0], 2, "ip1"),
        ("remote_ip_masked2", masks[1], 5, "ip2"),
        ("remote_ip_masked3", masks[2], 10, "ip3"),
    ):
        if not value:
            continue
        msgs = qq.junk_flags(f"{col} = ?", (value,), YEAR / 4, 50)
        if msgs:
            p = _share_junk(msgs)
            junk = False if p < 0.25 else True if p > 0.75 else None
            return Reputation(junk, len(msgs) >= need and (p <= 0.1 or p >= 0.9), method)
    return Reputation(None, False, "none")
