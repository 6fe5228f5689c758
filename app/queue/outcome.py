"""What happens after a delivery attempt: successes are retired, temporary failures wait for
their next attempt (with a "delayed" DSN after the 5th), permanent failures and exhausted
retries produce a failure DSN, are retired, and may put the address on the sender account's
suppression list (immediate-block codes at once, others after 3 consecutive failures)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app import mlog
from app.queue import dsn, settings
from app.queue.model import DELAYED_DSN_AFTER, Msg, Result, Suppression, base_address

if TYPE_CHECKING:
    from app.queue.queue import Queue

log = mlog.get("queue")

_BLOCK_CODES = {521, 550, 551, 553, 556}
_BLOCK_SECODES = {"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.2.1", "5.7.1"}
SUPPRESS_AFTER_FAILURES = 3


@dataclass(frozen=True)
class Outcome:
    msg: Msg
    ok: bool
    permanent: bool
    code: int = 0
    secode: str = ""
    text: str = ""
    remote_mta: str = ""
    remote_reply: bool = False  # the code came from the remote server


def process(q: Queue, outcomes: Sequence[Outcome], start: float) -> None:
    """Record results, retire finished messages, send DSNs (synchronous; runs in the pool)."""
    now = time.time()
    done_ok: list[Msg] = []
    failed: list[Outcome] = []
    delayed: list[Outcome] = []
    keep: list[Msg] = []
    for o in outcomes:
        m = o.msg
        m.results.append(Result(start, now - start, o.ok, o.code, o.secode, o.text))
        if o.ok:
            done_ok.append(m)
        elif o.permanent or m.attempts >= m.max_attempts:
            failed.append(o)
        else:
            keep.append(m)
            if m.attempts == DELAYED_DSN_AFTER:
                delayed.append(o)
    if keep:
        q.db.save(keep)
    if done_ok:
        q.db.retire(done_ok, True, q.keep_periods({m.sender_account for m in done_ok}), now)
        for m in done_ok:
            log.info("delivered", id=m.id, rcpt=m.recipient, attempts=m.attempts)
            q.event("delivered", m)
    if failed:
        _send_dsn(q, failed, "failed")
        # Suppression before retiring: once a message has left the queue, the address it
        # failed for is on the list.
        for o in failed:
            _maybe_suppress(q, o)
        q.db.retire(
            [o.msg for o in failed], False, q.keep_periods({o.msg.sender_account for o in failed}), now
        )
        for o in failed:
            log.info("delivery failed", id=o.msg.id, rcpt=o.msg.recipient, code=o.code, err=o.text)
            q.event("failed", o.msg)
    if delayed:
        _send_dsn(q, delayed, "delayed")
        for o in delayed:
            q.event("delayed", o.msg)


def _maybe_suppress(q: Queue, o: Outcome) -> None:
    m = o.msg
    if not m.sender_account or not o.remote_reply or o.code < 500:
        return
    base = base_address(m.recipient)
    immediate = o.code in _BLOCK_CODES or o.secode in _BLOCK_SECODES
    count = q.db.failcount_bump(m.sender_account, base, reset=False)
    if immediate or count >= SUPPRESS_AFTER_FAILURES:
        reason = f"delivery failure: {o.text}"[:500]
        if q.db.suppression_add(Suppression(m.sender_account, base, m.recipient, False, reason, time.time())):
            log.info("added recipient to suppression list", account=m.sender_account, rcpt=m.recipient)


def _dsn_destination(q: Queue, m: Msg, action: str) -> tuple[str, str, bool] | None:
    """(account, mailbox, seen) for a DSN about ``m``, or None when none is sent. Failures of
    our outgoing DMARC reports go, marked seen, to the postmaster's "<mailbox>/dmarc" (as mox)."""
    if m.is_dmarc_report:
        if action != "failed":
            return None
        pm = settings.postmaster(q.deps.config)
        return None if pm is None else (pm[0], f"{pm[1]}/dmarc", True)
    if dsn.wants(m, action) and m.sender_account:
        return m.sender_account, "Inbox", False
    return None


def _send_dsn(q: Queue, outcomes: list[Outcome], action: str) -> None:
    by_base: dict[tuple[int, str, str, bool], list[Outcome]] = {}
    for o in outcomes:
        dest = _dsn_destination(q, o.msg, action)
        if dest is not None:
            by_base.setdefault((o.msg.base_id, *dest), []).append(o)
    for (_, account, mailbox, seen), group in by_base.items():
        m = group[0].msg
        try:
            original = q.db.content(m.content_id)
            recips = [
                dsn.DSNRecipient(
                    o.msg,
                    action,
                    o.secode or ("5.0.0" if action == "failed" else "4.0.0"),
                    o.text,
                    o.remote_mta,
                )
                for o in group
            ]
            data = dsn.compose(q.hostname(), recips, original)
            ld = q.local_delivery()
            ld.deliver_to_account(account, mailbox, data, seen)
            log.info(
                "delivered dsn",
                action=action,
                account=account,
                mailbox=mailbox,
                ids=[o.msg.id for o in group],
            )
        except Exception as e:
            log.exception("delivering dsn to sender account", e, account=account, action=action)


def fail_messages(q: Queue, msgs: Sequence[Msg], text: str) -> None:
    """Fail messages at once (admin action), with failure DSNs."""
    start = time.time()
    process(q, [Outcome(m, False, True, 0, "5.0.0", text) for m in msgs], start)
