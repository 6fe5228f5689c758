"""The Queue: adding messages (durably, one row per recipient), the delivery loop (at most
``max_concurrent`` deliveries at once, never two to one domain at once), and the management
operations behind the ``moxpy queue ...`` commands.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import time
from collections.abc import Sequence
from typing import Any

from app import mlog
from app.queue import settings
from app.queue.db import QueueDB
from app.queue.deps import LocalDelivery, QueueDeps
from app.queue.headers import header_value
from app.queue.model import (
    DEFAULT_MAX_ATTEMPTS,
    Filter,
    HoldRule,
    Msg,
    Recipient,
    Retired,
    Suppression,
    base_address,
    split_address,
)
from app.runtime import run_blocking

log = mlog.get("queue")

# FUTURERELEASE (RFC 4865): mox allows holding up to 60 days.
MAX_FUTURE_RELEASE = 60 * 24 * 3600


class QueueError(Exception):
    """Bad input to a queue operation (invalid address, unknown id, ...)."""


@functools.lru_cache(maxsize=4096)
def _split(addr: str) -> tuple[str, str]:
    """``split_address``, remembered: the same senders and recipients come back (errors are
    raised each time)."""
    return split_address(addr)


class Queue:
    """The outgoing queue of one server."""

    def __init__(self, deps: QueueDeps) -> None:
        self.deps = deps
        self.db = QueueDB(deps.data_dir / "queue.db")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self._busy: dict[str, asyncio.Task[None]] = {}  # domain -> delivery task
        self._stopping = False
        self._cleanup_at = 0.0

    # --- adding ---

    def add(
        self,
        sender_account: str,
        mail_from: str,
        recipients: Sequence[Recipient | str],
        data: bytes,
        *,
        requiretls: bool | None = None,
        hold_until: datetime.datetime | float | None = None,
        future_release: str = "",
        dsn_ret: str = "",
        dsn_envid: str = "",
        extra: dict[str, str] | None = None,
        smtputf8: bool = False,
        has_8bit: bool = False,
        message_id: str | None = None,
        subject: str | None = None,
        from_id: str = "",
        transport: str = "",
        is_dmarc_report: bool = False,
        is_tls_report: bool = False,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> list[int]:
        """Queue ``data`` (the complete message, DKIM-signed already) for each recipient.

        Returns the new queue ids in recipient order, after the commit. Recipients on the
        account's suppression list are not queued (logged; their position is left out).
        ``hold_until`` (FUTURERELEASE) sets the first attempt, at most 60 days ahead.
        Raises QueueError for an invalid address or release time.
        """
        now = time.time()
        try:
            slocal, sdomain = _split(mail_from)
        except ValueError as e:
            raise QueueError(str(e)) from None
        first = now
        if hold_until is not None:
            t = hold_until.timestamp() if isinstance(hold_until, datetime.datetime) else float(hold_until)
            if t > now + MAX_FUTURE_RELEASE:
                raise QueueError("future release too far in the future (max 60 days)")
            first = max(now, t)
        if message_id is None:
            message_id = header_value(data, b"message-id")
        if subject is None:
            subject = header_value(data, b"subject")
        msgs: list[Msg] = []
        for r in recipients:
            rcpt = r if isinstance(r, Recipient) else Recipient(r)
            try:
                rlocal, rdomain = _split(rcpt.address)
            except ValueError as e:
                raise QueueError(str(e)) from None
            if not rlocal:
                raise QueueError("empty recipient")
            msgs.append(
                Msg(
                    id=0,
                    base_id=0,
                    queued=now,
                    hold=False,  # hold rules are applied in the insert's transaction
                    sender_account=sender_account,
                    sender_localpart=slocal,
                    sender_domain=sdomain,
                    rcpt_localpart=rlocal,
                    rcpt_domain=rdomain,
                    max_attempts=max_attempts,
                    next_attempt=first,
                    has_8bit=has_8bit,
                    smtputf8=smtputf8,
                    is_dmarc_report=is_dmarc_report,
                    is_tls_report=is_tls_report,
                    message_id=message_id,
                    subject=subject,
                    from_id=from_id,
                    transport=transport,
                    requiretls=requiretls,
                    future_release=future_release,
                    notify=rcpt.notify,
                    orcpt=rcpt.orcpt,
                    dsn_ret=dsn_ret,
                    dsn_envid=dsn_envid,
                    extra=dict(extra or {}),
                )
            )
        # Suppressed recipients are left out and hold rules applied in the transaction of the
        # insert, so a concurrent rule or suppression change is either seen or ordered after.
        ids = self.db.add_new(msgs, data)
        if ids:
            log.debug("queued", ids=ids, account=sender_account, sender=mail_from)
            self.kick()
        return ids

    def kick(self) -> None:
        """Wake the delivery loop (callable from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass

    # --- delivery loop ---

    async def start(self) -> None:
        """Start the delivery loop on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._runner = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the loop; deliveries in progress are cancelled (they are retried after restart)."""
        self._stopping = True
        tasks = list(self._busy.values())
        if self._runner is not None:
            self._runner.cancel()
        for t in tasks:
            t.cancel()
        for t in [*tasks, *([self._runner] if self._runner else [])]:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self._runner = None
        self._busy.clear()

    def close(self) -> None:
        self.db.close()

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                timeout = await self.schedule_pass()
            except Exception as e:
                log.exception("queue scheduling", e)
                timeout = 5.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def schedule_pass(self) -> float | None:
        """Start deliveries for due messages; return seconds until the loop should look again."""
        now = time.time()
        if now >= self._cleanup_at:
            self._cleanup_at = now + 3600
            n = await run_blocking(self.db.retired_cleanup, now)
            if n:
                log.debug("removed expired retired messages", count=n)
        free = self.deps.max_concurrent - len(self._busy)
        picks = await run_blocking(self.db.due, now, list(self._busy), free)
        for _mid, base_id, domain in picks:
            self._busy[domain] = asyncio.create_task(self._deliver_domain(domain, base_id))
        nd = await run_blocking(self.db.next_due)
        if nd is None or nd <= now:
            return None if self._busy or nd is None else 1.0
        return min(nd - now, 3600.0)

    async def _deliver_domain(self, domain: str, base_id: int) -> None:
        from app.queue.deliver import DomainDelivery

        try:
            await DomainDelivery(self, domain).run(base_id)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("delivery failed unexpectedly", e, domain=domain)
        finally:
            self._busy.pop(domain, None)
            if self._wake is not None:
                self._wake.set()

    # --- settings from the configuration ---

    def hostname(self) -> str:
        return self.deps.hostname or settings.hostname(self.deps.config)

    def local_delivery(self) -> LocalDelivery:
        """Where DSNs (and localserve messages) go: the injected one or the store."""
        if self.deps.local_delivery is not None:
            return self.deps.local_delivery
        from app.queue.localdeliver import StoreDelivery

        self.deps.local_delivery = StoreDelivery(
            self.deps.config, self.deps.store, self.deps.localserve, self.deps.localserve_account
        )
        return self.deps.local_delivery

    def keep_periods(self, accounts: set[str]) -> dict[str, float]:
        return {a: settings.keep_retired_period(self.deps.config, a) for a in accounts}

    # --- management (synchronous; ctl handlers run them in the pool) ---

    def list_msgs(self, f: Filter, sort: str = "nextattempt", asc: bool = True) -> list[Msg]:
        return self.db.list_msgs(f, sort, asc)

    def hold(self, f: Filter, hold: bool) -> int:
        n = self.db.update_matching(f, {"hold": int(hold)})
        if not hold:
            self.kick()
        return n

    def schedule(self, f: Filter, seconds: float, from_now: bool) -> int:
        """Set next attempt to now+seconds (``from_now``) or move it by seconds."""
        msgs = self.db.list_msgs(f)
        now = time.time()
        for m in msgs:
            m.next_attempt = (now if from_now else m.next_attempt) + seconds
        self.db.save(msgs)
        self.kick()
        return len(msgs)

    def set_transport(self, f: Filter, transport: str) -> int:
        if transport and transport not in settings.transports(self.deps.config):
            raise QueueError(f"unknown transport {transport!r}")
        n = self.db.update_matching(f, {"transport": transport})
        self.kick()
        return n

    def set_requiretls(self, f: Filter, value: bool | None) -> int:
        return self.db.update_matching(f, {"requiretls": None if value is None else int(value)})

    def fail(self, f: Filter) -> int:
        """Fail matching messages now, delivering failure DSNs."""
        from app.queue.outcome import fail_messages

        msgs = self.db.list_msgs(f)
        fail_messages(self, msgs, "delivery failed by admin")
        return len(msgs)

    def drop(self, f: Filter) -> int:
        """Remove matching messages without DSNs."""
        return len(self.db.remove_matching(f))

    def dump(self, mid: int) -> bytes:
        m = self.db.get(mid)
        if m is None:
            raise QueueError(f"no message with id {mid} in queue")
        return self.db.content(m.content_id)

    def retired(self, f: Filter, asc: bool = False) -> list[Retired]:
        return self.db.retired_list(f, asc)

    def holdrules(self) -> list[HoldRule]:
        return self.db.holdrules()

    def holdrule_add(self, account: str, sender_domain: str, recipient_domain: str) -> HoldRule:
        return self.db.holdrule_add(account, sender_domain.lower(), recipient_domain.lower())

    def holdrule_remove(self, rid: int) -> None:
        if not self.db.holdrule_remove(rid):
            raise QueueError(f"no hold rule with id {rid}")

    def suppress_list(self, account: str = "") -> list[Suppression]:
        return self.db.suppressions(account)

    def suppress_add(self, account: str, address: str, manual: bool = True, reason: str = "") -> bool:
        try:
            base = base_address(address)
        except ValueError as e:
            raise QueueError(str(e)) from None
        return self.db.suppression_add(Suppression(account, base, address, manual, reason, time.time()))

    def suppress_remove(self, account: str, address: str) -> None:
        try:
            base = base_address(address)
        except ValueError as e:
            raise QueueError(str(e)) from None
        if not self.db.suppression_remove(account, base):
            raise QueueError(f"address {address!r} not in suppression list of account {account!r}")

    def suppress_lookup(self, account: str, address: str) -> Suppression | None:
        try:
            return self.db.suppressed(account, base_address(address))
        except ValueError as e:
            raise QueueError(str(e)) from None

    def event(self, kind: str, data: Any) -> None:
        if self.deps.on_event is not None:
            try:
                self.deps.on_event(kind, data)
            except Exception as e:
                log.exception("queue event hook", e)
