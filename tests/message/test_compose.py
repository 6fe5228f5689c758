"""Composing: compose → parse gives back the same content; header injection is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.message import (
    Attachment,
    Composer,
    HeaderInjection,
    decode_binary,
    decoded_text,
    envelope,
    parse,
    section_bytes,
)
from app.message.compose import format_address, text_body


def test_full_message_round_trip() -> None:
    fwd = b"From: x@y.example\r\nSubject: old\r\n\r\nold body\r\n"
    c = Composer(
        from_=("Jörg Müller", "joerg@example.org"),
        to=[("Bob, Jr.", "bob@bücher.example"), ("", "carol@example.org")],
        cc=[("Dave", "dave@example.org")],
        subject="Grüße aus Köln — a long subject line that needs folding because it is quite long",
        text="Hallo Bob,\n\nGrüße!\n",
        html='<p>Grüße <img src="cid:img1"></p>',
        attachments=[
            Attachment(bytes(range(256)) * 10, "application/pdf", "Bericht 2024.pdf"),
            Attachment(b"\x89PNG", "image/png", "i.png", inline=True, content_id="img1"),
        ],
        forward=fwd,
        date=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        message_id="m1@example.org",
        in_reply_to="parent@example.org",
        references=["root@example.org", "parent@example.org"],
        headers=[("X-Custom", "value")],
    )
    m = c.build()
    assert all(len(line) <= 998 for line in m.split(b"\r\n"))
    assert b"\n" not in m.replace(b"\r\n", b"")
    p = parse(m)
    assert p.all_defects() == []
    types = [q.mime_type for q in p.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/related",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/png",
        "application/pdf",
        "message/rfc822",
        "text/plain",
    ]
    e = envelope(m, p)
    assert e.subject_decoded == c.subject
    assert e.from_[0].decoded_name == "Jörg Müller" and e.from_[0].email() == "joerg@example.org"
    assert [(a.decoded_name, a.email()) for a in e.to] == [
        ("Bob, Jr.", "bob@xn--bcher-kva.example"),
        (None, "carol@example.org"),
    ]
    assert e.message_id == "<m1@example.org>" and e.date == "Tue, 02 Jan 2024 03:04:05 +0000"
    assert e.in_reply_to == "<parent@example.org>"
    alt = p.parts[0].parts[0]
    assert decoded_text(m, alt.parts[0]) == "Hallo Bob,\r\n\r\nGrüße!\r\n"
    assert decoded_text(m, alt.parts[1]) == '<p>Grüße <img src="cid:img1"></p>'
    img = p.parts[0].parts[1]
    assert img.disposition == "inline" and img.content_id == "<img1>" and decode_binary(m, img) == b"\x89PNG"
    pdf = p.parts[1]
    assert pdf.filename == "Bericht 2024.pdf" and decode_binary(m, pdf) == bytes(range(256)) * 10
    assert section_bytes(m, p, "3") == fwd
    assert b"X-Custom: value\r\n" in m


def test_simple_text_only() -> None:
    m = Composer(
        from_=("", "a@example.org"), to=[("", "b@example.org")], subject="hi", text="plain\n"
    ).build()
    p = parse(m)
    assert p.mime_type == "text/plain" and p.params["charset"] == "us-ascii" and p.cte == "7bit"
    assert m.endswith(b"\r\n\r\nplain\r\n")


@pytest.mark.parametrize(
    "text,cte",
    [
        ("ascii only", "7bit"),
        ("mostly ascii with é", "quoted-printable"),
        ("日本語のテキスト", "base64"),
        ("x" * 1200, "quoted-printable"),
    ],
)
def test_transfer_encoding_choice(text: str, cte: str) -> None:
    got, _ = text_body(text)
    assert got == cte


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.text(max_size=80))
def test_text_round_trip(text: str, subject: str) -> None:
    subject = subject.replace("\r", " ").replace("\n", " ").replace("\0", " ")
    m = Composer(from_=("", "a@example.org"), to=[("", "b@example.org")], subject=subject, text=text).build()
    p = parse(m)
    want = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    assert decoded_text(m, p) == want
    got = envelope(m, p).subject_decoded or ""
    assert " ".join(got.split()) == " ".join(subject.split())


@pytest.mark.parametrize(
    "kw",
    [
        {"subject": "hi\r\nBcc: victim@example.org"},
        {"subject": "hi\nX: y"},
        {"to": [("Evil\r\nBcc: x@example.org", "b@example.org")]},
        {"to": [("", "b@example.org\r\nBcc: x@example.org")]},
        {"headers": [("X-Thing", "a\rb")]},
        {"headers": [("X-Thing\r\nBcc", "a")]},
        {"headers": [("Bad Name", "a")]},
        {"attachments": [Attachment(b"", "text/plain", "a\r\nb.txt")]},
        {"attachments": [Attachment(b"", "text/plain\r\nX: y")]},
    ],
)
def test_header_injection(kw: dict[str, object]) -> None:
    base: dict[str, object] = {"from_": ("", "a@example.org"), "to": [("", "b@example.org")], "text": "x"}
    base.update(kw)
    with pytest.raises(HeaderInjection):
        Composer(**base).build()  # type: ignore[arg-type]


def test_address_formatting() -> None:
    assert format_address("", "a@example.org") == "a@example.org"
    assert format_address("Plain Name", "a@example.org") == "Plain Name <a@example.org>"
    assert format_address('Q "x"', "a@example.org") == '"Q \\"x\\"" <a@example.org>'
    assert format_address("Jörg", "j@bücher.example", smtputf8=True) == "Jörg <j@bücher.example>"
    with pytest.raises(ValueError):
        format_address("", "jörg@example.org")  # needs SMTPUTF8
    with pytest.raises(ValueError):
        format_address("", "not an address")


def test_smtputf8_message() -> None:
    m = Composer(
        from_=("Jörg", "jörg@bücher.example"),
        to=[("", "b@example.org")],
        subject="Grüße",
        text="x",
        smtputf8=True,
    ).build()
    assert "Subject: Grüße\r\n".encode() in m and "From: Jörg <jörg@bücher.example>".encode() in m


@pytest.mark.parametrize("ct", ["0", "", "text", "multipart/mixed", 'text/plain; charset="open'])
def test_bad_attachment_type(ct: str) -> None:
    c = Composer(from_=("", "a@example.org"), text="x", attachments=[Attachment(b"x", ct)])
    with pytest.raises(ValueError):
        c.build()


def test_attachment_type_params_kept() -> None:
    m = Composer(
        from_=("", "a@example.org"),
        text="x",
        attachments=[Attachment(b"x", "Text/CSV; charset=utf-8", "a b.csv")],
    ).build()
    p = parse(m).parts[1]
    assert p.mime_type == "text/csv" and p.params == {"charset": "utf-8", "name": "a b.csv"}


def test_eightbit_text() -> None:
    from app.message import decoded_text

    m = Composer(from_=("", "a@example.org"), text="Grüße\n", eightbit=True).build()
    p = parse(m)
    assert p.cte == "8bit" and p.charset == "utf-8" and "Grüße\r\n".encode() in m
    assert decoded_text(m, p) == "Grüße\r\n"
    assert text_body("x" * 1200 + "é", eightbit=True)[0] == "quoted-printable"  # long line
