"""MockResolver: answers from zone-file text (RFC 1035 §5 master file format) without network.

Used by tests and by localserve. Names may be marked authentic (as if DNSSEC-validated), failing
(SERVFAIL → DNSTemporary) or timing out (DNSTimeout, after ``timeout_delay`` seconds). CNAMEs
are followed (at most 10 deep; loops are detected and answered as no data); wildcards
(``*.example.``) answer for names that do not exist otherwise (RFC 4592, simplified to the
closest enclosing wildcard).

Example::

    r = MockResolver.from_zone('''
    example.com.        MX  10 mail.example.com.
    mail.example.com.   A   192.0.2.1
    example.com.        TXT "v=spf1 mx -all"
    ''', authentic={"example.com"}, fail={"broken.example"})
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.zone

from app.dns.errors import DNSNoData, DNSNotFound, DNSPermanent, DNSTemporary, DNSTimeout
from app.dns.resolver import BaseResolver, RawAnswer, normalize_name

MAX_CNAME_CHAIN = 10


def _under(name: str, names: set[str]) -> bool:
    """Whether ``name`` equals or is below one of ``names``."""
    while True:
        if name in names:
            return True
        if "." not in name:
            return "" in names
        name = name.split(".", 1)[1]


def _selectors(items: Iterable[str]) -> set[tuple[str, str]]:
    """``"name"`` or ``"name TYPE"`` into (name, type) pairs; type "" means every type."""
    out: set[tuple[str, str]] = set()
    for it in items:
        parts = it.split()
        name = normalize_name(parts[0]) if parts[0] not in (".", "") else ""
        out.add((name, parts[1].upper() if len(parts) > 1 else ""))
    return out


class MockResolver(BaseResolver):
    """A Resolver over in-memory records; see the module docstring."""

    def __init__(
        self,
        records: dict[str, dict[str, list[dns.rdata.Rdata]]] | None = None,
        authentic: bool | Iterable[str] = False,
        fail: Iterable[str] = (),
        timeout: Iterable[str] = (),
        ttl: int = 300,
        timeout_delay: float = 0.0,
    ) -> None:
        self.records: dict[str, dict[str, list[dns.rdata.Rdata]]] = records or {}
        self._all_authentic = authentic is True
        self._authentic: set[str] = (
            set() if isinstance(authentic, bool) else {normalize_name(n) for n in authentic}
        )
        self._fail = _selectors(fail)
        self._timeout = _selectors(timeout)
        self.ttl = ttl
        # How long a simulated timeout takes before DNSTimeout is raised (0: at once).
        self.timeout_delay = timeout_delay
        # The most recent questions asked, for tests (bounded: localserve runs for long).
        self.queries: deque[tuple[str, str]] = deque(maxlen=10000)
        self._reindex()

    @classmethod
    def from_zone(
        cls,
        text: str,
        origin: str = ".",
        authentic: bool | Iterable[str] = False,
        fail: Iterable[str] = (),
        timeout: Iterable[str] = (),
        timeout_delay: float = 0.0,
    ) -> MockResolver:
        """Load zone-file text; relative names are relative to ``origin``. Raises ValueError on bad text."""
        try:
            zone = dns.zone.from_text(
                "$TTL 300\n" + text, origin=origin, relativize=False, check_origin=False
            )
        except dns.exception.DNSException as e:
            raise ValueError(f"parsing zone text: {e}") from e
        records: dict[str, dict[str, list[dns.rdata.Rdata]]] = {}
        for name, node in zone.nodes.items():
            key = name.to_text(omit_final_dot=True).lower()
            for rds in node.rdatasets:
                records.setdefault(key, {})[dns.rdatatype.to_text(rds.rdtype)] = list(rds)
        return cls(records, authentic=authentic, fail=fail, timeout=timeout, timeout_delay=timeout_delay)

    def add(self, name: str, rdtype: str, *rdata_texts: str) -> None:
        """Add records given in presentation format, e.g. ``add("x.example", "TXT", '"v=spf1 -all"')``."""
        t = dns.rdatatype.from_text(rdtype)
        rds = [dns.rdata.from_text(dns.rdataclass.IN, t, s, origin=dns.name.root) for s in rdata_texts]
        self.records.setdefault(normalize_name(name), {}).setdefault(rdtype.upper(), []).extend(rds)
        self._reindex()

    def add_txt(self, name: str, text: str | bytes) -> None:
        """Add one TXT record holding exactly ``text`` (split into 255-byte character-strings)."""
        raw = text.encode("utf-8") if isinstance(text, str) else text
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        rd = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
        self.records.setdefault(normalize_name(name), {}).setdefault("TXT", []).append(rd)
        self._reindex()

    def _reindex(self) -> None:
        # Every ancestor of an owner name exists (empty non-terminals answer NODATA, not NXDOMAIN).
        self._exists: set[str] = set()
        for name in self.records:
            n = name
            while n and n not in self._exists:
                self._exists.add(n)
                n = n.split(".", 1)[1] if "." in n else ""

    def is_authentic(self, name: str) -> bool:
        return self._all_authentic or _under(name, self._authentic)

    def _check_failures(self, name: str, rdtype: str) -> None:
        for sel, kind in ((self._timeout, DNSTimeout), (self._fail, DNSTemporary)):
            if (name, "") in sel or (name, rdtype) in sel:
                raise kind(f"simulated failure looking up {rdtype} {name}", name, rdtype)

    def _node(self, name: str) -> dict[str, list[dns.rdata.Rdata]] | None:
        node = self.records.get(name)
        if node is not None or name in self._exists:
            return node or {}
        # Wildcard: the closest existing ancestor's "*" child.
        parent = name
        while "." in parent:
            parent = parent.split(".", 1)[1]
            wild = self.records.get("*." + parent)
            if wild is not None:
                return wild
            if parent in self._exists:
                return None
        return self.records.get("*")

    def _answer(self, name: str, rdtype: str) -> RawAnswer:
        if rdtype not in dns.rdatatype.RdataType.__members__ and not rdtype.startswith("TYPE"):
            raise DNSPermanent(f"unknown record type {rdtype!r}", name, rdtype)
        cnames: list[str] = []
        seen = {name}
        current = name
        authentic = self.is_authentic(name)
        while True:
            self.queries.append((current, rdtype))
            self._check_failures(current, rdtype)
            node = self._node(current)
            if node is None:
                raise DNSNotFound(f"no such domain {current}", name, rdtype, authentic)
            rds = node.get(rdtype)
            if rds:
                return RawAnswer(list(rds), authentic, self.ttl, cnames)
            cn = node.get("CNAME")
            if not cn or rdtype == "CNAME":
                raise DNSNoData(f"no {rdtype} records for {current}", name, rdtype, authentic)
            target = cn[0].target.to_text(omit_final_dot=True).lower()  # type: ignore[attr-defined]
            if target in seen or len(cnames) >= MAX_CNAME_CHAIN:
                # As dnspython's stub resolver: a looping or over-long chain has no answer.
                raise DNSNoData(f"cname loop or too long chain at {current}", name, rdtype, authentic)
            seen.add(target)
            cnames.append(target)
            current = target
            authentic = authentic and self.is_authentic(target)

    def _times_out(self, name: str, rdtype: str) -> bool:
        return (name, "") in self._timeout or (name, rdtype) in self._timeout

    def _query_sync(self, name: str, rdtype: str) -> RawAnswer:
        if self.timeout_delay > 0 and self._times_out(name, rdtype):
            time.sleep(self.timeout_delay)
        return self._answer(name, rdtype)

    async def _query(self, name: str, rdtype: str) -> RawAnswer:
        if self.timeout_delay > 0 and self._times_out(name, rdtype):
            await asyncio.sleep(self.timeout_delay)
        return self._answer(name, rdtype)
