"""Composition root (layer 6): configuration -> store -> resolver -> queue -> servers.

``Mox`` is what ``moxpy serve``, ``moxpy localserve`` and the test harness run: it binds every
configured socket (before privileges are dropped), then on the event loop opens the databases,
starts the queue, the protocol servers on the bound sockets, the control socket and the
domains.conf reload timer; ``stop()`` stops accepting, gives open connections 3 seconds, then
closes them and the databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app import mlog
from app.listen.conn import Conn
from app.listen.endpoints import ServiceEndpoint, mail_endpoints
from app.listen.sockets import Bound, bind_all
from app.listen.tls import KeyCert, server_context
from app.services import Services, build_services

log = mlog.get("serve")

Handler = Callable[[Conn], Awaitable[None]]


@dataclass
class Options:
    """How to run: localserve behaviour, a resolver chosen by the caller (tests), grace period."""

    localserve: bool = False
    resolver: Any = None
    grace: float = 3.0
    outgoing_smtp_port: int = 25  # port of direct (MX) delivery; tests point two servers at each other
    config_reload_interval: float = 1.0


@dataclass
class Listening:
    service: ServiceEndpoint
    bound: Bound
    servers: list[asyncio.AbstractServer] = field(default_factory=list)


class Mox:
    """The running server. Construct, ``bind()``, then ``await start()`` ... ``await stop()``."""

    def __init__(self, config: Any, options: Options | None = None) -> None:
        self.config = config
        self.options = options or Options()
        self.listening: list[Listening] = []
        self.tls_contexts: dict[str, ssl.SSLContext] = {}
        self.services: Services | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._stop_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- before the event loop, possibly as root ---

    def load_tls(self) -> None:
        """Build each listener's TLS context from KeyCerts (raises TLSConfigError naming the files)."""
        for name, lst in self.config.static.Listeners.items():
            tls = getattr(lst, "TLS", None)
            keycerts = list(getattr(tls, "KeyCerts", None) or []) if tls is not None else []
            if not keycerts:
                continue
            kcs = [
                KeyCert(self.config.resolve_path(kc.CertFile), self.config.resolve_path(kc.KeyFile))
                for kc in keycerts
            ]
            hostname = getattr(lst, "Hostname", "") or self.config.static.Hostname
            self.tls_contexts[name] = server_context(
                kcs, getattr(tls, "MinVersion", "") or "", default_name=hostname
            )

    def tls_context(self, listener: str) -> ssl.SSLContext | None:
        return self.tls_contexts.get(listener)

    def bind(self) -> None:
        """Bind every configured mail socket; raises BindError naming listener and address."""
        eps = mail_endpoints(self.config.static.Listeners)
        bound = bind_all([e.endpoint for e in eps])
        self.listening = [Listening(e, b) for e, b in zip(eps, bound, strict=True)]

    # --- on the event loop ---

    async def start(self) -> None:
        self.services = await build_services(
            self.config,
            self.options.localserve,
            self.options.resolver,
            self.tls_context,
            self.options.outgoing_smtp_port,
        )
        handlers = self.services.handlers
        for lis in self.listening:
            ep = lis.service.endpoint
            handler = handlers.get(ep.service)
            if handler is None:
                log.error("no server for service, not listening", listener=ep.listener, service=ep.service)
                lis.bound.close()
                continue
            ctx = None
            if lis.service.implicit_tls:
                ctx = self.tls_context(ep.listener)
                if ctx is None:
                    log.error(
                        "implicit TLS service without TLS config", listener=ep.listener, service=ep.service
                    )
                    lis.bound.close()
                    continue
            for sock in lis.bound.socks:
                srv = await asyncio.start_server(
                    self._acceptor(ep.listener, ep.service, handler, lis.service.implicit_tls),
                    sock=sock,
                    ssl=ctx,
                    ssl_handshake_timeout=30 if ctx else None,
                    limit=1 << 16,
                )
                lis.servers.append(srv)
            log.info(
                "listening",
                listener=ep.listener,
                service=ep.service,
                addr=ep.addr,
                tls=lis.service.implicit_tls,
            )
        await self.services.start()
        self._tasks.append(asyncio.create_task(self._reload_loop()))

    def _acceptor(
        self, listener: str, service: str, handler: Handler, implicit_tls: bool
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = Conn.from_streams(reader, writer, listener, implicit_tls)
            task = asyncio.current_task()
            if task is not None:
                self._conns.add(task)
            try:
                await handler(conn)
            except asyncio.CancelledError:
                pass
            except Exception as e:
                log.exception("connection handler failed", e, cid=conn.cid, service=service)
            finally:
                await conn.close()
                if task is not None:
                    self._conns.discard(task)

        return accept

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.config_reload_interval)
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.config.reload_if_changed)
                if self.services is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.services.refresh_client_auth)
            except Exception as e:
                log.exception("config reload", e)

    def request_stop(self) -> None:
        """Ask a running server to stop (safe from signal handlers on the loop)."""
        self._stop_event.set()

    async def wait_stopped(self) -> None:
        await self._stop_event.wait()

    async def stop(self) -> None:
        """Stop accepting, give connections the grace period, then close them and the databases."""
        for lis in self.listening:
            for srv in lis.servers:
                srv.close()
        for t in self._tasks:
            t.cancel()
        if self.services is not None:
            await self.services.stop_accepting()
        if self._conns:
            _, pending = await asyncio.wait(set(self._conns), timeout=self.options.grace)
            for t in pending:
                t.cancel()
            if pending:
                # A cancelled connection still closes politely (Conn.close waits up to 3 s for
                # the peer's TLS close_notify); let that finish before the loop goes away.
                await asyncio.wait(pending, timeout=5)
        for lis in self.listening:
            for srv in lis.servers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(srv.wait_closed(), 1)
        if self.services is not None:
            await self.services.close()
        log.info("stopped")
