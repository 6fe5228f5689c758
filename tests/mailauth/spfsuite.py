"""Turn the RFC 7208 test suite's YAML zone data into zone-file text for MockResolver.

The suite (tests/mailauth/data/rfc7208-tests.yml, from the pyspf source distribution, under its
own license in rfc7208-tests.LICENSE) lists records per name; like every driver of the suite we copy
SPF (type 99) records to TXT when a name has no TXT records (see the file's header), and turn
``TIMEOUT`` entries into simulated timeouts for the types not listed before them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dns.name
import yaml

from app.dns import MockResolver

DATA = Path(__file__).parent / "data" / "rfc7208-tests.yml"
TYPES = ("A", "AAAA", "MX", "TXT", "SPF", "PTR", "CNAME")


def _quote(s: str) -> str:
    out = []
    for b in s.encode("utf-8"):
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def _name(s: str) -> str:
    if str(s).strip(".") == "":
        return "."
    labels = [label.encode("utf-8") for label in str(s).rstrip(".").split(".")]
    return dns.name.Name([*labels, b""]).to_text()


def _txt_rdata(v: Any) -> str | None:
    strings = [v] if isinstance(v, str) else list(v)
    if not strings:
        return None
    parts: list[str] = []
    for s in strings:
        s = str(s)
        parts.extend(_quote(s[i : i + 255]) for i in range(0, max(len(s), 1), 255))
    return " ".join(parts)


def scenario_resolver(zonedata: dict[str, list[Any]]) -> MockResolver:
    lines: list[str] = []
    timeouts: list[str] = []
    for name, entries in zonedata.items():
        owner = _name(name)
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        seen: set[str] = set()
        for e in entries:
            if e == "TIMEOUT":
                timeouts.extend(f"{name} {t}" for t in TYPES if t not in seen)
                break
            ((t, v),) = e.items()
            if v != "NONE":
                seen.add(t)
            if v == "TIMEOUT":
                timeouts.append(f"{name} {t}")
                continue
            if t in ("TXT", "SPF"):
                if v == "NONE":
                    continue
                rd = _txt_rdata(v)
                if rd is None:
                    continue
                lines.append(f"{owner} {t} {rd}")
                if t == "SPF" and not has_txt:
                    lines.append(f"{owner} TXT {rd}")  # the suite's SPF-to-TXT duplication
            elif t == "MX":
                lines.append(f"{owner} MX {v[0]} {_name(v[1])}")
            elif t in ("PTR", "CNAME"):
                lines.append(f"{owner} {t} {_name(v)}")
            else:
                lines.append(f"{owner} {t} {v}")
    return MockResolver.from_zone("\n".join(lines) + "\n", timeout=timeouts)


def load() -> list[tuple[str, dict[str, Any], dict[str, list[Any]]]]:
    """(test id, test, scenario zonedata) for every test in the suite."""
    out = []
    with DATA.open("rb") as f:
        for scenario in yaml.safe_load_all(f):
            for tid, test in scenario["tests"].items():
                out.append((tid, test, scenario["zonedata"]))
    return out
