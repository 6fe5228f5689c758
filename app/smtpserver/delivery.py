"""Incoming delivery (mox's ``deliver()``): authentication checks, recipients expanded to
accounts (aliases with PostPublic/ListMembers rules, de-duplicated), a verdict per recipient
(``analyze``), per-recipient header fields prepended, one store delivery per account, and the
reply: 250 when all were delivered, the common error when none was, and 250 plus a DSN to the
sender when some failed (RFC 3461 section 4 "mixed" outcome).
"""

from __future__ import annotations

import asyncio
import datetime
import time
from dataclasses import dataclass
from typing import Any

from app import mlog
from app.runtime import run_blocking
from app.smtp import codes as c
from app.smtp.reply import SMTPError
from app.smtpserver import analyze, authcheck, localserve, msgheaders, senders
from app.smtpserver.received import protocol, received_header, tls_comment
from app.smtpserver.session import Rcpt, Session, Transaction

MAX_RECEIVED = 100

log = mlog.get("smtpserver")


@dataclass
class Target:
    """One account delivery: the recipient address it is for and its destination."""

    account: str
    address: str
    destination: Any
    rcpts: list[Rcpt]


def _dest_for(ctx: Any, account: str, destination: Any) -> analyze.Destination:
    acc = ctx.config.account(account)
    rulesets: tuple[analyze.Ruleset, ...] = ()
    mailbox = ""
    auth_err = ""
    if destination is not None:
        rulesets = tuple(analyze.Ruleset.from_config(rs) for rs in destination.Rulesets)
        mailbox = destination.Mailbox
        auth_err = destination.MessageAuthRequiredSMTPError
    return analyze.Destination(
        mailbox=mailbox,
        rulesets=rulesets,
        msg_auth_required_error=auth_err,
        rejects_mailbox=getattr(acc, "RejectsMailbox", "") if acc is not None else "",
    )


def _alias_allowed(am: Any, members: list[tuple[str, Any, str]], msg_from: str) -> bool:
    """As mox: members may always write to their alias, the alias itself (a member replying
    as the alias) only with AllowMsgFrom, anyone else only with PostPublic."""
    mf = msg_from.lower()
    if any(addr.lower() == mf for _, _, addr in members):
        return True
    if mf == am.address.lower():
        return bool(am.alias.AllowMsgFrom)
    return bool(am.alias.PostPublic)


def expand(txn: Transaction, msg_from: str) -> tuple[list[Target], list[tuple[Rcpt, SMTPError]], list[Rcpt]]:
    """Recipients grouped per account (explicit recipients first, then alias members not
    already reached and not the sender itself); alias refusals; unknown recipients."""
    targets: dict[str, Target] = {}
    refused: list[tuple[Rcpt, SMTPError]] = []
    unknown: list[Rcpt] = []
    for r in txn.rcpts:
        if r.unknown:
            unknown.append(r)
        elif r.alias is None:
            t = targets.get(r.account)
            if t is None:
                targets[r.account] = Target(r.account, str(r.path), r.destination, [r])
            else:
                t.rcpts.append(r)
    for r in txn.rcpts:
        if r.alias is None:
            continue
        if not _alias_allowed(r.alias, r.alias_members, msg_from):
            refused.append(
                (r, SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_SEC_EXPN2, "not allowed to send to destination"))
            )
            continue
        reached = False
        for account, dest, addr in r.alias_members:
            if addr.lower() == msg_from.lower():
                continue  # mox: the member who sent the message does not get a copy
            t = targets.get(account)
            if t is None:
                targets[account] = Target(account, str(r.path), dest, [r])
            elif r not in t.rcpts:
                t.rcpts.append(r)
            reached = True
        if not reached and not any(r in t.rcpts for t in targets.values()):
            targets.setdefault("", Target("", str(r.path), None, []))  # nothing to do, but delivered
            targets[""].rcpts.append(r)
    return list(targets.values()), refused, unknown


def _store_deliver(store: Any, account: str, mailbox: str, data: bytes, facts: Any, sender: str = "") -> None:
    """Deliver into the account (one durable transaction), then remember the sender as known."""
    from app.store import MailboxNotFound

    acc = store.account(account)
    try:
        acc.deliver(mailbox, data, facts=facts)
    except MailboxNotFound:
        acc.create_mailbox(mailbox)
        acc.deliver(mailbox, data, facts=facts)
    if sender:
        try:
            senders.remember(store, account, [sender])
        except Exception as e:
            log.error("remembering sender", account=account, err=e)


