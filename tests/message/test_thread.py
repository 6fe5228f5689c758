"""Threading helpers (RFC 5256 base subject, Message-ID, References/In-Reply-To)."""

from __future__ import annotations

import pytest

from app.message import base_subject, message_id, references


@pytest.mark.parametrize(
    "s,want",
    [
        ("hello", "hello"),
        ("Re: hello", "hello"),
        ("RE: re: Fwd: FW: hello", "hello"),
        ("Re[2]: hello", "hello"),
        ("Re: [list] Re: hello", "hello"),
        ("[list] Re: hello", "hello"),
        ("hello (fwd)", "hello"),
        ("Re: hello (fwd) (FWD)", "hello"),
        ("[Fwd: Re: hello]", "hello"),
        ("[only a tag]", "[only a tag]"),
        ("  lots   of\t space  ", "lots of space"),
        ("=?utf-8?q?Re=3A_caf=C3=A9?=", "café"),
        ("Re:", ""),
        ("Research: results", "Research: results"),
        ("", ""),
    ],
)
def test_base_subject(s: str, want: str) -> None:
    assert base_subject(s) == want


@pytest.mark.parametrize(
    "v,want",
    [
        ("<abc@example.org>", "abc@example.org"),
        ("  <abc@example.org> (comment)", "abc@example.org"),
        ("abc@example.org", "abc@example.org"),
        ("not an id with spaces", ""),
        ("", ""),
    ],
)
def test_message_id(v: str, want: str) -> None:
    assert message_id(v) == want


def test_references() -> None:
    assert references("<a@x> <b@x>\r\n <c@x>", "<c@x>") == ["a@x", "b@x", "c@x"]
    assert references(None, "<p@x> (reply)") == ["p@x"]
    assert references("", "Your message <p@x> of yesterday") == ["p@x"]
    assert references(None, None) == []
