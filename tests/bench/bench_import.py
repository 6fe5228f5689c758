"""Import benchmark: a generated mbox (default 20,000 messages of ~2-6 KB; the issue's target
is 100,000 in <= 30 s with RSS <= 200 MB; set BENCH_IMPORT_N=100000 for the full run) imported
into a fresh account through ``importer.import_path``: messages/s, MB/s, peak RSS of this
process and of the largest worker process (forked, so much of it is shared with this one),
and CPU seconds of this process and of the workers. Prints figures, asserts nothing.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.store import importer  # noqa: E402
from app.store.account import Account  # noqa: E402
from tests.bench.corpus import WORDS  # noqa: E402


def write_mbox(path: Path, n: int) -> int:
    rnd = random.Random(1)
    total = 0
    with path.open("wb") as f:
        for i in range(n):
            body = "\n".join(
                " ".join(rnd.choice(WORDS) for _ in range(12)) for _ in range(rnd.randint(20, 80))
            )
            msg = (
                f"From sender@example.org Mon Jan  3 10:{i % 60:02d}:00 2022\n"
                f"From: Sender {i % 97} <sender{i % 97}@example.org>\nTo: mjl@mox.example\n"
                f"Subject: report {i // 3}\nMessage-ID: <m{i}@example.org>\n"
                f"Date: Mon, 3 Jan 2022 10:00:00 +0000\nStatus: {'RO' if i % 2 else 'O'}\n"
                f"X-Keywords: {'$Forwarded' if i % 5 == 0 else ''}\n\n{body}\nFrom here on\n\n"
            ).encode()
            total += len(msg)
            f.write(msg.replace(b"\nFrom here", b"\n>From here"))
    return total


def rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_s(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def main() -> None:
    n = int(os.environ.get("BENCH_IMPORT_N", "20000"))
    with tempfile.TemporaryDirectory() as d:
        mbox = Path(d) / "bench.mbox"
        size = write_mbox(mbox, n)
        rss_before = rss_mb()
        acc = Account("bench", Path(d) / "bench.db", create=True)
        cpu0 = cpu_s(resource.RUSAGE_SELF), cpu_s(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = importer.import_path(acc, "mbox", "Imported", mbox)
        dt = time.perf_counter() - t0
        cpu = cpu_s(resource.RUSAGE_SELF) - cpu0[0], cpu_s(resource.RUSAGE_CHILDREN) - cpu0[1]
        acc.close()
        print(f"import mbox: {res.count} messages, {size / 1e6:.1f} MB in {dt:.1f} s")
        print(f"  {res.count / dt:,.0f} msg/s, {size / 1e6 / dt:.1f} MB/s")
        print(
            f"  peak RSS {rss_mb():.0f} MB (before import {rss_before:.0f} MB), worker {rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
        )
        print(f"  CPU {cpu[0]:.1f} s in this process, {cpu[1]:.1f} s in workers")
        print("  (2 shared cores; target 100,000 messages <= 30 s, RSS <= 200 MB)")


if __name__ == "__main__":
    main()