async def _deliver_target(
    s: Session,
    txn: Transaction,
    t: Target,
    v: analyze.Verdict,
    msg: bytes,
    common: bytes,
    dfacts: dict[str, Any],
    sender: str,
) -> SMTPError | None:
    from app.store import AccountUnavailable, QuotaExceeded, StoreError
    from app.store.model import DeliveryFacts

    reason = f"X-Mox-Reason: {v.reason}\r\n".encode()
    prefix = (
        reason
        + f"Delivered-To: {t.address}\r\n".encode()
        + f"Return-Path: <{txn.mail_from}>\r\n".encode()
        + common
    )
    data = prefix + msg
    df = DeliveryFacts(**dfacts, is_forward=v.is_forward, is_mailing_list=v.is_list)
    if not v.accept:
        s.log.info("delivery rejected", account=t.account, reason=v.reason, code=v.code)
        if v.reason in (analyze.REASON_DNSBL, analyze.REASON_DMARC_POLICY):
            s.slow = True  # mox: keep spammers busy
        if v.reject_mailbox:
            try:
                df2 = DeliveryFacts(**dfacts, is_reject=True, mailbox_destined=v.mailbox)
                await run_blocking(_store_deliver, s.ctx.deps.store, t.account, v.reject_mailbox, data, df2)
            except Exception as e:
                s.log.error("storing rejected message", account=t.account, err=e)
        return SMTPError(v.code, v.secode, v.text)
    try:
        await run_blocking(_store_deliver, s.ctx.deps.store, t.account, v.mailbox, data, df, sender)
    except QuotaExceeded:
        return SMTPError(c.C452_STORAGE_FULL, c.SE_MAILBOX_FULL2, "account storage full")
    except (AccountUnavailable, StoreError) as e:
        s.log.error("delivering into account", account=t.account, err=e)
        return SMTPError(c.C451_LOCAL_ERR, c.SE_SYS_OTHER0, "error delivering message")
    s.log.info("delivered", account=t.account, mailbox=v.mailbox, reason=v.reason, size=len(data))
    return None


async def _first_time_delay(
    s: Session, verdicts: list[tuple[Target, analyze.Verdict]], msg_from: str
) -> None:
    """mox: the first message from a sender an account does not know yet waits a while, only
    when nothing else was suspicious (reason no-bad-signals) and it is not a forward/list."""
    delay = s.settings.first_time_sender_delay
    if delay <= 0 or not msg_from or s.ctx.deps.localserve:
        return
    for t, v in verdicts:
        if not v.accept or v.reason != analyze.REASON_NO_BAD_SIGNALS or v.is_forward or v.is_list:
            continue
        acc = s.ctx.config.account(t.account)
        if acc is not None and acc.NoFirstTimeSenderDelay:
            continue
        try:
            known = await run_blocking(senders.is_known, s.ctx.deps.store, t.account, msg_from)
        except Exception as e:
            s.log.error("looking up known senders", account=t.account, err=e)
            return
        if not known:
            s.log.info("first-time sender, delaying", account=t.account, sender=msg_from, delay=delay)
            await s.flush()
            await asyncio.sleep(delay)
            return


async def _introbox(s: Session, verdicts: list[tuple[Target, analyze.Verdict]], msg_from: str) -> None:
    """mox's Introbox: an account can have messages from senders it does not know yet, that
    passed every check, put in a separate mailbox instead of the Inbox."""
    for t, v in verdicts:
        acc = s.ctx.config.account(t.account)
        intro = getattr(acc, "Introbox", "") if acc is not None else ""
        if not intro or not msg_from or not v.accept or v.mailbox != "Inbox":
            continue
        if v.reason != analyze.REASON_NO_BAD_SIGNALS or v.is_forward or v.is_list:
            continue
        try:
            known = await run_blocking(senders.is_known, s.ctx.deps.store, t.account, msg_from)
        except Exception as e:
            s.log.error("looking up known senders", account=t.account, err=e)
            continue
        if not known:
            v.mailbox = intro


