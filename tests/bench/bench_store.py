"""Store benchmarks (issue 4 targets), printing figures, asserting nothing.

- delivery of 5 KB messages (parsed, FTS-indexed, threaded) from 20 producer threads through one
  writer with group commit and synchronous=FULL; the same with a 2 ms sleep after each commit
  standing in for a slow disk;
- a 100,000-message mailbox: open (status: counts, UIDNEXT, UIDVALIDITY), UIDs and flags of all,
  FTS query for a rare word;
- a flag change on a 10 MB message; a 4 KB read at random offsets of a 50 MB message.

The 100k mailbox is filled with SQL (same tables as deliveries write) to keep the run short;
the delivery path itself is measured by the first two figures.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.store import Account, Store  # noqa: E402
from app.store.writer import Tx  # noqa: E402

WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "commodo",
]


def _msg(i: int, size: int = 5000) -> bytes:
    rnd = random.Random(i)
    words: list[str] = []
    n = 0
    while n < size:
        w = rnd.choice(WORDS)
        words.append(w)
        n += len(w) + 1
    lines = [" ".join(words[k : k + 12]) for k in range(0, len(words), 12)]
    hdr = (
        f"From: sender{i % 97}@example.org\r\nTo: rcpt@example.com\r\nSubject: topic {i % 500}\r\n"
        f"Message-ID: <bench{i}@example.org>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"
    )
    return (hdr + "\r\n".join(lines) + "\r\n").encode()


def _deliveries(acc: Account, n: int, producers: int, delay: float) -> tuple[float, int]:
    msgs = [_msg(i) for i in range(n)]
    acc._writer.commit_delay = delay
    commits0 = acc.commits

    def work(k: int) -> None:
        for i in range(k, n, producers):
            acc.deliver("Inbox", msgs[i])

    t0 = time.perf_counter()
    ths = [threading.Thread(target=work, args=(k,)) for k in range(producers)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    el = time.perf_counter() - t0
    acc._writer.commit_delay = 0.0
    return n / el, acc.commits - commits0


def _fill(acc: Account, n: int) -> None:
    """Add ``n`` small messages to mailbox "Big" with SQL, consistent with verify()."""
    mb = acc.create_mailbox("Big")

    def op(conn: object, tx: Tx) -> None:
        c = conn  # apsw.Connection
        c.execute(  # type: ignore[attr-defined]
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)"
            " INSERT INTO msgdata(id, size, nchunks, parsed) SELECT 1000000 + i, 40, 1, x'' FROM s",
            (n,),
        )
        c.execute(  # type: ignore[attr-defined]
            "INSERT INTO chunk(data_id, seq, data) SELECT id, 0, zeroblob(40) FROM msgdata WHERE id > 1000000"
        )
        c.execute(  # type: ignore[attr-defined]
            "INSERT INTO fts(rowid, text) SELECT id, 'common words ' || (id % 1000) ||"
            " CASE WHEN id = 1000000 + ? THEN ' xylophonist' ELSE ' ordinary text here' END"
            " FROM msgdata WHERE id > 1000000",
            (n // 2,),
        )
        last = c.execute("SELECT last_message_id, modseq FROM syncstate").fetchall()[0]  # type: ignore[attr-defined]
        c.execute(  # type: ignore[attr-defined]
            "INSERT INTO message(id, mailbox_id, uid, modseq, createseq, data_id, size, received, savedate, seen,"
            " flagged, thread_id) SELECT ? + id - 1000000, ?, id - 1000000, ?, ?, id, 40, 1.7e9, 1.7e9,"
            " id % 3 = 0, id % 7 = 0, ? + id - 1000000 FROM msgdata WHERE id > 1000000",
            (last[0], mb.id, last[1], last[1], last[0]),
        )
        c.execute(  # type: ignore[attr-defined]
            "UPDATE syncstate SET last_message_id = last_message_id + ?, disk_usage = disk_usage + ?",
            (n, 40 * n),
        )
        c.execute(  # type: ignore[attr-defined]
            "UPDATE mailbox SET uidnext = ? + 1, total = ?, unread = ?, unseen = ?, size = ?, deleted = 0"
            " WHERE id = ?",
            (n, n, n - n // 3, n - n // 3, 40 * n, mb.id),
        )

    acc._write(op)


def _median_ms(fn: object, runs: int) -> tuple[float, float]:
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts), max(ts)


def main() -> None:
    n_deliver = int(os.environ.get("BENCH_STORE_DELIVERIES", "3000"))
    n_big = int(os.environ.get("BENCH_STORE_MAILBOX", "100000"))
    with tempfile.TemporaryDirectory(prefix="bench-store-") as d:
        st = Store(d)
        try:
            acc = st.account("bench", create=True)
            rate, commits = _deliveries(acc, n_deliver, 20, 0.0)
            print(
                f"deliver 5KB x{n_deliver}, 20 producers, synchronous=FULL: {rate:,.0f} msg/s ({commits} commits)"
            )
            rate, commits = _deliveries(acc, n_deliver, 20, 0.002)
            print(f"same with 2 ms sleep after each commit: {rate:,.0f} msg/s ({commits} commits)")

            t0 = time.perf_counter()
            _fill(acc, n_big)
            print(f"filled a {n_big:,}-message mailbox with SQL in {time.perf_counter() - t0:.1f} s")
            med, mx = _median_ms(lambda: acc.mailbox_status("Big"), 200)
            print(f"open mailbox (status, {n_big:,} messages): median {med:.3f} ms, max {mx:.3f} ms")
            med, mx = _median_ms(lambda: acc.uids_flags("Big"), 5)
            print(f"uids+flags of {n_big:,} messages: median {med:.1f} ms, max {mx:.1f} ms")
            found: list[set[int] | None] = []
            med, mx = _median_ms(lambda: found.append(acc.search_text("Big", "xylophonist")), 20)
            print(
                f"FTS rare word over {n_big:,} messages: median {med:.2f} ms, max {mx:.2f} ms (found {found[-1]})"
            )

            big10 = b"Subject: ten\r\n\r\n" + (b"y" * 998 + b"\r\n") * 10_000
            d10 = acc.deliver("Inbox", big10)
            state = [False]

            def toggle() -> None:
                state[0] = not state[0]
                acc.set_flags("Inbox", [d10.uid], "add" if state[0] else "remove", ["\\Flagged"])

            med, mx = _median_ms(toggle, 50)
            print(
                f"flag change on 10 MB message (incl. commit + fsync): median {med:.2f} ms, max {mx:.2f} ms"
            )

            big50 = b"Subject: fifty\r\n\r\n" + (b"z" * 998 + b"\r\n") * 50_000
            t0 = time.perf_counter()
            d50 = acc.deliver("Inbox", big50)
            print(f"deliver 50 MB message: {time.perf_counter() - t0:.2f} s")
            [meta] = acc.message_meta("Inbox", [d50.uid])
            rnd = random.Random(5)
            offs = [rnd.randrange(0, len(big50) - 4096) for _ in range(300)]
            it = iter(offs)
            med, mx = _median_ms(lambda: acc.read_range(meta, next(it), 4096), 300)
            print(f"4 KB read at random offsets of 50 MB message: median {med:.3f} ms, max {mx:.3f} ms")
            t0 = time.perf_counter()
            problems = acc.verify()
            print(
                f"verify() of the whole account: {time.perf_counter() - t0:.1f} s, {len(problems)} problems"
            )
        finally:
            st.close()


if __name__ == "__main__":
    main()
