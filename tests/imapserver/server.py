"""A real IMAP server for tests: IMAPServer on 127.0.0.1 (a free port) in a background thread
with its own event loop, over a real store in a temporary directory.

Until the lead's harness composes the whole program, tests start the IMAP server directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import runtime, sasl
from app.imapserver import IMAPDeps, IMAPServer
from app.listen.conn import Conn
from app.store import Account, Store

PASSWORD = "testtest"


@dataclass
class IMAPTestServer:
    root: Path
    port: int = 0
    tls_port: int = 0
    store: Store | None = None
    deps: IMAPDeps | None = None
    loop: asyncio.AbstractEventLoop | None = None
    thread: threading.Thread | None = None
    creds: dict[str, Any] = field(default_factory=dict)
    server_ctx: ssl.SSLContext | None = None
    cert_pem: str = ""
    ca: Any = None

    def add_user(self, login: str, password: str = PASSWORD) -> None:
        """Login address = account name (enough for protocol tests)."""
        self.creds[login] = sasl.derive_credentials(password, iterations=64)
        self.account(login)

    def account(self, name: str) -> Account:
        assert self.store is not None
        return self.store.account(name, create=True)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def _tls_context() -> tuple[ssl.SSLContext, str, bytes, Any]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    # Client certificates are requested, not required (as on mox's IMAP listeners).
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ca.configure_trust(ctx)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    der = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).public_bytes(
        serialization.Encoding.DER
    )
    return ctx, ca.cert_pem.bytes().decode(), der, ca


def start(root: Path, quota: int = 0, **dep_overrides: Any) -> Iterator[IMAPTestServer]:
    """Generator for a fixture: yields a running IMAPTestServer, stops it afterwards."""
    ts = IMAPTestServer(root=root)
    ts.store = Store(root, quota=quota)
    ctx, ca_pem, der, ca = _tls_context()
    ts.ca = ca
    ts.server_ctx = ctx
    ts.cert_pem = ca_pem
    ts.add_user("mjl")
    deps = IMAPDeps(
        store=ts.store,
        tls_context=lambda _l: ctx,
        credential_lookup=lambda u: ts.creds.get(u),
        account_for_login=lambda u: u if u in ts.creds else None,
        server_cert_der=lambda _l: der,
        require_starttls=False,
        auth_fail_delay=0,
        preauth_timeout=30,
    )
    for k, v in dep_overrides.items():
        setattr(deps, k, v)
    ts.deps = deps
    server = IMAPServer(deps)
    ready = threading.Event()
    loop = runtime.new_event_loop()  # uvloop where installed, as in production
    ts.loop = loop

    async def serve() -> None:
        async def plain(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.CancelledError):  # at teardown
                await server.handle(Conn.from_streams(r, w, "public", False), False)

        async def tls(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.CancelledError):
                await server.handle(Conn.from_streams(r, w, "public", True), True)

        s1 = await asyncio.start_server(plain, "127.0.0.1", 0)
        s2 = await asyncio.start_server(tls, "127.0.0.1", 0, ssl=ctx)
        ts.port = s1.sockets[0].getsockname()[1]
        ts.tls_port = s2.sockets[0].getsockname()[1]
        ready.set()
        await asyncio.Event().wait()

    def run() -> None:
        asyncio.set_event_loop(loop)
        task = loop.create_task(serve())
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        rest = asyncio.all_tasks(loop)
        for t in rest:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        loop.close()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    ts.thread = th
    ready.wait(10)
    try:
        yield ts
    finally:

        def stop() -> None:
            for t in asyncio.all_tasks(loop):
                t.cancel()

        loop.call_soon_threadsafe(stop)
        th.join(5)
        ts.store.close()
