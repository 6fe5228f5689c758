"""Queue figures: queue-to-delivery throughput into Postfix's ``smtp-sink`` (one destination
domain over one reused connection, and ten domains in parallel), and the time of a scheduling
pass with 100,000 queued entries. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from app.dns import MockResolver
from app.queue import Filter, Queue, QueueDeps
from app.queue.model import Msg

MSG = b"From: a@example.org\r\nTo: b@sink.example\r\nSubject: bench\r\n\r\n" + b"hello world\r\n" * 100


def _config() -> SimpleNamespace:
    acc = SimpleNamespace(KeepRetiredMessagePeriod="", Routes=[])
    return SimpleNamespace(
        static=SimpleNamespace(Hostname="bench.example", Transports={}),
        dynamic=SimpleNamespace(Accounts={"bench": acc}, Domains={}, Routes=[]),
    )


class _NoLocal:
    def deliver_to_account(self, account: str, mailbox: str, data: bytes, seen: bool = False) -> None:
        pass

    def deliver_to_address(self, mail_from: str, rcpt: str, data: bytes) -> None:
        pass


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def _start_sink() -> tuple[subprocess.Popen[bytes], int] | None:
    sink = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if os.path.exists("/usr/sbin/smtp-sink") else None
    )
    if sink is None:
        print("smtp-sink not installed (postfix package): throughput benchmark skipped")
        return None
    port = _free_port()
    cmd = [sink]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]
    # -c: count, PIPELINING and 8BITMIME are advertised by default.
    p = subprocess.Popen(
        [*cmd, f"127.0.0.1:{port}", "256"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    print("smtp-sink did not start")
    return None


async def _throughput(n: int, domains: int, port: int) -> float:
    zone = (
        "".join(f"d{i}.sink.example. MX 10 mx.sink.example.\n" for i in range(domains))
        + "mx.sink.example. A 127.0.0.1\n"
    )
    with tempfile.TemporaryDirectory() as d:
        q = Queue(
            QueueDeps(
                config=_config(),
                data_dir=Path(d),
                resolver=MockResolver.from_zone(zone),
                smtp_port=port,
                local_delivery=_NoLocal(),
            )
        )
        rule = q.holdrule_add("", "", "")
        for i in range(n):
            q.add("bench", "a@example.org", [f"u{i}@d{i % domains}.sink.example"], MSG)
        q.holdrule_remove(rule.id)
        await q.start()
        t0 = time.perf_counter()
        q.hold(Filter(), False)
        while q.db.count():
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        await q.stop()
        q.close()
    return n / elapsed


def _scheduling_pass(entries: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as d:
        q = Queue(QueueDeps(config=_config(), data_dir=Path(d), local_delivery=_NoLocal()))
        now = time.time()
        msgs = [
            Msg(
                id=0,
                base_id=0,
                queued=now,
                hold=False,
                sender_account="bench",
                sender_localpart="a",
                sender_domain="example.org",
                rcpt_localpart=f"u{i}",
                # 60% to one big domain, due first (the worst case for skipping a busy domain).
                rcpt_domain="big.example" if i < entries * 6 // 10 else f"d{i % 5000}.example",
                next_attempt=now - 100 + i * 0.0001 if i % 2 or i < entries * 6 // 10 else now + 3600 + i,
            )
            for i in range(entries)
        ]
        q.db.insert(msgs, MSG)
        busy = ["big.example"] + [f"d{i}.example" for i in range(9)]

        def timed(busy_domains: list[str], free: int) -> float:
            best = float("inf")
            for _ in range(7):
                t0 = time.perf_counter()
                q.db.due(time.time(), busy_domains, free)
                q.db.next_due()
                best = min(best, time.perf_counter() - t0)
            return best * 1000

        idle = timed([], 10)
        full = timed(busy, 0)
        partly = timed(busy[:1], 9)
        q.close()
    return idle, full, partly


def main() -> None:
    from app import mlog

    mlog.configure(mlog.INFO, {"queue": "error"})  # no line per delivered message
    started = _start_sink()
    if started is not None:
        proc, port = started
        try:
            for n, domains in ((2000, 1), (3000, 10)):
                rate = asyncio.run(_throughput(n, domains, port))
                print(
                    f"queue -> smtp-sink, {n} messages to {domains} domain(s), connection reuse: {rate:.0f} msg/s"
                )
        finally:
            proc.kill()
            proc.wait()
    idle, full, partly = _scheduling_pass(100_000)
    print(
        f"scheduling pass, 100,000 queued (80,000 due; 60,000 to one domain), no deliveries running: {idle:.2f} ms"
    )
    print(f"scheduling pass, 100,000 queued, all 10 delivery slots busy: {full:.2f} ms")
    print(f"scheduling pass, 100,000 queued, the big domain busy, 9 slots free: {partly:.2f} ms")
    print("(figures from a 2-core machine shared with other work; compare runs on the same machine)")
    mlog.configure(mlog.INFO)


if __name__ == "__main__":
    main()
