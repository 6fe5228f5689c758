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


# The subjects and expectations of mox's thread subject tests (lower-cased key, response flag).
@pytest.mark.parametrize(
    "s,base,resp",
    [
        ("test", "test", False),
        (" a  b\tc\r\n d\t", "a b c d", False),
        ("test (fwd) (fwd) ", "test", True),
        ("re: test", "test", True),
        ("fw: test", "test", True),
        ("fwd: test", "test", True),
        ("fwd [tag] Test", "fwd [tag] test", False),
        ("[list] re: a b c\t", "a b c", True),
        ("[list] fw: a b c", "a b c", True),
        ("[tag1][tag2] [tag3]\t re: a b c", "a b c", True),
        ("[tag1][tag2] [tag3]\t re: a \u0000b c", "", True),
        ("[list] fw:[tag] a b c", "a b c", True),
        ("[list] re: [list] fwd: a b c\t", "a b c", True),
        ("[fwd: a b c]", "a b c", True),
        ("[fwd: [fwd: a b c]]", "a b c", True),
        ("[fwd: [list] re: a b c]", "a b c", True),
        ("[nonlist]", "[nonlist]", False),
        ("fwd [list]:", "", True),
    ],
)
def test_thread_subject(s: str, base: str, resp: bool) -> None:
    from app.message import thread_subject

    assert thread_subject(s) == (base, resp)
