"""Hostile sizes and shapes: deep nesting, many parts, many headers, huge header and attachment.

The parser must not hit the recursion limit and must stay linear; these inputs also go through
serialization, BODYSTRUCTURE and the other consumers. (Timings are the benchmark's business.)
"""

from __future__ import annotations

import base64
import os
import tracemalloc

from app.message import (
    Part,
    bodystructure,
    envelope,
    imap_string,
    parse,
    preview,
    section_bytes,
    text_for_search,
)

N = 10_000


def deep_multipart(n: int) -> bytes:
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(n)
    )
    tail = b"".join(b"\r\n--b%d--" % i for i in reversed(range(n)))
    return head + b"Content-Type: text/plain\r\n\r\nhi" + tail + b"\r\n"


def test_deep_multipart() -> None:
    d = deep_multipart(N)
    p = parse(d)
    parts = list(p.walk())
    assert len(parts) == N + 1 and p.all_defects() == []
    leaf = parts[-1]
    assert d[leaf.body_start : leaf.body_end] == b"hi"
    assert Part.from_bytes(p.to_bytes()) == p
    s = imap_string(bodystructure(d, p))
    assert s.count('"MIXED"') == N
    assert section_bytes(d, p, ".".join(["1"] * N)) == b"hi"
    repr(p)


def test_deep_message_rfc822() -> None:
    d = b"Subject: x\r\nContent-Type: message/rfc822\r\n\r\n" * N + b"Subject: last\r\n\r\nbody\r\n"
    p = parse(d)
    parts = list(p.walk())
    assert len(parts) == N + 1 and parts[-1].lines == 1
    assert parts[0].lines == d.count(b"\n") - 3  # all but the root header lines
    imap_string(bodystructure(d, p))
    assert "body" in text_for_search(d, p)
    assert preview(d, p) == "body"


def test_deep_unclosed_same_boundary() -> None:
    d = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" * N + b"x\r\n"
    p = parse(d)
    assert len(list(p.walk())) == N + 1
    assert "missing closing boundary" in p.all_defects()


def test_many_parts() -> None:
    m = 100_000
    d = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        + b"".join(b"--x\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(m))
        + b"--x--\r\n"
    )
    p = parse(d)
    assert len(p.parts) == m
    last = p.parts[-1]
    assert d[last.body_start : last.body_end] == b"part %d" % (m - 1)
    assert Part.from_bytes(p.to_bytes()) == p


def test_many_address_headers() -> None:
    m = 100_000
    d = b"".join(b"To: a%d@example.org\r\n" % i for i in range(m)) + b"\r\nbody\r\n"
    p = parse(d)
    e = envelope(d, p)
    assert [a.email() for a in e.to] == ["a0@example.org"]
    assert p.body_start == len(d) - 6


def test_huge_header_field() -> None:
    d = b"Subject: " + b"x " * 5_000_000 + b"\r\nTo: a@example.org\r\n\r\nbody"
    p = parse(d)
    assert d[p.body_start :] == b"body"
    assert envelope(d, p).to[0].email() == "a@example.org"


def test_huge_content_type_is_bounded() -> None:
    d = b"Content-Type: text/plain; x=" + b"y" * 1_000_000 + b"\r\n\r\nbody"
    p = parse(d)
    assert d[p.body_start :] == b"body" and any("truncated" in x for x in p.defects)


def test_big_attachment_memory() -> None:
    att = base64.encodebytes(os.urandom(15_000_000)).replace(b"\n", b"\r\n")
    d = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + att
        + b"--x--\r\n"
    )
    del att
    tracemalloc.start()
    try:
        p = parse(d)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert p.parts[1].size == len(d) - p.parts[1].body_start - len(b"\r\n--x--\r\n")


def test_long_lines_starting_with_dashes() -> None:
    # Lines that look like a delimiter but are very long must not be copied or confuse the scan.
    d = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n"
        + b"--"
        + b"x" * 5_000_000
        + b"\r\n--x--\r\n"
    )
    p = parse(d)
    assert len(p.parts) == 1 and p.parts[0].size == 5_000_002


def test_hostile_strings_stay_linear() -> None:
    # Each of these was quadratic (or worse) in a naive implementation; here they finish quickly.
    from app.message import base_subject, decode_raw, decode_rfc2047, html_to_text
    from app.smtp.address import parse_address_list

    assert decode_rfc2047("=?a?q?" * 200_000).startswith("=?a?q?")
    assert base_subject("Re: " * 2_000 + "x") == "x"
    assert base_subject("Re: " * 200_000 + "x") == ""  # only the first 10,000 characters count
    assert base_subject("x" + " (fwd)" * 1_500) == "x"
    assert base_subject("[fwd: " * 1_000 + "x" + "]" * 1_000) == "x"
    assert html_to_text("<script" * 200_000) == ""
    assert html_to_text("<" * 1_000_000 + "a").endswith("a")
    assert html_to_text("x<!--" * 100_000) == "x"
    assert html_to_text("<blockquote>" * 100_000 + "q", quote_marks=True).endswith("> q")
    assert decode_raw(b" " * 1_000_000 + b"x=\r\n", "quoted-printable") == b" " * 1_000_000 + b"x"
    addrs = ", ".join(f"a{i}@example.org" for i in range(20_000))
    assert len(parse_address_list(addrs)) == 20_000
    d = ("To: " + addrs * 20 + "\r\n\r\nbody").encode()
    p = parse(d)
    assert len(envelope(d, p).to) > 1000
