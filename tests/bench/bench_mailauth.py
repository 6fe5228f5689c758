"""SPF + DKIM + DMARC evaluation of a 10 KB DKIM-signed message against a warm cache, on one core.

Two resolvers are measured: MockResolver (answers from memory) and DnsResolver with its TTL cache
warmed by a first evaluation (its nameserver is then never asked again). Target: >= 500 messages/s.
"""

from __future__ import annotations

import time

from app.dns import DnsResolver, MockResolver
from app.dns.resolver import BaseResolver
from app.mailauth import dkim, dkimkeys, dmarc, spf


def _message() -> bytes:
    head = (
        b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: benchmark\r\n"
        b"Date: Sun, 22 Nov 2026 05:00:00 +0000\r\nMessage-Id: <bench@example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    body = line * (10 * 1024 // len(line))
    return head + body


ZONE = """
example.org.            TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.example.org -all"
_spf.example.org.       TXT "v=spf1 ip4:198.51.100.0/24 -all"
_dmarc.example.org.     TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"
"""


def evaluate(r: BaseResolver, msg: bytes) -> str:
    s = spf.verify(r, "198.51.100.7", "alice@example.org", "mail.example.org")
    d = dkim.verify(r, msg)
    res = dmarc.verify(r, "example.org", [x.domain for x in d if x.passed], s.status, s.domain)
    return res.status


def _rate(r: BaseResolver, msg: bytes, seconds: float = 3.0) -> tuple[float, float]:
    """Messages per CPU second of this process (the one-core figure, robust on a shared machine)
    and per wall-clock second."""
    assert evaluate(r, msg) == "pass"
    n = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        evaluate(r, msg)
        n += 1
    return n / (time.process_time() - c0), n / (time.perf_counter() - t0)


class _Warm(DnsResolver):
    """DnsResolver whose network primitive answers from a MockResolver, to fill the real cache."""

    def __init__(self, backing: MockResolver) -> None:
        super().__init__(["127.0.0.1:1"], timeout=1)
        self.backing = backing
        self.misses = 0

    def _query_sync(self, name: str, rdtype: str) -> object:  # type: ignore[override]
        hit = self._cached(name, rdtype)
        if hit is not None:
            return hit
        self.misses += 1
        try:
            ans = self.backing._query_sync(name, rdtype)
        except Exception as e:
            self._store(name, rdtype, e, 300)  # type: ignore[arg-type]
            raise
        self._store(name, rdtype, ans, 300)
        return ans


def main() -> None:
    msg = _message()
    for label, key in (("rsa-2048", dkimkeys.generate_rsa()), ("ed25519", dkimkeys.generate_ed25519())):
        k = dkimkeys.load_private_key(key)
        signed = dkim.sign(msg, "example.org", [dkim.SignSelector("sel", k)]) + msg
        mock = MockResolver.from_zone(ZONE)
        rec = dkimkeys.txt_record(k)
        mock.add(
            "sel._domainkey.example.org",
            "TXT",
            " ".join(f'"{rec[i : i + 255]}"' for i in range(0, len(rec), 255)),
        )
        print(f"message {len(signed)} bytes, dkim {label}")
        cpu, wall = _rate(mock, signed)
        print(f"  MockResolver:            {cpu:7.0f} messages/s per cpu-second ({wall:.0f}/s wall clock)")
        warm = _Warm(mock)
        cpu, wall = _rate(warm, signed)
        print(
            f"  DnsResolver warm cache:  {cpu:7.0f} messages/s per cpu-second ({wall:.0f}/s wall clock, "
            f"{warm.misses} cache misses in total)"
        )
        c0 = time.process_time()
        for _ in range(200):
            dkim.sign(msg, "example.org", [dkim.SignSelector("sel", k)])
        print(f"  dkim sign:               {200 / (time.process_time() - c0):7.0f} messages/s per cpu-second")
    print("  target: >= 500 messages/s for spf+dkim+dmarc (2-core machine shared with other work)")


if __name__ == "__main__":
    main()
