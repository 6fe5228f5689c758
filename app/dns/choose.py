"""Which resolver a process uses: a MockResolver when ``MOXPY_TEST_ZONEFILE`` names a zone file
(tests and demos of the CLI without network), otherwise the real dnspython resolver.

``MOXPY_TEST_ZONEFILE``: path of a zone file loaded with ``MockResolver.from_zone``. Optional
``MOXPY_TEST_ZONE_AUTHENTIC`` (comma-separated names whose subtrees are DNSSEC-authentic, or ``*``)
and ``MOXPY_TEST_ZONE_FAIL`` (comma-separated names answering with a temporary failure).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from app.dns.dnsresolver import DnsResolver
from app.dns.mock import MockResolver
from app.dns.resolver import BaseResolver


def _list(var: str) -> list[str]:
    return [s.strip() for s in os.environ.get(var, "").split(",") if s.strip()]


def new_resolver(nameservers: Sequence[str] | None = None, timeout: float = 10.0) -> BaseResolver:
    """The process's resolver: MockResolver from ``$MOXPY_TEST_ZONEFILE`` if set, else DnsResolver."""
    path = os.environ.get("MOXPY_TEST_ZONEFILE")
    if path:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        auth = _list("MOXPY_TEST_ZONE_AUTHENTIC")
        return MockResolver.from_zone(
            text,
            authentic=True if auth == ["*"] else auth,
            fail=_list("MOXPY_TEST_ZONE_FAIL"),
        )
    return DnsResolver(nameservers, timeout)
