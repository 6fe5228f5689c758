"""Delivering the due messages of one destination domain: choosing the transport (message
override, then routes), then direct MX delivery, a smarthost (Submissions/Submission/SMTP with
optional SASL), a SOCKS5 proxy, a configured failure, or in localserve mode local delivery.

One DomainDelivery holds the domain "busy" (never two deliveries to a domain at once) and keeps
its SMTP connection open to deliver further due messages of the same domain over it.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app import mlog
from app.queue import settings
from app.queue.deps import LocalDeliveryError
from app.queue.model import BASE_BACKOFF, Msg
from app.queue.outcome import Outcome, process
from app.queue.tlspolicy import direct_host_tls
from app.runtime import run_blocking
from app.smtpclient import (
    Client,
    RcptTo,
    SMTPClientError,
    TLSMode,
    dial,
    dial_socks,
    gather_destinations,
    gather_ips,
    unverified_context,
    verified_context,
)

if TYPE_CHECKING:
    from app.queue.queue import Queue

log = mlog.get("queue")

MAX_REUSE = 1000  # transactions over one connection before reconnecting
_LOCALSERVE_CODE = re.compile(r"([45]\d\d)$")
# localserve: how long a delivery to a local part ending in "timeout" hangs (as mox: one hour).
LOCALSERVE_TIMEOUT = 3600.0


def backoff(attempts: int) -> float:
    """Seconds until the next attempt after ``attempts`` attempts: 7.5 min doubling, ±5 s jitter."""
    return float(BASE_BACKOFF * (2 ** max(0, attempts - 1)) + random.uniform(-5, 5))


# Opens a session for a delivery; returns the client and the remote host name.
_Connector = Callable[[], Awaitable[tuple[Client, str]]]


@dataclass
class _Conn:
    key: tuple[str, ...]
    client: Client
    host: str
    uses: int = 0


class DomainDelivery:
    def __init__(self, q: Queue, domain: str) -> None:
        self.q = q
        self.domain = domain
        self.conn: _Conn | None = None
        self.log = log.with_(domain=domain, cid=mlog.new_cid())

    async def run(self, base_id: int) -> None:
        try:
            prepared = await run_blocking(self._prepare, base_id)
            while prepared is not None and not self.q._stopping:
                msgs, data, start = prepared
                outcomes = await self._outcomes(msgs, data)
                prepared = await run_blocking(self._finish, outcomes, start)
        finally:
            if self.conn is not None:
                await self.conn.client.close()
                self.conn = None

    def _prepare(self, base_id: int) -> tuple[list[Msg], bytes, float] | None:
        """Take the due messages of a submission to this domain, record the attempt, read the
        bytes (one call into the pool)."""
        start = time.time()
        msgs = self.q.db.group(base_id, self.domain, start)
        if not msgs:
            return None
        msgs = [m for m in msgs if m.transport == msgs[0].transport]
        for m in msgs:
            m.attempts += 1
            m.last_attempt = start
            m.next_attempt = start + backoff(m.attempts)
        # Recorded before we talk to anyone: a crash now means a later retry, not a lost message
        # nor a message that crashes us at every start.
        self.q.db.save(msgs)
        return msgs, self.q.db.content(msgs[0].content_id), start

    def _finish(self, outcomes: list[Outcome], start: float) -> tuple[list[Msg], bytes, float] | None:
        """Record the outcomes, then prepare the next due submission to this domain if the
        connection is kept (one call into the pool per message)."""
        process(self.q, outcomes, start)
        for _ in range(3):
            if self.conn is None or self.q._stopping:
                return None
            base = self.q.db.next_base_for_domain(self.domain, time.time())
            if base is None:
                return None
            prepared = self._prepare(base)
            if prepared is not None:
                return prepared
        return None

    async def _outcomes(self, msgs: list[Msg], data: bytes) -> list[Outcome]:
        try:
            return await self._attempt(msgs, data)
        except SMTPClientError as e:
            return [
                Outcome(m, False, e.permanent, e.code, e.secode, str(e), remote_reply=e.kind == "reply")
                for m in msgs
            ]
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.log.exception("delivery attempt", e)
            return [Outcome(m, False, False, 0, "4.3.0", "internal error") for m in msgs]

    async def _attempt(self, msgs: list[Msg], data: bytes) -> list[Outcome]:
        first = msgs[0]
        if self.q.deps.localserve:
            return await self._local(msgs, data)
        # MinimumAttempts counts attempts already made, not this one (as mox).
        tname = first.transport or settings.route_transport(
            self.q.deps.config,
            first.sender_account,
            first.sender_domain,
            first.rcpt_domain,
            first.attempts - 1,
        )
        if not tname:
            return await self._direct(msgs, data, settings.Transport("", is_direct=True))
        transports = settings.transports(self.q.deps.config)
        t = transports.get(tname)
        if t is None:
            raise SMTPClientError(False, "policy", f"unknown transport {tname!r}", 0, "4.3.5")
        if t.is_fail:
            return [
                Outcome(m, False, t.fail_code >= 500, t.fail_code, "", f"{t.fail_code} {t.fail_message}")
                for m in msgs
            ]
        if t.smarthost is not None:
            return await self._smarthost(msgs, data, t.smarthost)
        return await self._direct(msgs, data, t)

    # --- local (localserve) ---

    async def _local(self, msgs: list[Msg], data: bytes) -> list[Outcome]:
        out: list[Outcome] = []
        for m in msgs:
            local = m.rcpt_localpart.lower()
            if local.endswith("temperror"):
                out.append(
                    Outcome(
                        m, False, False, 451, "4.0.0", "451 temporary error requested", "localserve", True
                    )
                )
                continue
            if local.endswith("permerror"):
                out.append(
                    Outcome(m, False, True, 550, "5.0.0", "550 permanent error requested", "localserve", True)
                )
                continue
            if local.endswith("timeout"):
                # Hang like an unresponsive server would, then fail temporarily. Stopping the
                # queue cancels the wait; the message stays queued.
                log.info("timing out due to special localpart", id=m.id, rcpt=m.recipient)
                await asyncio.sleep(LOCALSERVE_TIMEOUT)
                out.append(Outcome(m, False, False, 0, "4.4.2", "timeout requested", "localserve"))
                continue
            cm = _LOCALSERVE_CODE.search(local)
            if cm and 400 <= int(cm.group(1)) <= 599:
                code = int(cm.group(1))
                out.append(
                    Outcome(m, False, code >= 500, code, "", f"{code} error requested", "localserve", True)
                )
                continue
            try:
                await run_blocking(self.q.local_delivery().deliver_to_address, m.sender, m.recipient, data)
                out.append(Outcome(m, True, False, 250, "2.0.0", "delivered locally", "localserve"))
            except LocalDeliveryError as e:
                out.append(Outcome(m, False, e.permanent, e.code, e.secode, e.text, "localserve", True))
        return out

    # --- SMTP ---

    async def _transact(self, conn: _Conn, msgs: list[Msg], data: bytes) -> list[Outcome]:
        first = msgs[0]
        rcpts = [RcptTo(m.recipient, m.notify, m.orcpt) for m in msgs]
        try:
            results = await conn.client.deliver(
                first.sender,
                rcpts,
                data,
                smtputf8=first.smtputf8,
                has_8bit=first.has_8bit,
                requiretls=bool(first.requiretls),
                dsn_ret=first.dsn_ret,
                dsn_envid=first.dsn_envid,
            )
        finally:
            conn.uses += 1
        return [
            Outcome(m, r.ok, r.permanent, r.code, r.secode, r.text, conn.host, True)
            for m, r in zip(msgs, results, strict=True)
        ]

    async def _with_conn(
        self, key: tuple[str, ...], msgs: list[Msg], data: bytes, connect: _Connector
    ) -> list[Outcome]:
        """Deliver over the kept connection for ``key`` if any, else a new one from ``connect``."""
        if self.conn is not None and (
            self.conn.key != key
            or self.conn.client.broken
            or self.conn.uses >= self._max_uses(self.conn.client)
        ):
            await self.conn.client.close()
            self.conn = None
        if self.conn is not None:
            try:
                return await self._transact(self.conn, msgs, data)
            except SMTPClientError as e:
                if e.permanent or not self.conn.client.broken:
                    raise
                # The kept connection went away (idle timeout); try once on a fresh one.
                await self.conn.client.close()
                self.conn = None
        client, host = await connect()
        self.conn = _Conn(key, client, host)
        try:
            return await self._transact(self.conn, msgs, data)
        except SMTPClientError:
            if self.conn is not None and self.conn.client.broken:
                await self.conn.client.close()
                self.conn = None
            raise

    @staticmethod
    def _max_uses(client: Client) -> int:
        """Transactions per connection: ours, or fewer if the server's LIMITS MAILMAX says so."""
        mailmax = client.limit("MAILMAX")
        return min(MAX_REUSE, mailmax) if mailmax > 0 else MAX_REUSE

    def _verified_ctx(self) -> ssl.SSLContext:
        return self.q.deps.tls_context or verified_context()

    async def _smarthost(self, msgs: list[Msg], data: bytes, s: settings.Smarthost) -> list[Outcome]:
        q = self.q

        async def connect() -> tuple[Client, str]:
            ips = await gather_ips(q.deps.resolver, s.host, []) if q.deps.resolver is not None else None
            addrs = ips.ips if ips is not None else [s.host]
            if s.kind == "submissions":
                insecure = s.starttls_insecure_skip_verify
                mode, ctx = TLSMode.IMMEDIATE, unverified_context() if insecure else self._verified_ctx()
                d = await dial(addrs, s.port, tls=ctx, server_hostname=s.host)
            else:
                d = await dial(addrs, s.port)
                if s.no_starttls:
                    mode, ctx = TLSMode.SKIP, unverified_context()
                elif s.starttls_insecure_skip_verify:
                    mode, ctx = TLSMode.REQUIRED, unverified_context()
                else:
                    mode, ctx = TLSMode.REQUIRED, self._verified_ctx()
            auth = (s.auth.username, s.auth.password, s.auth.mechanisms) if s.auth else None
            c = await Client.open(
                d.reader,
                d.writer,
                ehlo_hostname=q.hostname(),
                remote_hostname=s.host,
                tls_mode=mode,
                tls_context=ctx,
                auth=auth,
                log=self.log,
            )
            return c, s.host

        return await self._with_conn(("smarthost", s.kind, s.host, str(s.port)), msgs, data, connect)

    async def _direct(self, msgs: list[Msg], data: bytes, t: settings.Transport) -> list[Outcome]:
        q = self.q
        first = msgs[0]
        if q.deps.resolver is None:
            raise SMTPClientError(False, "dns", "no resolver configured for direct delivery", 0, "4.4.3")
        requiretls = bool(first.requiretls)
        # A kept connection is only reused under the same TLS requirement.
        key = ("direct", t.name, self.domain, "requiretls" if requiretls else "")
        if self.conn is not None and self.conn.key == key and not self.conn.client.broken:
            try:
                return await self._with_conn(key, msgs, data, self._no_connect)
            except SMTPClientError as e:
                if e.permanent:
                    raise
        dests = await gather_destinations(q.deps.resolver, self.domain)
        last: SMTPClientError | None = None
        for host in dests.hosts:
            try:
                connect = functools.partial(self._direct_connect, host, t, msgs, requiretls)
                return await self._with_conn(key, msgs, data, connect)
            except SMTPClientError as e:
                self.log.debug("delivery to host failed", host=host, err=str(e), permanent=e.permanent)
                last = e
                if e.permanent and e.kind in ("reply", "policy", "auth"):
                    raise
        assert last is not None
        raise last

    async def _no_connect(self) -> tuple[Client, str]:
        raise SMTPClientError(False, "dial", "connection gone")

    async def _direct_connect(
        self, host: str, t: settings.Transport, msgs: list[Msg], requiretls: bool
    ) -> tuple[Client, str]:
        q = self.q
        port = q.deps.smtp_port
        ehlo = t.socks_remote_hostname or q.hostname()
        policy = direct_host_tls(requiretls, self._verified_ctx())
        mode, ctx = policy.mode, policy.context
        if t.socks_address:
            d = await dial_socks(t.socks_address, host, port)
            ip = ""
        else:
            dialed = msgs[0].dialed_ips.get(host, [])
            ips = await gather_ips(
                q.deps.resolver, host, dialed, t.direct_disable_ipv4, t.direct_disable_ipv6
            )
            tried: list[str] = []
            try:
                d = await dial(ips.ips, port, tried=tried)
            finally:
                for m in msgs:
                    m.dialed_ips[host] = (m.dialed_ips.get(host, []) + tried)[-8:]
            ip = d.ip
        try:
            c = await Client.open(
                d.reader,
                d.writer,
                ehlo_hostname=ehlo,
                remote_hostname=host,
                tls_mode=mode,
                tls_context=ctx,
                log=self.log,
            )
        except SMTPClientError as e:
            if e.kind != "tls" or not policy.plaintext_fallback:
                raise
            # Opportunistic TLS failed and no policy requires it: plaintext on a new connection.
            self.log.info("tls handshake failed, falling back to plaintext", host=host, err=str(e))
            if t.socks_address:
                d = await dial_socks(t.socks_address, host, port)
            else:
                d = await dial([ip], port)
            c = await Client.open(
                d.reader,
                d.writer,
                ehlo_hostname=ehlo,
                remote_hostname=host,
                tls_mode=TLSMode.SKIP,
                log=self.log,
            )
        return c, host
