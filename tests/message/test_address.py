"""Addresses: RFC 5321 paths, RFC 5322 lists, IDNA domains, local part rules, CVE-2023-27043."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.smtp.address import (
    AddressError,
    DomainError,
    Group,
    Localpart,
    MailboxAddr,
    canonical_localpart,
    parse_address,
    parse_address_list,
    parse_domain,
    parse_path,
)


@pytest.mark.parametrize(
    "s,ascii_,uni",
    [
        ("Example.ORG", "example.org", "example.org"),
        ("bücher.example", "xn--bcher-kva.example", "bücher.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example"),
        ("BÜCHER.example", "xn--bcher-kva.example", "bücher.example"),
        ("例え.jp", "xn--r8jz45g.jp", "例え.jp"),
        ("_dmarc.example.org", "_dmarc.example.org", "_dmarc.example.org"),
    ],
)
def test_domain(s: str, ascii_: str, uni: str) -> None:
    d = parse_domain(s)
    assert (d.ascii, d.unicode) == (ascii_, uni)
    assert d == parse_domain(uni)


@pytest.mark.parametrize(
    "s", ["", "example.org.", ".example", "a..b", "-a.example", "a" * 64 + ".x", "xn--zz.example", "a b.c"]
)
def test_domain_invalid(s: str) -> None:
    with pytest.raises(DomainError):
        parse_domain(s)


@pytest.mark.parametrize(
    "s,utf8,lp,dom",
    [
        ("<a@example.org>", False, "a", "example.org"),
        ("<first.last@Example.ORG>", False, "first.last", "example.org"),
        ('<"a b"@example.org>', False, "a b", "example.org"),
        ('<"a\\"b"@example.org>', False, 'a"b', "example.org"),
        ("<@relay.example,@other.example:u@example.org>", False, "u", "example.org"),
        ("<jörg@bücher.example>", True, "jörg", "xn--bcher-kva.example"),
        ("<u@[192.0.2.1]>", False, "u", "[192.0.2.1]"),
        ("<u@[IPv6:2001:db8::1]>", False, "u", "[IPv6:2001:db8::1]"),
        ("<e\u0301@example.org>", True, "é", "example.org"),  # NFC
    ],
)
def test_parse_path(s: str, utf8: bool, lp: str, dom: str) -> None:
    p = parse_path(s, utf8)
    assert p.address is not None
    assert p.address.localpart == lp and p.address.domain.ascii == dom


def test_null_path() -> None:
    p = parse_path("<>")
    assert p.is_null and str(p) == ""


@pytest.mark.parametrize(
    "s,utf8",
    [
        ("a@example.org", False),  # no brackets
        ("<a@example.org", False),
        ("<.a@example.org>", False),
        ("<a..b@example.org>", False),
        ("<a@>", False),
        ("<@example.org>", False),
        ("<jörg@example.org>", False),  # UTF-8 without SMTPUTF8
        ("<a b@example.org>", False),
        ("<a@[300.1.1.1]>", False),
        ("<" + "a" * 65 + "@example.org>", False),
        ("<a@" + ".".join(["abcdefghij"] * 24) + ".example>", False),  # path over 256 octets
        ('<"unterminated@example.org>', False),
    ],
)
def test_parse_path_invalid(s: str, utf8: bool) -> None:
    with pytest.raises(AddressError):
        parse_path(s, utf8)


def test_address_forms() -> None:
    a = parse_address("Jörg@Bücher.example")
    assert str(a) == "Jörg@bücher.example" and a.pack(False) == "Jörg@xn--bcher-kva.example"
    assert not a.is_ascii
    assert Localpart("a b").quoted() == '"a b"' and Localpart("a.b").quoted() == "a.b"
    assert canonical_localpart("Mjl+Tag", ["+"]) == "mjl"
    assert canonical_localpart("Mjl-x+y", ["+", "-"]) == "mjl"
    assert canonical_localpart("Mjl+Tag", ["+"], case_sensitive=True) == "Mjl"


M = MailboxAddr


@pytest.mark.parametrize(
    "s,want",
    [
        ("a@example.org", [M("", "a", "example.org")]),
        ("Joe Q. Public <john.q.public@example.com>", [M("Joe Q. Public", "john.q.public", "example.com")]),
        ('"Giant; \\"Big\\" Box" <box@example.net>', [M('Giant; "Big" Box', "box", "example.net")]),
        ("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", [M("Pete", "pete", "silly.test")]),
        ("a@b.example, , c@d.example", [M("", "a", "b.example"), M("", "c", "d.example")]),
        ('x."y z".w@example.org', [M("", "x.y z.w", "example.org")]),
        ("<@r.example:u@example.org>", [M("", "u", "example.org", "@r.example")]),
        ("=?utf-8?q?J=C3=B6rg?= <j@example.org>", [M("=?utf-8?q?J=C3=B6rg?=", "j", "example.org")]),
        ("Jörg <jörg@bücher.example>", [M("Jörg", "jörg", "bücher.example")]),
        ("u@[192.0.2.1]", [M("", "u", "[192.0.2.1]")]),
        ("user@example.org (Real Name)", [M("Real Name", "user", "example.org")]),  # obsolete naming
        ("Named <user@example.org> (comment)", [M("Named", "user", "example.org")]),
        ("undisclosed-recipients:;", [Group("undisclosed-recipients", [])]),
        (
            "A Group:Ed <c@a.test>,joe@where.test;, x@y.test",
            [Group("A Group", [M("Ed", "c", "a.test"), M("", "joe", "where.test")]), M("", "x", "y.test")],
        ),
    ],
)
def test_address_list(s: str, want: list[object]) -> None:
    assert parse_address_list(s) == want


@pytest.mark.parametrize(
    "s",
    [
        "alice@example.org)<bob@example.com>",  # CVE-2023-27043
        "alice@example.org <bob@example.com>",
        "john@doe <j@example.org>",
        "a@b.example c@d.example",
        "<a@example.org",
        "Name <a@example.org> trailing",
        "g: a@b.example",  # unterminated group
        '"unterminated <a@example.org>',
        "a@",
        "(unterminated comment a@b.example",
    ],
)
def test_address_list_rejected(s: str) -> None:
    with pytest.raises(AddressError):
        parse_address_list(s)


def test_mailbox_address() -> None:
    m = parse_address_list("Jörg <jörg@bücher.example>")[0]
    assert isinstance(m, MailboxAddr)
    assert m.address().domain.ascii == "xn--bcher-kva.example"


_chars = st.text(alphabet='ab@.<>()"\\:;, \t[]=?é-_', max_size=50)


@settings(max_examples=300, deadline=None)
@given(_chars)
def test_fuzz_only_address_errors(s: str) -> None:
    for fn in (parse_address_list, lambda x: parse_path(x, True), parse_address):
        try:
            fn(s)
        except AddressError:
            pass


_name = st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=30)
_local = st.from_regex(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[a-z0-9-]{1,5}){0,2}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(_name, _local, st.booleans())
def test_format_then_parse(name: str, local: str, utf8: bool) -> None:
    from app.message import decode_rfc2047
    from app.message.compose import format_address

    s = format_address(name, f"{local}@example.org", smtputf8=utf8)
    (m,) = parse_address_list(s)
    assert isinstance(m, MailboxAddr)
    assert (m.localpart, m.domain) == (local, "example.org")
    assert " ".join(decode_rfc2047(m.name).split()) == " ".join(name.split())


# mox's local part and address vectors.
@pytest.mark.parametrize("s", ["user", "a", "a.b.c", '""', '"ok"', '"a.bc"'])
def test_localpart_good(s: str) -> None:
    from app.smtp.address import parse_localpart

    parse_localpart(s)


@pytest.mark.parametrize("s", ["", '"', "\x00", '"\\', '"\x01', '""leftover'])
def test_localpart_bad(s: str) -> None:
    from app.smtp.address import parse_localpart

    with pytest.raises(AddressError):
        parse_localpart(s)


@pytest.mark.parametrize(
    "s",
    [
        "user@@example.com",
        "user",
        "@example.com",
        '"@example.com',
        "\x00@example.com",
        '"\\@example.com',
        '"\x01@example.com',
        '""leftover@example.com',
    ],
)
def test_address_bad_mox(s: str) -> None:
    with pytest.raises(AddressError):
        parse_address(s)


@pytest.mark.parametrize(
    "lp,packed",
    [
        ("", '""'),
        ("a.", '"a."'),
        ("a.b", "a.b"),
        ("azAZ09!#$%&'*+-/=?^_`{|}~", "azAZ09!#$%&'*+-/=?^_`{|}~"),
        (" ", '" "'),
        ("<>", '"<>"'),
    ],
)
def test_localpart_pack(lp: str, packed: str) -> None:
    assert Localpart(lp).quoted() == packed
