"""Submission (RFC 6409): checks on a message from an authenticated account, the headers added
to it (Message-ID, Date, Authentication-Results, Received, DKIM-Signature) and handing it to the
outgoing queue, as mox's ``submit()``.
"""

from __future__ import annotations

import base64
import email.utils
import os
import time

from app.runtime import run_blocking
from app.smtp import codes as c
from app.smtp.command import Path
from app.smtp.reply import SMTPError
from app.smtpserver import addresses, localserve, msgheaders, outgoing
from app.smtpserver.received import protocol, received_header, tls_comment
from app.smtpserver.session import Session, Transaction

DEFAULT_MAX_OUTGOING_PER_DAY = 1000
DEFAULT_MAX_FIRST_TIME_PER_DAY = 200


def _check_from(s: Session, hf: msgheaders.HeaderFacts) -> Path:
    froms = msgheaders.from_addresses(hf)
    if len(froms) != 1:
        raise SMTPError(
            c.C550_MAILBOX_UNAVAIL,
            c.SE_MSG_OTHER0,
            "cannot parse header or From address: need exactly one address",
        )
    lp, dom = froms[0]
    path = Path(lp, dom.lower())
    if not addresses.may_send_as(s.ctx, s.account, path):
        raise SMTPError(
            c.C550_MAILBOX_UNAVAIL,
            c.SE_SEC_NOT_AUTHORIZED1,
            "message from address must belong to authenticated user",
        )
    return path


def _check_limits(s: Session, rcpts: list[str], new: set[str]) -> None:
    """Sending limits (synchronous: runs in the pool with the rest of the submission).
    ``new``: the recipients the account has not written to or heard from before."""
    if s.ctx.deps.store is None:
        return
    acc = s.ctx.config.account(s.account)
    max_msgs = getattr(acc, "MaxOutgoingMessagesPerDay", 0) or DEFAULT_MAX_OUTGOING_PER_DAY
    max_first = getattr(acc, "MaxFirstTimeRecipientsPerDay", 0) or DEFAULT_MAX_FIRST_TIME_PER_DAY
    why = outgoing.check(s.ctx.deps.store, s.account, rcpts, max_msgs, max_first, new=new)
    if not why:
        return
    s.log.info("submission limit reached", account=s.account, limit=why)
    if why == "messages":
        text = (
            f"max number of messages ({max_msgs}) over past 24h reached, "
            "try increasing per-account setting MaxOutgoingMessagesPerDay"
        )
    else:
        text = (
            f"max number of new/first-time recipients ({max_first}) over past 24h reached, "
            "try increasing per-account setting MaxFirstTimeRecipientsPerDay"
        )
    raise SMTPError(c.C451_LOCAL_ERR, c.SE_SEC_NOT_AUTHORIZED1, text)


def _first(hf: msgheaders.HeaderFacts, name: str) -> str:
    """The first value of a header field as the queue lists it ("" when absent); the queue
    does not parse the header again."""
    for n, v in hf.fields:
        if n.lower() == name:
            return v[:1000]
    return ""


def _from_id(s: Session, txn: Transaction) -> tuple[str, str]:
    """mox's FromIDLoginAddresses: when logged in with such an address, the MAIL FROM gets a
    unique id after the catchall separator, so DSNs and replies can be matched to the message."""
    acc = s.ctx.config.account(s.account)
    logins = {a.lower() for a in (getattr(acc, "FromIDLoginAddresses", None) or [])}
    if s.login_address.lower() not in logins:
        return str(txn.mail_from), ""
    d = s.ctx.config.domain(txn.mail_from.domain)
    seps = [x for x in (getattr(d, "LocalpartCatchallSeparators", None) or []) if x] if d is not None else []
    sep = seps[0] if seps else (getattr(d, "LocalpartCatchallSeparator", "") if d is not None else "")
    if not sep:
        return str(txn.mail_from), ""
    from_id = base64.urlsafe_b64encode(os.urandom(12)).decode().rstrip("=")
    base = txn.mail_from.localpart.split(sep, 1)[0]
    return str(Path(f"{base}{sep}{from_id}", txn.mail_from.domain)), from_id


