"""Command line and MAIL/RCPT argument parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.smtp.command import Path, parse_command, parse_ehlo_domain, parse_mail, parse_params, parse_rcpt
from app.smtp.reply import Reply, SMTPError


def test_parse_command() -> None:
    assert parse_command(b"mail FROM:<a@b>").verb == "MAIL"
    assert parse_command(b"QUIT").arg == ""
    with pytest.raises(SMTPError) as e:
        parse_command(b"NOOP \x01")
    assert e.value.code == 500
    with pytest.raises(SMTPError):
        parse_command(b"\xff\xfe")


@pytest.mark.parametrize(
    ("arg", "lp", "dom", "params"),
    [
        ("FROM:<a@example.org>", "a", "example.org", {}),
        (
            "from:<A.B@Example.ORG> SIZE=100 BODY=8BITMIME",
            "A.B",
            "example.org",
            {"SIZE": "100", "BODY": "8BITMIME"},
        ),
        ("FROM:<>", "", "", {}),
        ("FROM: <a@b.example>", "a", "b.example", {}),
        ('FROM:<"a b>c"@x.example>', "a b>c", "x.example", {}),
        ("FROM:<@relay.example:a@x.example>", "a", "x.example", {}),
        ("FROM:<a@[127.0.0.1]>", "a", "[127.0.0.1]", {}),
        ("FROM:<ö@ü.example> SMTPUTF8", "ö", "ü.example", {"SMTPUTF8": None}),
    ],
)
def test_parse_mail(arg: str, lp: str, dom: str, params: dict[str, str | None]) -> None:
    m = parse_mail(arg)
    assert (m.path.localpart, m.path.domain, m.params) == (lp, dom, params)


@pytest.mark.parametrize(
    ("arg", "code"),
    [
        ("FROM:a@b", 501),
        ("FROM:<a@b", 501),
        ("FROM:<a@b>X", 501),
        ("FROM:<a..b@c>", 501),
        ("FROM:<ö@x.example>", 553),
        ("FROM:<a@b> SIZE=1 SIZE=2", 501),
        ("TO:<a@b>", 501),
    ],
)
def test_parse_mail_errors(arg: str, code: int) -> None:
    with pytest.raises(SMTPError) as e:
        parse_mail(arg)
    assert e.value.code == code


def test_pedantic_space() -> None:
    with pytest.raises(SMTPError):
        parse_mail("FROM: <a@b>", pedantic=True)


def test_parse_rcpt() -> None:
    r = parse_rcpt("TO:<Postmaster>")
    assert r.postmaster
    r = parse_rcpt("TO:<x@Y.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.example")
    assert r.path == Path("x", "y.example") and r.params["NOTIFY"] == "SUCCESS,FAILURE"
    with pytest.raises(SMTPError):
        parse_rcpt("TO:<>")


def test_ehlo_domain() -> None:
    assert parse_ehlo_domain("mail.example.org") == "mail.example.org"
    assert parse_ehlo_domain("[1.2.3.4]") == "[1.2.3.4]"
    for bad in ("", "a..b", "[1.2.3]"):
        with pytest.raises(SMTPError):
            parse_ehlo_domain(bad)


def test_params() -> None:
    assert parse_params("A=1 b") == {"A": "1", "B": None}
    with pytest.raises(SMTPError):
        parse_params("=x")


def test_reply_format() -> None:
    assert (
        Reply(250, "", ["host", "PIPELINING", "SMTPUTF8"]).to_bytes()
        == b"250-host\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n"
    )
    assert Reply(550, "1.1", ["no such user"]).to_bytes() == b"550 5.1.1 no such user\r\n"
    assert Reply(451, "4.3.0", ["x\r\ny"]).to_bytes() == b"451 4.3.0 x  y\r\n"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_parsers_raise_only_smtperror(s: str) -> None:
    for fn in (parse_mail, parse_rcpt, parse_ehlo_domain):
        try:
            fn(s)  # type: ignore[operator]
        except SMTPError:
            pass
        try:
            fn("FROM:<" + s)  # type: ignore[operator]
        except SMTPError:
            pass
