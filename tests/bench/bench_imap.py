"""IMAP server benchmark (issue 7 targets, scaled to run in well under 2 minutes):

- 10 clients looping SELECT / FETCH 50 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE) /
  FETCH BODY.PEEK[] / STORE +FLAGS / NOOP on a 1,000-message mailbox: commands/s;
- APPEND of 5 KB messages: appends/s;
- 1,000 concurrent IDLE sessions: added RSS;
- SELECT of a large mailbox and FETCH 1:* (UID FLAGS) on it: time, and RSS growth.

The server runs in this process on its own event loop thread; load clients run in separate
processes (no shared GIL) but on the same cores. Figures, no assertions.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.store import AppendItem  # noqa: E402
from tests.imapserver.server import PASSWORD, IMAPTestServer, start  # noqa: E402
from tests.imapserver.wire import Wire  # noqa: E402

BODY = (b"x" * 76 + b"\r\n") * 64  # ~5 KB


def message(i: int) -> bytes:
    return (
        f"From: Sender {i} <s{i}@example.org>\r\nTo: mjl@mox.example\r\nSubject: bench message {i}\r\n"
        f"Message-Id: <b{i}@example.org>\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\n"
    ).encode() + BODY


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fill(imap: IMAPTestServer, mailbox: str, n: int, small: bool = False) -> float:
    acc = imap.account("mjl")
    if mailbox != "Inbox":
        acc.create_mailbox(mailbox)
    t0 = time.perf_counter()
    batch = 1000
    for i in range(0, n, batch):
        items = [
            AppendItem(message(j) if not small else message(j)[:300]) for j in range(i, min(n, i + batch))
        ]
        acc.append(mailbox, items)
    return time.perf_counter() - t0


def login(imap: IMAPTestServer) -> Wire:
    w = Wire(socket.create_connection(("127.0.0.1", imap.port), timeout=60))
    w.line()
    w.cmd(b"l", b"LOGIN mjl " + PASSWORD.encode())
    return w


def _mixed_worker(args: tuple[int, int, float]) -> int:
    port, k, stop = args
    w = Wire(socket.create_connection(("127.0.0.1", port), timeout=60))
    w.line()
    w.cmd(b"l", b"LOGIN mjl " + PASSWORD.encode())
    n = 0
    i = 0
    while time.time() < stop:
        i += 1
        m = 1 + (k * 97 + i * 13) % 950
        w.cmd(b"a", b"SELECT INBOX")
        w.cmd(b"b", b"FETCH %d:%d (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)" % (m, m + 49))
        w.cmd(b"c", b"FETCH %d BODY.PEEK[]" % m)
        w.cmd(b"d", b"STORE %d +FLAGS (\\Flagged)" % m)
        w.cmd(b"e", b"NOOP")
        n += 5
    w.cmd(b"z", b"LOGOUT")
    return n


def _append_worker(args: tuple[int, int, float]) -> int:
    port, _k, stop = args
    w = Wire(socket.create_connection(("127.0.0.1", port), timeout=60))
    w.line()
    w.cmd(b"l", b"LOGIN mjl " + PASSWORD.encode())
    msg = message(0)
    n = 0
    while time.time() < stop:
        w.cmd(b"a", b"APPEND Appends {%d+}\r\n" % len(msg) + msg)
        n += 1
    return n


def _in_processes(fn: Any, imap: IMAPTestServer, clients: int, seconds: float) -> float:
    """Run client loops in separate processes, so they do not share the server's GIL."""
    ctx = multiprocessing.get_context("fork")
    stop = time.time() + seconds
    t0 = time.perf_counter()
    with ctx.Pool(clients) as pool:
        counts = pool.map(fn, [(imap.port, k, stop) for k in range(clients)])
    return sum(counts) / (time.perf_counter() - t0)


def mixed_load(imap: IMAPTestServer, clients: int, seconds: float) -> float:
    return _in_processes(_mixed_worker, imap, clients, seconds)


def appends(imap: IMAPTestServer, clients: int, seconds: float) -> float:
    imap.account("mjl").create_mailbox("Appends")
    return _in_processes(_append_worker, imap, clients, seconds)


def idlers(imap: IMAPTestServer, n: int) -> tuple[float, float]:
    before = rss_mb()
    conns = []
    for _ in range(n):
        w = login(imap)
        w.cmd(b"s", b"SELECT INBOX")
        w.send(b"i IDLE\r\n")
        w.line()
        conns.append(w)
    after = rss_mb()
    # One delivery wakes every idler; time until the last one saw it.
    t0 = time.perf_counter()
    imap.account("mjl").deliver("Inbox", message(5))
    for w in conns:
        while b"EXISTS" not in w.line():
            pass
    wake = time.perf_counter() - t0
    for w in conns:
        w.sock.close()
    return after - before, wake


def big_mailbox(imap: IMAPTestServer, n: int) -> tuple[float, float, float, float]:
    fill_s = fill(imap, "Big", n, small=True)
    w = login(imap)
    w.cmd(b"e", b"ENABLE IMAP4rev2")  # no IMAP4rev1 first-unseen scan on SELECT
    before = rss_mb()
    t0 = time.perf_counter()
    w.cmd(b"a", b"SELECT Big")
    select_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    w.send(b"b FETCH 1:* (UID FLAGS)\r\n")
    # Read raw chunks (the client shares this process's GIL with the server; keep it cheap).
    buf = bytearray(w.buf)
    while b"\r\nb OK" not in buf[-200:]:
        buf += w.sock.recv(1 << 20)
    fetch_s = time.perf_counter() - t0
    lines = buf.count(b" FETCH (")
    grew = rss_mb() - before
    assert lines >= n
    return fill_s, select_s, fetch_s, grew


def main() -> None:
    from app import mlog

    mlog.configure("error")  # a login line per session would bury the figures
    big = int(os.environ.get("BENCH_IMAP_BIG", "100000"))
    with tempfile.TemporaryDirectory() as d:
        for imap in start(Path(d)):
            fill(imap, "Inbox", 1000)
            print(
                f"imap: mixed SELECT/FETCH/FETCH BODY/STORE/NOOP, 10 clients: {mixed_load(imap, 10, 8):.0f} commands/s (target >= 1500)"
            )
            print(f"imap: APPEND 5 KB, 4 clients: {appends(imap, 4, 5):.0f} appends/s (target >= 500)")
            added, wake = idlers(imap, 1000)
            print(
                f"imap: 1000 IDLE sessions add {added:.1f} MB RSS (target <= 60), all woken by one delivery in {wake * 1000:.0f} ms"
            )
            fill_s, select_s, fetch_s, grew = big_mailbox(imap, big)
            print(f"imap: {big}-message mailbox (filled in {fill_s:.1f} s): SELECT {select_s*1000:.0f} ms (target <= 50), "
                  f"(IMAP4rev2) FETCH 1:* (UID FLAGS) {fetch_s*1000:.0f} ms (target <= 300), RSS +{grew:.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
