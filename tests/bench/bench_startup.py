"""Start-up figures of the zipapp: size of dist/moxpy.pyz, cold start (fresh unpack
directory) and warm start of ``moxpy.pyz version``, and idle RSS of localserve.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PYZ = ROOT / "dist" / "moxpy.pyz"


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def _wait_port(port: int, timeout: float = 30) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def main() -> None:
    if not PYZ.exists():
        print(f"{PYZ} missing: run make build first")
        return
    print(f"pyz size: {PYZ.stat().st_size / 1e6:.1f} MB (target <= 20 MB)")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MOXPY_CACHE=str(Path(tmp) / "cache"))
        cmd = [sys.executable, str(PYZ), "version"]
        colds = []
        for _ in range(3):
            shutil.rmtree(Path(tmp) / "cache", ignore_errors=True)
            colds.append(_time(cmd, env))
        warms = [_time(cmd, env) for _ in range(10)]
        print(f"cold start (unpack): median {statistics.median(colds):.3f} s")
        print(
            f"warm start: median {statistics.median(warms):.3f} s, min {min(warms):.3f} s (target <= 0.5 s)"
        )
        d = Path(tmp) / "ls"
        from tests.harness import write_config

        ports = write_config(d)
        proc = subprocess.Popen(
            [sys.executable, str(PYZ), "localserve", "-dir", str(d)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if _wait_port(ports["SMTP"]):
                time.sleep(2)
                print(f"localserve idle RSS: {_rss_kb(proc.pid) / 1024:.1f} MB (target <= 60 MB)")
            else:
                print("localserve did not start listening within 30 s")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