async def submit(s: Session, txn: Transaction, msg: bytes) -> None:
    await localserve.submission_error(s, txn)
    # What the Received header says about the connection is taken here, on the event loop
    # thread that owns the connection (its TLS object included); everything else, from parsing
    # the header to the commit in the queue, is one call in the pool: per message, the event
    # loop only reads the command and writes the reply.
    with_ = protocol(s.ehlo, s.tls, True, txn.smtputf8)
    tls = tls_comment(s.conn.ssl_object)
    ids, size = await run_blocking(_submit, s, txn, msg, with_, s.recvid, tls)
    s.log.info("message queued", account=s.account, ids=ids, size=size, rcpts=len(txn.rcpts))
    s.reply(c.C250_COMPLETED, c.SE_MAILBOX_OTHER0, "it is done")


def _submit(
    s: Session, txn: Transaction, msg: bytes, with_: str, recvid: str, tls: str
) -> tuple[list[int], int]:
    """Check, complete, sign and queue a submitted message (synchronous, in the pool).

    Returns the queue ids and the queued size; raises SMTPError for the reply."""
    hf = msgheaders.scan(msg)
    if hf.header_end == 0 or hf.header_end >= len(msg):
        # RFC 6409 section 8.1: a submitted message needs a header and a body section.
        raise SMTPError(
            c.C554_TRANSACTION_FAILED, c.SE_MSG_OTHER0, "message requires both header and body section"
        )
    if s.ctx.deps.pedantic and hf.has_return_path:
        raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_MSG_OTHER0, "message should not have Return-Path header")
    if hf.extra_duplicate:
        raise SMTPError(
            c.C554_TRANSACTION_FAILED, c.SE_MSG_OTHER0, f'duplicate x-mox-extra- key "{hf.extra_duplicate}"'
        )
    from_path = _check_from(s, hf)
    rcpts = [str(r.path) for r in txn.rcpts]
    store = s.ctx.deps.store
    new = outgoing.unknown(store, s.account, rcpts) if store is not None else set()
    _check_limits(s, rcpts, new)
    queue = s.ctx.deps.queue
    if queue is None:
        raise SMTPError(c.C451_LOCAL_ERR, c.SE_SYS_OTHER0, "outgoing queue not available")

    hostname = s.hostname
    added = b""
    message_id = _first(hf, "message-id")
    if not hf.has_message_id:
        message_id = f"<{os.urandom(12).hex()}@{hostname}>"
        added += f"Message-Id: {message_id}\r\n".encode()
    if not hf.has_date:
        added += f"Date: {email.utils.formatdate(time.time(), localtime=False)}\r\n".encode()
    authres = f"Authentication-Results: {hostname}; auth=pass\r\n\tsmtp.mailfrom={txn.mail_from}\r\n".encode()
    recv = received_header(
        helo=hostname,  # as mox: the submitting client's name and address are not revealed
        remote_ip="",
        remote_name="",
        hostname=hostname,
        local_ip=s.conn.local_ip,
        with_=with_,
        requiretls=txn.requiretls,
        recvid=recvid,
        tls=tls,
        rcpt=rcpts[0] if len(rcpts) == 1 else "",
    )
    dkim_headers = s.ctx.signer.sign(from_path.domain, added + msg)
    # The order mox uses: Received, the added Message-Id/Date, DKIM-Signature, Authentication-Results.
    data = recv + added + dkim_headers + authres + msg

    from app.queue import QueueError, Recipient

    mail_from, from_id = _from_id(s, txn)

    requiretls: bool | None = True if txn.requiretls else (False if hf.tls_required_no else None)
    qrcpts = [Recipient(str(r.path), r.notify, r.orcpt) for r in txn.rcpts]
    try:
        ids = queue.add(
            s.account,
            mail_from,
            qrcpts,
            data,
            requiretls=requiretls,
            hold_until=txn.hold_until,
            future_release=txn.future_release,
            dsn_ret=txn.dsn_ret,
            dsn_envid=txn.dsn_envid,
            extra=hf.extra,
            smtputf8=txn.smtputf8,
            has_8bit=not data.isascii(),
            from_id=from_id,
            message_id=message_id,
            subject=_first(hf, "subject"),
        )
    except QueueError as e:
        raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_OTHER0, str(e)) from None
    if store is not None:
        try:
            # Counted for the sending limits; replies from these recipients will not be
            # delayed as first-time senders.
            outgoing.record(store, s.account, rcpts, new=new)
        except Exception as e:
            s.log.error("recording outgoing message", account=s.account, err=e)
    return ids, len(data)