async def deliver(s: Session, txn: Transaction, msg: bytes) -> None:
    hf = msgheaders.scan(msg)
    if hf.received > MAX_RECEIVED:
        raise SMTPError(
            c.C550_MAILBOX_UNAVAIL, c.SE_NET_LOOP6, "loop detected, more than 100 Received headers"
        )
    froms = msgheaders.from_addresses(hf)
    from_lp, from_dom = froms[0] if froms else ("", "")
    msg_from = f"{from_lp}@{from_dom}" if froms else ""
    ls = s.settings
    ip = str(s.conn.remote_addr or s.conn.remote_ip)
    mail_from = str(txn.mail_from)
    cache = s.auth_cache
    iprev_key, helo_key, mf_key = ("iprev", ip), ("helo", ip, s.hello), ("mailfrom", ip, s.hello, mail_from)
    af = await run_blocking(
        authcheck.check,
        s.ctx.deps.resolver,
        ip,
        s.hello,
        mail_from,
        s.hostname,
        msg,
        from_dom.lower(),
        [] if s.ctx.deps.localserve else ls.dnsbls,
        txn.spf if txn.spf is not None else cache.get(mf_key),
        cache.get(iprev_key),
        cache.get(helo_key),
        cache.setdefault(("dmarc-lookups",), {}),
    )
    if authcheck.reusable(af.iprev.status):
        cache[iprev_key] = af.iprev
    if authcheck.reusable(af.spf_helo.status):
        cache[helo_key] = af.spf_helo
    if mail_from and authcheck.reusable(af.spf_mailfrom.status):
        cache[mf_key] = af.spf_mailfrom
    sp = af.spf_for_dmarc()
    facts = analyze.Facts(
        mail_from=str(txn.mail_from),
        mail_from_domain=txn.mail_from.domain,
        msg_from=msg_from,
        msg_from_domain=from_dom.lower(),
        spf_status=sp.status,
        spf_domain=sp.domain,
        dkim_pass_domains=tuple(af.dkim_pass_domains),
        dmarc_status=af.dmarc.status if af.dmarc else "none",
        dmarc_reject=bool(af.dmarc and af.dmarc.reject),
        dnsbl_listed=tuple(af.dnsbl_listed),
        rate_ok=_rate_ok(s),
        headers=tuple(hf.fields),
        localserve=s.ctx.deps.localserve,
    )
    targets, refused, unknown = expand(txn, msg_from)
    if len(unknown) == len(txn.rcpts):
        s.log.info("deliver attempt to unknown user(s)", rcpts=",".join(str(r.path) for r in unknown))
        if s.ctx.deps.unknown_user_delay > 0:
            await s.flush()
            await asyncio.sleep(s.ctx.deps.unknown_user_delay)  # mox: slow down address probing
        raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_UNKNOWN1, "no such user(s)")
    recv = received_header(
        helo=s.hello,
        remote_ip=ip,
        remote_name=af.iprev.host if af.iprev.status == "pass" else "",
        hostname=s.hostname,
        local_ip=s.conn.local_ip,
        with_=protocol(s.ehlo, s.tls, False, txn.smtputf8),
        requiretls=txn.requiretls,
        recvid=s.recvid,
        tls=tls_comment(s.conn.ssl_object),
        rcpt=str(txn.rcpts[0].path) if len(txn.rcpts) == 1 else "",
    )
    common = authcheck.auth_results(s.hostname, af, mail_from) + _received_spf(s, af) + recv
    obj = s.conn.ssl_object
    dfacts: dict[str, Any] = dict(
        remote_ip=ip,
        ehlo_domain=s.hello,
        mail_from=str(txn.mail_from),
        mail_from_localpart=txn.mail_from.localpart,
        mail_from_domain=txn.mail_from.domain,
        msg_from_localpart=from_lp,
        msg_from_domain=from_dom.lower(),
        msg_from_org_domain=(af.dmarc.org_domain if af.dmarc else "") or from_dom.lower(),
        ehlo_validated=af.spf_helo.status == "pass",
        mail_from_validated=af.spf_mailfrom.status == "pass",
        msg_from_validated=bool(af.dmarc and af.dmarc.status == "pass"),
        ehlo_validation=af.spf_helo.status,
        mail_from_validation=af.spf_mailfrom.status,
        msg_from_validation=af.dmarc.status if af.dmarc else "none",
        dkim_domains=tuple(af.dkim_pass_domains),
        is_dsn=b"report-type=delivery-status" in msg[: hf.header_end].lower(),
        received_require_tls=txn.requiretls,
        received_tls_version={"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}.get(obj.version() or "", 0) if obj else 0,
    )
    failures: list[tuple[Rcpt, SMTPError]] = list(refused)
    # localserve: recipients whose local part asks for an error get it, the others the message.
    for r in list(txn.rcpts):
        err = await localserve.recipient_error(s, r.path.localpart, "delivery")
        if err is not None:
            failures.append((r, err))
            for t in targets:
                if r in t.rcpts:
                    t.rcpts.remove(r)
    targets = [t for t in targets if t.rcpts]
    verdicts = [
        (t, analyze.analyze(facts, _dest_for(s.ctx, t.account, t.destination))) for t in targets if t.account
    ]
    await _first_time_delay(s, verdicts, msg_from)
    await _introbox(s, verdicts, msg_from)
    for t, v in verdicts:
        err = await _deliver_target(s, txn, t, v, msg, common, dfacts, msg_from)
        if err is not None:
            failures += [(r, err) for r in t.rcpts]
    err = SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_UNKNOWN1, "no such user")
    failures += [(r, err) for r in unknown]
    _reply(s, txn, msg, failures)


