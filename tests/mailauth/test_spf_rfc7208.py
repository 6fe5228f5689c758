"""The RFC 7208 test suite (from pyspf's source distribution), run through our MockResolver."""

from __future__ import annotations

from typing import Any

import pytest

from app.mailauth import spf
from tests.mailauth.spfsuite import load, scenario_resolver

CASES = load()


@pytest.mark.parametrize(("tid", "test", "zonedata"), CASES, ids=[c[0] for c in CASES])
def test_rfc7208(tid: str, test: dict[str, Any], zonedata: dict[str, list[Any]]) -> None:
    resolver = scenario_resolver(zonedata)
    mailfrom = test["mailfrom"]
    helo = test["helo"]
    # The suite's mailfrom is the identity to check; with an empty one the HELO identity applies.
    domain = mailfrom.rsplit("@", 1)[1] if mailfrom and "@" in mailfrom else mailfrom or helo
    sender = mailfrom if mailfrom else f"postmaster@{helo}"
    if mailfrom and "@" not in mailfrom:
        sender = f"postmaster@{mailfrom}"
    res = spf.check_host(resolver, test["host"], domain, sender, helo, default_explanation="DEFAULT")
    want = test["result"]
    wants = [want] if isinstance(want, str) else list(want)
    assert res.status in wants, f"{tid}: {test.get('description')}: got {res.status} ({res.problem})"
    if "explanation" in test and res.status == spf.FAIL:
        assert res.explanation == test["explanation"]


def test_suite_size() -> None:
    assert len(CASES) > 200
