"""Start the SMTP server on 127.0.0.1 ports in a background event loop for tests: a localserve
configuration written by ``app.localserve`` into a temp dir (optionally with another
domains.conf), a real queue, the real store when available, a MockResolver, and TLS with the
config's self-signed certificate.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app import localserve as ls
from app.config import load
from app.dns import MockResolver
from app.listen.conn import Conn
from app.listen.tls import KeyCert, server_context
from app.queue import Queue, QueueDeps
from app.sasl import derive_credentials
from app.smtpserver import Limits, SMTPDeps, SMTPServer

PASSWORD = "moxmoxmox"

ZONE = """
example.org. MX 10 mail.example.org.
mail.example.org. A 127.0.0.1
example.org. TXT "v=spf1 ip4:127.0.0.1 -all"
remote.example. MX 10 mx.remote.example.
mx.remote.example. A 192.0.2.1
remote.example. TXT "v=spf1 ip4:127.0.0.1 -all"
nospf.example. MX 10 mx.remote.example.
nullmx.example. MX 0 .
arecord.example. A 192.0.2.2
_dmarc.strict.example. TXT "v=DMARC1; p=reject"
strict.example. MX 10 mx.remote.example.
strict.example. TXT "v=spf1 -all"
"""


@dataclass
class Server:
    dir: Path
    config: Any
    queue: Any
    store: Any
    server: SMTPServer
    loop: asyncio.AbstractEventLoop
    ports: dict[str, int] = field(default_factory=dict)
    thread: threading.Thread | None = None
    servers: list[asyncio.AbstractServer] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    logins: list[dict[str, Any]] = field(default_factory=list)
    conn_tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def client_tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.dir / "localhost.crt"))

    def connect(self, kind: str = "smtp") -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.ports[kind]), 10)
        if kind == "submissions":
            return self.client_tls().wrap_socket(s, server_hostname="localhost")
        return s

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def messages(self, account: str, mailbox: str = "Inbox") -> list[bytes]:
        acc = self.store.account(account)
        try:
            uids = acc.uids(mailbox)
        except Exception:
            return []
        return [acc.read(m) for m in acc.message_meta(mailbox, uids)]

    def stop(self) -> None:
        async def close() -> None:
            for srv in self.servers:
                srv.close()
            # Cancel the connection handlers only (as the real server does); cancelling the
            # inner tasks of their asyncio.wait_for too can leave 3.11's wait_for hanging.
            tasks = list(self.conn_tasks)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=5)

        try:
            self.call(close(), 10)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(10)
        self.queue.close()
        if self.store is not None:
            self.store.close()


def make_store(data_dir: Path, quota: int = 0) -> Any:
    from app.store.store import Store

    return Store(data_dir, quota=quota)


def start(
    d: Path,
    *,
    localserve: bool = True,
    domains_text: str | None = None,
    zone: str = ZONE,
    pedantic: bool = False,
    limits: Limits | None = None,
    tls_setup: Callable[[ssl.SSLContext], None] | None = None,
    tls_public_key: Callable[[str], tuple[str, str, bool] | None] | None = None,
    static_edit: Callable[[str], str] | None = None,
    new_loop: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
    quota: int = 0,
    first_time_sender_delay: float = 0,
) -> Server:
    ports = {
        "SMTP": 1,
        "Submission": 2,
        "Submissions": 3,
        "IMAP": 4,
        "IMAPS": 5,
        "HTTP": 6,
        "HTTPS": 7,
        "Metrics": 8,
    }
    ls.ensure_config(d, "127.0.0.1", ports)
    if domains_text is not None:
        (d / "domains.conf").write_text(domains_text)
    if static_edit is not None:
        (d / "mox.conf").write_text(static_edit((d / "mox.conf").read_text()))
    config = load(d / "mox.conf")
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = make_store(data_dir, quota)
    if store is not None:
        for name in config.dynamic.Accounts:
            store.account(name, create=True)
    queue = Queue(QueueDeps(config=config, data_dir=data_dir, localserve=localserve))
    tls = server_context([KeyCert(d / "localhost.crt", d / "localhost.key")], default_name="localhost")
    if tls_setup is not None:
        tls_setup(tls)
    cert_der = x509.load_pem_x509_certificate((d / "localhost.crt").read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    creds = {name: derive_credentials(PASSWORD, 4096) for name in config.dynamic.Accounts}

    def credential_lookup(login: str) -> Any:
        lp, _, dom = login.rpartition("@")
        m = config.lookup_address(lp, dom, allow_postmaster=False)
        return None if m is None else creds.get(m.account)

    loop = new_loop()
    srv: Server
    deps = SMTPDeps(
        config=config,
        store=store,
        resolver=MockResolver.from_zone(zone),
        queue=queue,
        tls_context=lambda _name: tls,
        localserve=localserve,
        pedantic=pedantic,
        limits=limits or Limits(),
        read_timeout=10,
        unknown_user_delay=0,
        first_time_sender_delay=first_time_sender_delay,
        credential_lookup=credential_lookup,
        server_cert_der=lambda _name: cert_der,
        tls_public_key=tls_public_key or (lambda _fp: None),
        record_login=lambda **kw: srv.logins.append(kw),
    )
    server = SMTPServer(deps)
    srv = Server(d, config, queue, store, server, loop, tls=tls)
    ready = threading.Event()

    def handler(kind: str) -> Any:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = Conn.from_streams(reader, writer, "local", kind == "submissions")
            task = asyncio.current_task()
            if task is not None:
                srv.conn_tasks.add(task)
                task.add_done_callback(srv.conn_tasks.discard)
            try:
                await server.handle(conn, kind)  # type: ignore[arg-type]
                await conn.close()
            except asyncio.CancelledError:
                pass  # the test server is stopping

        return accept

    async def setup() -> None:
        for kind in ("smtp", "submission", "submissions"):
            s = await asyncio.start_server(
                handler(kind), "127.0.0.1", 0, ssl=tls if kind == "submissions" else None, limit=1 << 16
            )
            srv.servers.append(s)
            srv.ports[kind] = s.sockets[0].getsockname()[1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(setup())
        ready.set()
        loop.run_forever()
        loop.close()

    srv.thread = threading.Thread(target=run, daemon=True)
    srv.thread.start()
    ready.wait(10)
    return srv


_RECVID = re.compile(rb" \([A-Za-z0-9_-]{22}\)$")


def noid(reply: tuple[int, bytes]) -> tuple[int, bytes]:
    """A (code, text) reply without the Received id that error replies end with."""
    return reply[0], _RECVID.sub(b"", reply[1])
