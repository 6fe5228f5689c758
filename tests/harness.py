"""Test harness: the real composed server (the code path of ``serve``) on free 127.0.0.1 ports,
with a config and data directory in a temporary directory and a DNS resolver chosen by the
test; plus a byte-exact transcript helper.

Use the ``mox`` fixture (localserve behaviour, account ``mox@localhost`` / ``moxmoxmox``), or
``start_server(dir, ...)`` for a custom domains.conf, resolver or non-localserve mode::

    def test_x(mox):
        s = smtplib.SMTP("127.0.0.1", mox.ports["SMTP"])

Transcripts::

    run_transcript(sock, '''
    S: 220 *
    C: EHLO x
    S: 250-*
    ''')

``C:`` lines are sent with CRLF appended (``C! `` sends without CRLF); ``S:`` lines must match
the next line received exactly, where a trailing ``*`` matches any rest of the line. The client
side can be split into writes of ``chunk`` bytes to test reassembly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app import localserve as ls

LOCALHOST = "127.0.0.1"


_port_rng = random.Random(os.urandom(16))


def free_ports(n: int) -> list[int]:
    """n distinct currently free TCP ports on 127.0.0.1, chosen at random below the kernel's
    ephemeral range (32768 and up on Linux): a port handed out for binding port 0 or for an
    outgoing connection, here or in a parallel test process, then never takes one of them in
    the time between choosing and the server binding it."""
    out: list[int] = []
    while len(out) < n:
        port = _port_rng.randrange(20000, 32768)
        if port in out:
            continue
        with socket.socket() as s:
            try:
                s.bind((LOCALHOST, port))
            except OSError:
                continue
        out.append(port)
    return out


@dataclass
class RunningServer:
    """A server running on its own event loop in a background thread."""

    dir: Path
    config: Any
    ports: dict[str, int]
    mox: Any = None
    loop: asyncio.AbstractEventLoop | None = None
    thread: threading.Thread | None = None
    error: BaseException | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def config_path(self) -> Path:
        return self.dir / "mox.conf"

    @property
    def data_dir(self) -> Path:
        return Path(self.config.data_dir)

    @property
    def cert_file(self) -> Path:
        return self.dir / "localhost.crt"

    def client_tls_context(self) -> ssl.SSLContext:
        """A client TLS context trusting the server's self-signed certificate."""
        ctx = ssl.create_default_context(cafile=str(self.cert_file))
        return ctx

    @property
    def store(self) -> Any:
        assert self.mox is not None and self.mox.services is not None
        return self.mox.services.store

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop is not None and self.mox is not None and self.thread is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.mox.request_stop)
            self.thread.join(30)
        if self.error is not None:
            raise self.error


def write_config(d: Path, domains_text: str | None = None, static_text: str | None = None) -> dict[str, int]:
    """A localserve-like config directory with free ports; returns the ports by service."""
    names = ["SMTP", "Submission", "Submissions", "IMAP", "IMAPS", "HTTP", "HTTPS", "Metrics"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    ls.ensure_config(d, LOCALHOST, ports)
    if domains_text is not None:
        (d / "domains.conf").write_text(domains_text)
    if static_text is not None:
        (d / "mox.conf").write_text(static_text)
    return ports


def start_server(
    d: Path,
    *,
    localserve: bool = True,
    resolver: Any = None,
    domains_text: str | None = None,
    static_text: str | None = None,
    outgoing_smtp_port: int = 25,
    timeout: float = 30,
) -> RunningServer:
    """Write a config into d (if none there), start the composed server, wait until it listens."""
    from app.config import load
    from app.runtime import new_event_loop
    from app.serve import Mox, Options

    ports = {} if (d / "mox.conf").exists() else write_config(d, domains_text, static_text)
    config = load(d / "mox.conf")
    ls.ensure_account(config)
    rs = RunningServer(dir=d, config=config, ports=ports)
    if not ports:
        lst = config.static.Listeners["local"]
        for k in ("SMTP", "Submission", "Submissions", "IMAP", "IMAPS"):
            sec = getattr(lst, k, None)
            if sec is not None:
                rs.ports[k] = sec.Port
    opts = Options(
        localserve=localserve,
        resolver=resolver,
        config_reload_interval=0.2,
        outgoing_smtp_port=outgoing_smtp_port,
    )
    mox = Mox(config, opts)
    mox.load_tls()
    mox.bind()
    rs.mox = mox
    loop = new_event_loop()
    rs.loop = loop

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(mox.start())
            rs._ready.set()
            loop.run_until_complete(mox.wait_stopped())
            loop.run_until_complete(mox.stop())
        except BaseException as e:
            rs.error = e
            rs._ready.set()
        finally:
            loop.close()

    rs.thread = threading.Thread(target=run, name="moxpy-test-server", daemon=True)
    rs.thread.start()
    if not rs._ready.wait(timeout):
        raise TimeoutError("server did not start")
    if rs.error is not None:
        raise rs.error
    return rs


@pytest.fixture
def mox(tmp_path: Path) -> Iterator[RunningServer]:
    """A running localserve-mode server in tmp_path."""
    rs = start_server(tmp_path / "mox")
    try:
        yield rs
    finally:
        rs.stop()


def wait_port(port: int, timeout: float = 30) -> None:
    end = time.time() + timeout
    while True:
        try:
            socket.create_connection((LOCALHOST, port), 0.5).close()
            return
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.05)


class Transcript:
    """A raw client connection for byte-exact exchanges."""

    def __init__(self, sock: socket.socket, timeout: float = 10) -> None:
        self.sock = sock
        sock.settimeout(timeout)
        self.buf = b""

    def send(self, data: bytes, chunk: int | None = None) -> None:
        if not chunk:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), chunk):
            self.sock.sendall(data[i : i + chunk])
            time.sleep(0.001)

    def readline(self) -> bytes:
        """The next line including CRLF (or what arrived before the peer closed)."""
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                line, self.buf = self.buf, b""
                return line
            self.buf += d
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def closed(self) -> bool:
        """True when the server closed the connection (after the buffered lines)."""
        if self.buf:
            return False
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True

    def expect(self, pattern: bytes) -> bytes:
        line = self.readline()
        got = line.rstrip(b"\r\n")
        ok = got.startswith(pattern[:-1]) if pattern.endswith(b"*") else got == pattern
        if not ok:
            raise AssertionError(f"expected {pattern!r}, got {line!r}")
        return line


def run_transcript(sock: socket.socket, script: str, chunk: int | None = None) -> Transcript:
    """Play a C:/S: script against a connected socket; raises AssertionError on a mismatch."""
    t = Transcript(sock)
    pending = b""
    for raw in script.strip("\n").splitlines():
        line = raw.strip(" ") if raw.startswith(" ") else raw
        if not line.strip():
            continue
        tag, body = line[:3], line[3:]
        if tag == "C: ":
            pending += body.encode() + b"\r\n"
        elif tag == "C! ":
            pending += body.encode()
        elif tag == "S: ":
            if pending:
                t.send(pending, chunk)
                pending = b""
            t.expect(body.encode())
        else:
            raise ValueError(f"bad transcript line {raw!r}")
    if pending:
        t.send(pending, chunk)
    return t
