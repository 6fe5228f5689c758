"""SMTP server figures: submission over STARTTLS with 20 concurrent sessions and 5 KB messages
(durably queued), port-25 delivery with SPF, DKIM and DMARC checks against a warm MockResolver
(durably stored), server RSS under that load, and the RSS cost of 1,000 idle connections.

The server runs in a child process (``python -m tests.bench.bench_smtp serve DIR``) so its RSS
is its own; the load generator is an asyncio client in this process. Prints figures only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SESSIONS = 20
PER_SESSION = int(os.environ.get("BENCH_SMTP_PER_SESSION", "100"))


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return -1.0


def message(frm: str, to: str, i: int, size: int = 5000) -> bytes:
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    body = line * (size // len(line) + 1)
    head = f"From: {frm}\r\nTo: {to}\r\nSubject: bench {i}\r\nMessage-Id: <b{i}@bench.example>\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\n"
    return head.encode() + body[: size - len(head)]


def serve(d: Path, rsa: bool = False) -> None:
    """Child process: start the server, print its ports, run until stdin closes. With ``rsa``
    the domain signs with an RSA-2048 selector next to localserve's Ed25519 one, as a
    quickstart configuration does."""
    sys.path.insert(0, str(ROOT))
    from app import localserve as ls
    from app import mlog
    from app.runtime import new_event_loop
    from app.smtpserver.limits import ConcurrencyLimit, Limits, WindowLimit
    from tests.smtpserver.server import start

    big = (10**9, 10**9, 10**9)
    limits = Limits(
        connection_rate=WindowLimit(60, big),
        concurrent=ConcurrencyLimit(big),
        delivery_rate=WindowLimit(60, big),
        delivery_rate_day=WindowLimit(86400, big),
    )
    mlog.configure("error")
    zone = (d / "zone.txt").read_text()
    domains = None
    if rsa:
        from app.mailauth.dkimkeys import generate_rsa

        (d / "mox").mkdir(exist_ok=True)
        (d / "mox" / "dkim.rsa.pem").write_bytes(generate_rsa(2048))
        domains = ls.domains_text().replace(
            "\t\t\tSign:\n\t\t\t\t- localserve\n",
            "\t\t\t\trsa:\n\t\t\t\t\tPrivateKeyFile: dkim.rsa.pem\n"
            "\t\t\tSign:\n\t\t\t\t- localserve\n\t\t\t\t- rsa\n",
        )
        assert "- rsa" in domains
    srv = start(
        d / "mox", localserve=False, zone=zone, limits=limits, new_loop=new_event_loop, domains_text=domains
    )
    acc = srv.config.dynamic.Accounts["mox"]
    acc.MaxOutgoingMessagesPerDay = acc.MaxFirstTimeRecipientsPerDay = 10**9
    print(json.dumps(srv.ports), flush=True)
    sys.stdin.read()
    srv.stop()


async def _reply(r: asyncio.StreamReader) -> bytes:
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return line


async def _session(
    port: int, tls: ssl.SSLContext | None, auth: bool, frm: str, to: str, msgs: list[bytes]
) -> int:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    await _reply(r)
    w.write(b"EHLO bench.example\r\n")
    await _reply(r)
    if tls is not None:
        w.write(b"STARTTLS\r\n")
        await _reply(r)
        await w.start_tls(tls, server_hostname="localhost")
        w.write(b"EHLO bench.example\r\n")
        await _reply(r)
    if auth:
        w.write(b"AUTH PLAIN " + base64.b64encode(b"\0mox@localhost\0moxmoxmox") + b"\r\n")
        assert (await _reply(r)).startswith(b"235")
    ok = 0
    for m in msgs:
        w.write(f"MAIL FROM:<{frm}>\r\nRCPT TO:<{to}>\r\nBDAT {len(m)} LAST\r\n".encode() + m)
        replies = [await _reply(r) for _ in range(3)]
        if replies[-1].startswith(b"250"):
            ok += 1
    w.write(b"QUIT\r\n")
    await _reply(r)
    w.close()
    return ok


async def _load(
    port: int, tls: ssl.SSLContext | None, auth: bool, frm: str, to: str, msg: bytes
) -> tuple[int, float]:
    t0 = time.perf_counter()
    res = await asyncio.gather(
        *[_session(port, tls, auth, frm, to, [msg] * PER_SESSION) for _ in range(SESSIONS)]
    )
    return sum(res), time.perf_counter() - t0


async def _idle(port: int, n: int) -> list[asyncio.StreamWriter]:
    out = []
    for _ in range(n):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        await _reply(r)
        out.append(w)
    return out


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from app.mailauth import dkim
    from app.mailauth.dkimkeys import generate_rsa, load_private_key, txt_record

    with tempfile.TemporaryDirectory() as td:
        d = Path(td)
        key = load_private_key(generate_rsa(2048))
        zone = (
            "remote.example. MX 10 mx.remote.example.\n"
            "mx.remote.example. A 127.0.0.1\n"
            'remote.example. TXT "v=spf1 ip4:127.0.0.1 -all"\n'
            '_dmarc.remote.example. TXT "v=DMARC1; p=reject"\n'
            f"sel._domainkey.remote.example. TXT {' '.join(json.dumps(txt_record(key)[i : i + 250]) for i in range(0, len(txt_record(key)), 250))}\n"
        )
        (d / "zone.txt").write_text(zone)
        cmd = [sys.executable, "-m", "tests.bench.bench_smtp", "serve", str(d)]
        if os.environ.get("BENCH_SMTP_SERVE_CMD"):
            cmd = [sys.executable, os.environ["BENCH_SMTP_SERVE_CMD"], str(d)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            ports = json.loads(proc.stdout.readline())
            rss0 = _rss_kb(proc.pid)
            _submission(proc.pid, ports, d, "")
            cpu1 = _cpu_s(proc.pid)
            raw = message("bench@remote.example", "mox@localhost", 2)
            signed = dkim.sign(raw, "remote.example", [dkim.SignSelector("sel", key)]) + raw
            n, dt = asyncio.run(
                _load(ports["smtp"], None, False, "bench@remote.example", "mox@localhost", signed)
            )
            rss2 = _rss_kb(proc.pid)
            cpu2 = _cpu_s(proc.pid)
            print(
                f"smtp delivery port 25 SPF+DKIM+DMARC {SESSIONS} sessions: {n / dt:.0f} msg/s ({n} msgs in {dt:.2f}s), "
                f"server cpu {(cpu2 - cpu1) * 1000 / max(n, 1):.2f} ms/msg, server rss {rss2 / 1024:.1f} MB"
            )

            async def idle() -> int:
                ws = await _idle(ports["smtp"], 1000)
                await asyncio.sleep(0.5)
                rss = _rss_kb(proc.pid)
                for w in ws:
                    w.close()
                return rss

            before = _rss_kb(proc.pid)
            after = asyncio.run(idle())
            print(
                f"smtp 1000 idle connections: +{(after - before) / 1024:.1f} MB rss "
                f"(server rss at start {rss0 / 1024:.1f} MB); {os.cpu_count()} cores"
            )
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(30)
        _submission_rsa(d / "rsa", zone)


def _submission(pid: int, ports: dict[str, int], d: Path, label: str) -> None:
    """Measure and print the submission figure against the server ``pid`` (config in ``d``)."""
    ctx = ssl.create_default_context(cafile=str(d / "mox" / "localhost.crt"))
    msg = message("mox@localhost", "someone@remote.example", 1)
    cpu0 = _cpu_s(pid)
    n, dt = asyncio.run(_load(ports["submission"], ctx, True, "mox@localhost", "someone@remote.example", msg))
    cpu1, rss = _cpu_s(pid), _rss_kb(pid)
    print(
        f"smtp submission STARTTLS {SESSIONS} sessions 5KB{label}: {n / dt:.0f} msg/s ({n} msgs in {dt:.2f}s), "
        f"server cpu {(cpu1 - cpu0) * 1000 / max(n, 1):.2f} ms/msg, server rss {rss / 1024:.1f} MB"
    )


def _submission_rsa(d: Path, zone: str) -> None:
    """The submission figure again with a quickstart-like domain: signed with Ed25519 and
    RSA-2048 (localserve's configuration, used above, signs with Ed25519 only)."""
    d.mkdir()
    (d / "zone.txt").write_text(zone)
    cmd = [sys.executable, "-m", "tests.bench.bench_smtp", "serve", str(d), "rsa"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        _submission(
            proc.pid, json.loads(proc.stdout.readline()), d, ", DKIM Ed25519+RSA-2048 (quickstart-like)"
        )
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(30)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]), rsa=sys.argv[3:] == ["rsa"])
    else:
        main()
