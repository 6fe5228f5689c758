"""Run every benchmark script ``tests/bench/bench_*.py`` (each has a ``main()``) and print
their figures. Benchmarks assert nothing; they report. ``python tests/bench/run.py NAME...``
runs only the named ones (``startup``, ``store``, ...).

Each benchmark's figures are bracketed by a host speed reference (a fixed Python workload):
compare figures between runs only at similar reference values.
"""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def host_speed() -> float:
    """MB/s at which the standard library parses a fixed set of messages (best of 5).

    The shared VMs these benchmarks run on change speed by 2-3x over minutes; printed before
    and after each benchmark, this tells a slow host from a slow change. A parser over real
    messages is used because it moves with the figures (allocation, regexes, memory), where a
    tight arithmetic loop was seen not to."""
    import email
    import email.policy

    from tests.bench.corpus import WORDS

    body = "\r\n".join(" ".join(WORDS[(i + j) % len(WORDS)] for j in range(12)) for i in range(60))
    msgs = [
        (
            f"From: a{i}@example.org\r\nTo: b@example.com\r\nSubject: reference {i}\r\n"
            f"Message-ID: <r{i}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        ).encode()
        for i in range(40)
    ]
    size = sum(len(m) for m in msgs)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for m in msgs:
            email.message_from_bytes(m, policy=email.policy.compat32).get_payload()
        best = min(best, time.perf_counter() - t0)
    return size / best / 1e6


def _run_one(name: str) -> int:
    """Run one benchmark in this process; 1 when it raised."""
    try:
        mod = importlib.import_module(f"tests.bench.{name}")
        mod.main()
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def main() -> int:
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["--one"]:
        return _run_one(sys.argv[2])
    wanted = set(sys.argv[1:])
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        names = [n for n in names if n.removeprefix("bench_") in wanted or n in wanted]
    print(
        f"# moxpy benchmarks on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    failed = 0
    for name in names:
        print(f"\n## {name.removeprefix('bench_')}", flush=True)
        print(f"(host speed reference: stdlib email parses {host_speed():.0f} MB/s)", flush=True)
        t0 = time.perf_counter()
        if len(names) > 1:
            # Each benchmark in a process of its own: what one leaves behind (a big heap, module
            # state, threads) would slow the next one down (seen: UIDs+flags 160 ms alone,
            # 210 ms after the IMAP benchmark in the same process).
            rc = subprocess.call([sys.executable, str(Path(__file__).resolve()), "--one", name], cwd=ROOT)
            failed += rc != 0
        else:
            failed += _run_one(name)
        print(
            f"({name} took {time.perf_counter() - t0:.1f} s; host speed reference now {host_speed():.0f} MB/s)",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
