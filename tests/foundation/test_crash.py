"""SIGKILL of the whole server process while clients deliver: every message acknowledged with
250 is in the account after restart, and the data directory verifies (no half-written message).
"""

from __future__ import annotations

import os
import random
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.harness import LOCALHOST, wait_port, write_config


def _start(d: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "-loglevel", "error", "localserve", "-dir", str(d)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _sender(port: int, prefix: str, acked: list[str], stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        try:
            with smtplib.SMTP(LOCALHOST, port, timeout=5) as s:
                while not stop.is_set():
                    n += 1
                    mid = f"{prefix}-{n}@crash.test"
                    body = f"Message-ID: <{mid}>\r\nSubject: crash {n}\r\n\r\n" + ("x" * 70 + "\r\n") * 40
                    s.sendmail("sender@localhost", ["mox@localhost"], body.encode())
                    acked.append(mid)  # only after the 250 reply
        except (OSError, smtplib.SMTPException):
            time.sleep(0.05)


def _message_ids(d: Path) -> set[str]:
    from app.store import Store

    store = Store(d)
    try:
        acc = store.account("mox")
        out = set()
        uids = [row[0] for row in acc.uids_flags("Inbox")]
        for meta in acc.message_meta("Inbox", uids):
            head = acc.read_range(meta, 0, 4096)
            m = re.search(rb"Message-ID: <([^>]+)>", head)
            if m:
                out.add(m.group(1).decode())
        return out
    finally:
        store.close()


def test_sigkill_loses_no_acknowledged_message(tmp_path: Path) -> None:
    d = tmp_path / "ls"
    ports = write_config(d)
    acked: list[str] = []
    rnd = random.Random(1)
    for rounds in range(6):
        proc = _start(d)
        try:
            wait_port(ports["SMTP"])
            stop = threading.Event()
            senders = [
                threading.Thread(target=_sender, args=(ports["SMTP"], f"r{rounds}s{i}", acked, stop))
                for i in range(3)
            ]
            for t in senders:
                t.start()
            time.sleep(rnd.uniform(0.3, 1.5))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            stop.set()
            for t in senders:
                t.join(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert len(acked) > 20, "too few deliveries to prove anything"
    present = _message_ids(d)
    missing = [m for m in acked if m not in present]
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:3]}"
    r = subprocess.run(
        [sys.executable, "-m", "app", "verifydata", str(d)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