def _received_spf(s: Session, af: authcheck.AuthFacts) -> bytes:
    """The Received-SPF field; the same for messages with the same (reused) SPF result."""
    r = af.spf_for_dmarc()
    cached = s.auth_cache.get(("received-spf",))
    if cached is not None and cached[0] is r:
        return bytes(cached[1])
    field = authcheck.received_spf(af, s.hostname)
    s.auth_cache[("received-spf",)] = (r, field)
    return field


def _rate_ok(s: Session) -> bool:
    addr = s.conn.remote_addr
    if addr is None or s.ctx.deps.localserve:
        return True
    return s.ctx.limits.delivery_rate.add(addr) and s.ctx.limits.delivery_rate_day.add(addr)


def _reply(s: Session, txn: Transaction, msg: bytes, failures: list[tuple[Rcpt, SMTPError]]) -> None:
    failed = {id(r) for r, _ in failures}
    delivered = [r for r in txn.rcpts if id(r) not in failed]
    # RFC 3461 section 5.2.3: a final delivery MTA reports success when NOTIFY asked for it.
    notify_success = [r for r in delivered if r.notify and "SUCCESS" in r.notify]
    if not failures:
        if notify_success:
            s.ctx.spawn(queue_dsn(s, txn, msg, [], notify_success))
        s.reply(c.C250_COMPLETED, c.SE_MAILBOX_OTHER0, "it is done")
        return
    if not delivered:
        # As mox: one reply with every recipient's error, on its own line.
        first = failures[0][1]
        if all((e.code, e.secode) == (first.code, first.secode) for _, e in failures):
            raise SMTPError(first.code, first.secode, "\n".join(e.text for _, e in failures))
        lines = [f"{e.code} {e.reply().ecode} {e.text}" for _, e in failures]
        permanent = any(e.code >= 500 for _, e in failures)
        code = c.C554_TRANSACTION_FAILED if permanent else c.C451_LOCAL_ERR
        raise SMTPError(code, c.SE_SYS_OTHER0, "\n".join([*lines, "multiple errors"]))
    # Mixed: the message is accepted, failed recipients get a DSN (mox's queueDSN), unless
    # they asked for none (RFC 3461 NOTIFY=NEVER, or a NOTIFY list without FAILURE).
    s.reply(c.C250_COMPLETED, c.SE_MAILBOX_OTHER0, "it is done")
    report = [(r, e) for r, e in failures if r.notify is None or "FAILURE" in r.notify]
    if report or notify_success:
        s.ctx.spawn(queue_dsn(s, txn, msg, report, notify_success))


async def queue_dsn(
    s: Session, txn: Transaction, msg: bytes, failures: list[tuple[Rcpt, SMTPError]], delivered: list[Rcpt]
) -> None:
    """Queue one DSN (RFC 3464) to the sender for failed and/or successfully delivered recipients."""
    from app.message.dsn import DSNMessage, DSNRecipientIn, make_dsn

    queue = s.ctx.deps.queue
    if txn.mail_from.is_null or queue is None:
        return
    if s.ctx.deps.localserve:
        s.log.info("not queueing dsn for incoming delivery in localserve")
        return
    now = datetime.datetime.now(datetime.UTC)
    rcpts = [
        DSNRecipientIn(
            final_recipient=str(r.path),
            action="failed",
            status=e.reply().ecode or f"{e.code // 100}.0.0",
            original_recipient=r.orcpt or None,
            diagnostic_code=f"{e.code} {e.reply().ecode} {e.text}",
            last_attempt_date=now,
        )
        for r, e in failures
    ]
    rcpts += [
        DSNRecipientIn(
            final_recipient=str(r.path),
            action="delivered",
            status="2.0.0",
            original_recipient=r.orcpt or None,
            last_attempt_date=now,
        )
        for r in delivered
    ]
    hostname = s.hostname
    dsn = DSNMessage(
        from_=f"postmaster@{hostname}",
        to=str(txn.mail_from),
        subject="mail delivery failure" if failures else "mail delivered",
        text=("Delivery to some recipients of your message failed.\n" if failures else "")
        + ("Your message was delivered to some recipients.\n" if delivered else ""),
        reporting_mta=hostname,
        recipients=rcpts,
        # The DSN carries the original's header section (as mox; RET=FULL is not honoured here).
        original=msg[: msgheaders.header_end(msg)],
        envelope_id=txn.dsn_envid or None,
        arrival_date=now,
        message_id=f"<{time.time_ns():x}@{hostname}>",
        date=now,
    )
    try:
        data = make_dsn(dsn)
        await run_blocking(queue.add, "", "", [str(txn.mail_from)], data)
    except Exception as e:
        s.log.error("queueing dsn", err=e)
