"""Run every benchmark script ``tests/bench/bench_*.py`` (each has a ``main()``) and print
their figures. Benchmarks assert nothing; they report. ``python tests/bench/run.py NAME...``
runs only the named ones (``startup``, ``store``, ...).
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main() -> int:
    sys.path.insert(0, str(ROOT))
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
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(f"tests.bench.{name}")
            mod.main()
        except Exception:
            failed += 1
            traceback.print_exc()
        print(f"({name} took {time.perf_counter() - t0:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
