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


# mox's Message-ID canonicalization vectors ("" where mox returns an error).
@pytest.mark.parametrize(
    "v,want",
    [
        ("bogus", ""),
        ("<bogus@host", ""),
        ("bogus@host>", ""),
        ("<>", ""),
        ("<user@domain>", "user@domain"),
        ("<USER@DOMAIN>", "user@domain"),
        ("<user@[10.0.0.1]>", "user@[10.0.0.1]"),
        ("<user@domain> (added by postmaster@isp.example)", "user@domain"),
        ("<user@domain> other", "user@domain"),
        ("<User@Domain@Time>", "user@domain@time"),
        ("<User>", "user"),
        ('<"quoted"@example.org>', "quoted@example.org"),
        ("  <abc@example.org>\r\n", "abc@example.org"),
    ],
)
def test_message_id(v: str, want: str) -> None:
    assert message_id(v) == want


# mox's referenced-ids vectors: (References, In-Reply-To, expected).
@pytest.mark.parametrize(
    "refs,irt,want",
    [
        ("bogus", None, []),
        ("<User@host>", None, ["user@host"]),
        ("<User@tést.example>", None, ["user@tést.example"]),
        ("<User@xn--tst-bma.example>", None, ["user@xn--tst-bma.example"]),
        ("<User@bad_label.domain>", None, ["user@bad_label.domain"]),
        ("<truncated@hos <user@host>", None, ["user@host"]),
        ("<previously wrapped@host>", None, ["previouslywrapped@host"]),
        ("<user1@host> <user2@other.example>", None, ["user1@host", "user2@other.example"]),
        ("<missinghost>", None, ["missinghost"]),
        ("<user@host@time>", None, ["user@host@time"]),
        ("bogus bad <user@host>", None, ["user@host"]),
        ("bogus bad", "<user@host> more stuff", ["user@host"]),
        (None, "<p1@x> <p2@x>", ["p1@x"]),
        (["<a@x>", "<b@x>"], None, ["a@x", "b@x"]),
        (None, None, []),
    ],
)
def test_references(refs: str | list[str] | None, irt: str | None, want: list[str]) -> None:
    assert references(refs, irt) == want


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
