"""Message parser figures: throughput on typical messages and on a big attachment, side by side
with the stdlib ``email`` parser (policy compat32) in the same run; peak extra memory; hostile
shapes (deep nesting, many parts). Prints figures, asserts nothing.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.message import Composer, bodystructure, parse  # noqa: E402
from app.message.compose import Attachment  # noqa: E402
from tests.bench.corpus import WORDS  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "messages"


def _typical() -> list[bytes]:
    """Messages of 5-50 KB shaped like everyday mail: text+HTML, small attachments, replies."""
    rnd = random.Random(1)
    words = WORDS
    out = []
    for size in (5_000, 12_000, 20_000, 35_000, 50_000):
        text = " ".join(rnd.choice(words) for _ in range(size // 12))
        text = "\n".join(text[i : i + 72] for i in range(0, len(text), 72))
        html = (
            "<html><body>"
            + "".join(f"<p>{line}</p>" for line in text.splitlines()[: size // 300])
            + "</body></html>"
        )
        att = [Attachment(rnd.randbytes(size // 4), "application/pdf", "doc.pdf")] if size >= 20_000 else []
        m = Composer(
            from_=("Sender", "s@example.org"),
            to=[("R", "r@example.com")],
            subject="Re: figures",
            text=text[: size // 2],
            html=html,
            attachments=att,
        ).build()
        hdr = b"".join(
            b"Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d]) by mail.example.org\r\n\twith ESMTPS id %d\r\n"
            % (i, i, i, i)
            for i in range(6)
        )
        out.append(hdr + m)
    out.append((CORPUS / "outlook.eml").read_bytes())
    return out


def _rate(fn: Callable[[bytes], object], msgs: list[bytes], min_time: float = 1.0) -> float:
    total = sum(len(m) for m in msgs)
    n = 0
    t0 = time.perf_counter()
    while True:
        for m in msgs:
            fn(m)
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return total * n / dt / 1e6


def _compat32(b: bytes) -> object:
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(b)


def _big(mb: int, boundary: bytes = b"x") -> bytes:
    att = base64.encodebytes(os.urandom(mb * 750_000)).replace(b"\n", b"\r\n")
    b = boundary
    return (
        b'From: a@example.org\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n'
        b"--" + b + b"\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
        b"--"
        + b
        + b"\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + att
        + b"--"
        + b
        + b"--\r\n"
    )


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _memory(big: bytes) -> None:
    tracemalloc.start()
    t0 = time.perf_counter()
    parse(big)
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"100 MB attachment ({len(big) / 1e6:.0f} MB): parse {dt * 1000:.0f} ms, peak extra memory {peak / 1e3:.1f} KB (tracemalloc)"
    )


def main() -> None:
    print("(2 shared cores; figures vary with the other load on the machine)")
    typ = _typical()
    sizes = ", ".join(f"{len(m) // 1000}" for m in typ)
    r1 = _rate(parse, typ)
    r2 = _rate(_compat32, typ)
    r3 = _rate(lambda m: bodystructure(m, parse(m)), typ)
    print(
        f"typical messages ({sizes} KB): moxpy parse {r1:.0f} MB/s, parse+bodystructure {r3:.0f} MB/s, "
        f"stdlib email compat32 {r2:.0f} MB/s"
    )

    big = _big(10)
    r1 = _rate(parse, [big])
    r2 = _rate(_compat32, [big], min_time=0.5)
    print(
        f"10 MB base64 attachment ({len(big) / 1e6:.1f} MB), boundary 'x': moxpy parse {r1:.0f} MB/s, "
        f"stdlib email compat32 {r2:.0f} MB/s"
    )
    big = _big(10, b"----=_Part_1234567_987654321.1700000000000")
    print(f"same with a typical 40-character boundary: moxpy parse {_rate(parse, [big]):.0f} MB/s")

    _memory(_big(100))

    n = 10_000
    deep = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(n)
    )
    deep += b"\r\nhi" + b"".join(b"\r\n--b%d--" % i for i in reversed(range(n)))
    print(
        f"10,000 nested multiparts ({len(deep) / 1e6:.1f} MB): parse {_time(lambda: parse(deep)) * 1000:.0f} ms"
    )
    rfc = b"Subject: x\r\nContent-Type: message/rfc822\r\n\r\n" * n + b"Subject: y\r\n\r\nbody\r\n"
    print(f"10,000 nested message/rfc822: parse {_time(lambda: parse(rfc)) * 1000:.0f} ms")
    many = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        + b"".join(b"--x\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(100_000))
        + b"--x--\r\n"
    )
    print(
        f"100,000 parts ({len(many) / 1e6:.1f} MB): parse {_time(lambda: parse(many)) * 1000:.0f} ms, "
        f"stdlib compat32 {_time(lambda: _compat32(many)) * 1000:.0f} ms"
    )
    hdr = b"".join(b"To: a%d@example.org\r\n" % i for i in range(100_000)) + b"\r\nbody\r\n"
    print(f"100,000 address headers: parse {_time(lambda: parse(hdr)) * 1000:.0f} ms")
    huge = b"Subject: " + b"x " * 5_000_000 + b"\r\n\r\nbody"
    print(f"10 MB header field: parse {_time(lambda: parse(huge)) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
