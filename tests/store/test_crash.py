"""Crash safety (DESIGN.md: acknowledged means on disk). A child process delivers messages and
reports each acknowledged one on a pipe; it is killed with SIGKILL at random moments, twenty
times. After every kill, every acknowledged message is present and byte-identical, verify()
passes, and every stored message is complete (byte-identical to what was sent)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.store import Store
from tests.store.crash_child import message_for

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 20


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rnd = random.Random(1234)
    acked: dict[tuple[str, int], str] = {}
    acks_seen = 0
    for rnd_no in range(ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.store.crash_child", str(tmp_path), f"r{rnd_no}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        lines: list[bytes] = []
        ready = threading.Event()

        def reader(
            p: subprocess.Popen[bytes] = proc, out: list[bytes] = lines, ev: threading.Event = ready
        ) -> None:
            assert p.stdout is not None
            for ln in p.stdout:
                if ln == b"ready\n":
                    ev.set()
                out.append(ln)
            ev.set()

        t = threading.Thread(target=reader)
        t.start()
        # Mostly kill while deliveries run; sometimes during start-up (opening, creating).
        if rnd.random() < 0.8:
            ready.wait(60)
        time.sleep(rnd.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        t.join()
        for ln in lines:
            if not ln.endswith(b"\n"):
                continue  # a line cut off by the kill was never a complete acknowledgement
            m = re.fullmatch(rb"(\S+(?: \S+)*) (\d+) (\S+)\n", ln)
            if m is None:
                continue
            acked[(m.group(1).decode(), int(m.group(2)))] = m.group(3).decode()
            acks_seen += 1
        _check(tmp_path, acked)
    assert acks_seen > 0, "the child never acknowledged a delivery"
    print(f"{len(acked)} acknowledged deliveries checked over {ROUNDS} kills")


def _check(data_dir: Path, acked: dict[tuple[str, int], str]) -> None:
    st = Store(data_dir)
    try:
        if "crash" not in st.account_names():
            assert not acked
            return
        acc = st.account("crash")
        problems = acc.verify()
        assert problems == [], problems
        for (mb, uid), key in acked.items():
            metas = acc.message_meta(mb, [uid])
            assert metas, f"acknowledged message {mb} uid {uid} ({key}) lost"
            assert acc.read(metas[0]) == message_for(key), f"message {mb} uid {uid} differs"
        # Nothing partial: every stored message is exactly one that was sent.
        for m in acc.list_mailboxes():
            metas = acc.message_meta(m.id, acc.uids(m.id))
            for meta in metas:
                data = acc.read(meta)
                key = re.search(rb"X-Key: (\S+)", data)
                assert key is not None
                assert data == message_for(key.group(1).decode())
    finally:
        st.close()
