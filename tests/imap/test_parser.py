"""Parser building blocks, search keys and FETCH items: vectors and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.imap import ParseError, Parser, format_datetime, writer
from app.imap.fetchatt import FetchAtt, Section, parse_atts
from app.imap.search import parse_program


def test_astring_forms() -> None:
    p = Parser(b'atom "quo\\"ted" {3}\r\nlit ]x')
    assert p.astring() == "atom"
    p.sp()
    assert p.astring() == 'quo"ted'
    p.sp()
    assert p.astring() == "lit"
    p.sp()
    assert p.astring() == "]x"
    p.end()


@pytest.mark.parametrize("raw", [b'"a\x00b"', b'"a\rb"', b'"a\nb"', b'"a\\xb"', b'"unterminated'])
def test_bad_quoted(raw: bytes) -> None:
    with pytest.raises(ParseError):
        Parser(raw).quoted_bytes()


def test_utf8_needs_enable() -> None:
    assert Parser('"Büro"'.encode()).astring() == "Büro"
    with pytest.raises(ParseError):
        Parser('"Büro"'.encode(), utf8=False).astring()


def test_literal8_only_when_allowed() -> None:
    assert Parser(b"~{2}\r\n\x00a").literal(allow_binary=True) == (b"\x00a", True)
    with pytest.raises(ParseError):
        Parser(b"~{2}\r\n\x00a").astring()
    with pytest.raises(ParseError):
        Parser(b"{2}\r\n\x00a").astring()


def test_flags_dates_numbers() -> None:
    p = Parser(b'(\\Seen $Junk) "5-Nov-2024 10:11:12 +0130" 1-Jan-2020 4294967296')
    assert p.flag_list() == ["\\Seen", "$Junk"]
    p.sp()
    t = p.datetime()
    assert t == dt.datetime(2024, 11, 5, 10, 11, 12, tzinfo=dt.timezone(dt.timedelta(hours=1, minutes=30)))
    assert format_datetime(t) == "05-Nov-2024 10:11:12 +0130"
    p.sp()
    assert p.date() == dt.date(2020, 1, 1)
    p.sp()
    with pytest.raises(ParseError):
        p.number()


def test_search_program() -> None:
    prog = parse_program(
        Parser(
            b'CHARSET UTF-8 OR FROM "a b" NOT SEEN (UID 1:* LARGER 5) 2,4:* $ MODSEQ "/flags/\\\\Seen" all 7'
        )
    )
    assert prog.charset == "UTF-8"
    k = prog.key
    assert k.op == "AND"
    assert [x.op for x in k.keys] == ["OR", "AND", "SEQSET", "SEQSET", "MODSEQ"]
    assert k.keys[0].keys[0].text == "a b" and k.keys[0].keys[1].keys[0].op == "SEEN"
    assert str(k.keys[2].numset) == "2,4:*"
    assert k.keys[3].numset is not None and k.keys[3].numset.search_result
    assert k.keys[4].number == 7 and k.keys[4].flag == "/flags/\\Seen"


@pytest.mark.parametrize(
    "raw", [b"", b"FROM", b"BOGUS", b"(SEEN", b"SINCE 32-Jan-2020", b"OR SEEN", b"UID x"]
)
def test_search_errors(raw: bytes) -> None:
    with pytest.raises(ParseError):
        p = Parser(raw)
        parse_program(p)
        p.end()


def test_fetch_atts() -> None:
    atts = parse_atts(
        Parser(b"(UID BODY.PEEK[1.2.HEADER.FIELDS (subject from)]<0.100> BINARY[3] BODY PREVIEW (LAZY))")
    )
    assert atts[0] == FetchAtt("UID")
    assert atts[1] == FetchAtt("BODY", Section((1, 2), "HEADER.FIELDS", ("SUBJECT", "FROM")), (0, 100), True)
    assert atts[1].response_name() == "BODY[1.2.HEADER.FIELDS (SUBJECT FROM)]<0>"
    assert not atts[1].sets_seen()
    assert atts[2].response_name() == "BINARY[3]" and atts[2].sets_seen()
    assert atts[3] == FetchAtt("BODY")
    assert atts[4].lazy
    assert [a.name for a in parse_atts(Parser(b"FULL"))] == [
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
        "ENVELOPE",
        "BODY",
    ]
    assert parse_atts(Parser(b"BODY[]"))[0].response_name() == "BODY[]"
    assert parse_atts(Parser(b"BODY[2.MIME]"))[0].section == Section((2,), "MIME")


@pytest.mark.parametrize(
    "raw", [b"BODY[MIME]", b"BINARY[TEXT]", b"BODY[1.]", b"NOPE", b"BODY[HEADER.FIELDS ()]", b"(UID"]
)
def test_fetch_errors(raw: bytes) -> None:
    with pytest.raises(ParseError):
        p = Parser(raw)
        parse_atts(p)
        p.end()


def test_writer() -> None:
    assert writer.astring("INBOX") == b"INBOX"
    assert writer.astring("nil") == b'"nil"'
    assert writer.astring('a "b"') == b'"a \\"b\\""'
    assert writer.string("a\r\nb") == b"{4}\r\na\r\nb"
    assert writer.string("ü", utf8=False) == b"{2}\r\n\xc3\xbc"
    assert writer.nstring(None) == b"NIL"
    assert writer.atoms(["\\Seen", "x"]) == b"(\\Seen x)"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_writer_parser_roundtrip(s: str) -> None:
    if "\x00" in s:
        return
    for utf8 in (True, False):
        enc = writer.astring(s, utf8)
        p = Parser(enc)
        assert p.astring() == s
        p.end()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=60))
def test_parser_never_raises_unexpectedly(data: bytes) -> None:
    for fn in (lambda p: parse_program(p), lambda p: parse_atts(p), lambda p: p.astring()):
        try:
            fn(Parser(data))
        except ParseError:
            pass
