"""Header fields, RFC 2047 encoded words, RFC 2231 parameters, folding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.message import (
    decode_rfc2047,
    encode_rfc2047,
    fold,
    header_value,
    header_values,
    iter_fields,
    parse,
    unfold,
)
from app.message.params import format_params, parse_content_type, parse_disposition


@pytest.mark.parametrize(
    "raw,want",
    [
        ("plain text", "plain text"),
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?UTF-8?B?Y2Fmw6k=?=", "café"),
        ("=?utf-8?b?Y2Fmw6k?=", "café"),  # missing padding
        ("=?iso-8859-1?q?Gr=FC=DFe?= aus Berlin", "Grüße aus Berlin"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # whitespace between words dropped
        ("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
        ("=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"),
        ("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "café"),  # character split over two words
        ("x=?utf-8?q?y?=z", "xyz"),  # glued to text
        ("=?utf-8*en?q?hi?=", "hi"),  # RFC 2231 language
        ("=?utf-8?q?under_score?=", "under score"),
        ("=?bogus?q?caf=C3=A9?=", "café"),  # unknown charset: UTF-8 when valid
        ("=?bogus?q?caf=E9?=", "café"),  # else Latin-1
        ("=?utf-8?x?abc?=", "=?utf-8?x?abc?="),  # not an encoding
        ("=?utf-8?q?Re=3A_caf=C3=A9?= (fwd)", "Re: café (fwd)"),
        ("=?ks_c_5601-1987?B?x9HAzg==?=", "한인"),
    ],
)
def test_decode_rfc2047(raw: str, want: str) -> None:
    assert decode_rfc2047(raw) == want


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=120))
def test_encode_rfc2047_roundtrip(s: str) -> None:
    s = s.replace("\r", "").replace("\n", "")
    enc = encode_rfc2047(s)
    assert enc.isascii() or s == enc
    for w in enc.split(" "):
        if w.startswith("=?"):
            assert len(w) <= 75
    assert decode_rfc2047(enc) == s or (s == enc)


def test_encode_plain_ascii_unchanged() -> None:
    assert encode_rfc2047("Hello world") == "Hello world"
    assert encode_rfc2047("Grüße").startswith("=?utf-8?")


def test_fields_and_lookup() -> None:
    d = b"Subject: one\r\n two\r\nX-Thing : spaced\r\nsubject: again\r\nTo: a@b\r\n\r\nSubject: not a header\r\n"
    p = parse(d)
    assert list(iter_fields(d, p.header_start, p.body_start)) == [
        ("Subject", b" one\r\n two"),
        ("X-Thing", b" spaced"),
        ("subject", b" again"),
        ("To", b" a@b"),
    ]
    assert header_values(d, p, "SUBJECT") == ["one two", "again"]
    assert header_value(d, p, "x-thing") == "spaced"
    assert header_value(d, p, "cc") is None


def test_utf8_and_latin1_headers() -> None:
    d = "Subject: Grüße\r\n\r\n".encode() + b""
    assert header_value(d, parse(d), "subject") == "Grüße"
    d = b"Subject: \xe9t\xe9\r\n\r\n"
    assert header_value(d, parse(d), "subject") == "été"


def test_fold_unfold() -> None:
    v = " ".join(["word"] * 40)
    f = fold("Subject", v)
    assert f.endswith("\r\n")
    lines = f[:-2].split("\r\n")
    assert all(len(line) <= 78 for line in lines)
    assert all(line.startswith(" ") for line in lines[1:])
    assert unfold(f[len("Subject: ") : -2]) == v
    assert fold("X", "short") == "X: short\r\n"
    long = "x" * 200
    assert fold("X", long) == f"X: {long}\r\n"  # cannot fold without whitespace


@pytest.mark.parametrize(
    "value,want",
    [
        ("text/plain", ("text", "plain", {})),
        ("TEXT/HTML; CHARSET=UTF-8", ("text", "html", {"charset": "UTF-8"})),
        ('multipart/mixed; boundary="a;b=c"', ("multipart", "mixed", {"boundary": "a;b=c"})),
        ("text/plain (comment) ; charset = us-ascii (another)", ("text", "plain", {"charset": "us-ascii"})),
        ('text/plain; charset="utf\\-8"', ("text", "plain", {"charset": "utf-8"})),
        ("application/x; name*=utf-8''%E2%82%AC.txt", ("application", "x", {"name": "€.txt"})),
        ("application/x; name*0=a; name*1=b; name*2=c", ("application", "x", {"name": "abc"})),
        ("application/x; name*1=b; name*0=a", ("application", "x", {"name": "ab"})),
        ("application/x; name*0*=utf-8''%C3; name*1*=%A9", ("application", "x", {"name": "é"})),
        ('application/x; name="=?utf-8?q?caf=C3=A9?="', ("application", "x", {"name": "café"})),
        ("application/x; name=a b.txt", ("application", "x", {"name": "a b.txt"})),
        ("garbage", ("", "", {})),
        ("text/", ("", "", {})),
    ],
)
def test_content_type(value: str, want: tuple[str, str, dict[str, str]]) -> None:
    t, s, p, _ = parse_content_type(value)
    assert (t, s, p) == want


def test_params_defects_and_format() -> None:
    _, _, p, defects = parse_content_type('text/plain; charset="unterminated')
    assert p == {"charset": "unterminated"} and defects
    _, _, p, defects = parse_content_type("text/plain; a=1; a=2")
    assert p == {"a": "1"} and defects
    d, p, _ = parse_disposition('Attachment; filename="x.pdf"; size=10')
    assert d == "attachment" and p == {"filename": "x.pdf", "size": "10"}
    s = format_params({"a": "plain", "b": "with space", "c": "é"})
    assert s == "; a=plain; b=\"with space\"; c*=utf-8''%C3%A9"
    assert parse_content_type("x/y" + s)[2] == {"a": "plain", "b": "with space", "c": "é"}


@pytest.mark.parametrize("v", ["é", "x" * 200, "Grüße " * 40, "a b", 'q"uote', "%41 literal"])
def test_format_params_round_trip(v: str) -> None:
    s = format_params({"filename": v})
    assert parse_content_type("x/y" + s)[2] == {"filename": v}
    # Long values are split into sections so the header can be folded within 78 characters.
    folded = fold("Content-Type", "x/y" + s)
    assert all(len(line) <= 80 for line in folded.split("\r\n"))


@pytest.mark.parametrize(
    "cs",
    [
        "rot13",
        "zlib",
        "base64",
        "undefined",
        "idna",
        "punycode",
        "hex",
        "unicode_escape",
        "x-bogus",
        "a\x00b",
    ],
)
def test_hostile_charset_names(cs: str) -> None:
    # Charset labels come from the message; they must never select a non-text codec or raise.
    from app.message import decoded_text, text_for_search

    assert decode_rfc2047(f"=?{cs}?q?abc=FF?=") in ("abcÿ", "abc\ufffd")
    _, _, p, _ = parse_content_type(f"text/plain; name*={cs}''abc%FF")
    assert p["name"].startswith("abc")
    d = f"Subject: =?{cs}?b?YWJj?=\r\nContent-Type: text/plain; charset={cs}\r\n\r\nabc\xff".encode("latin-1")
    part = parse(d)
    assert decoded_text(d, part).startswith("abc")
    assert "Subject: abc" in text_for_search(d, part)


def test_needs_smtputf8() -> None:
    from app.message import needs_smtputf8

    d = b"Subject: plain\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: \xc3\xa9\r\n\r\nbody\r\n--b--\r\n"
    assert needs_smtputf8(d, parse(d))
    d = "Subject: plain\r\n\r\nbödy".encode()
    assert not needs_smtputf8(d, parse(d))
