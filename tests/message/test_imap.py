"""What IMAP needs: ENVELOPE, BODY/BODYSTRUCTURE, sections, BINARY decoding, search text, preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.message import (
    SectionError,
    UnknownCTE,
    body,
    bodystructure,
    decode_binary,
    decoded_text,
    envelope,
    imap_string,
    parse,
    preview,
    section_bytes,
    text_for_search,
)

CORPUS = Path(__file__).resolve().parent.parent / "data" / "messages"


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_bodystructure_apple() -> None:
    d = load("apple-mail.eml")
    p = parse(d)
    assert imap_string(bodystructure(d, p)) == (
        '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 100 6 NIL NIL NIL NIL)'
        '(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 270 4 NIL NIL NIL NIL)'
        '("IMAGE" "PNG" ("X-UNIX-MODE" "0644" "NAME" "bulle.png") "<F00D@example.org>" NIL "BASE64" 100 NIL '
        '("INLINE" ("FILENAME" "bulle.png")) NIL NIL) "RELATED" ("TYPE" "text/html" "BOUNDARY" '
        '"Apple-Mail=_A1B2C3D4-0000-4000-8000-000000000001") NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" '
        '"Apple-Mail=_6F6D8B4E-1D2C-4C8A-9B1E-7E3A3C2A1B0F") NIL NIL NIL)'
    )
    assert imap_string(body(d, p)) == (
        '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 100 6)'
        '(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 270 4)'
        '("IMAGE" "PNG" ("X-UNIX-MODE" "0644" "NAME" "bulle.png") "<F00D@example.org>" NIL "BASE64" 100) '
        '"RELATED") "ALTERNATIVE")'
    )


def test_bodystructure_nested_message_and_defaults() -> None:
    d = load("forward-rfc822.eml")
    s = imap_string(bodystructure(d, parse(d)))
    assert '("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 360 ("Tue, 7 Nov 2023 07:00:00 +0000" "Your invoice" ' in s
    assert '"ALTERNATIVE" ("BOUNDARY" "inv") NIL NIL NIL) 17 NIL ("INLINE" NIL) NIL NIL)' in s
    d = load("no-mime.eml")
    assert (
        imap_string(bodystructure(d, parse(d)))
        == '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 57 3 NIL NIL NIL NIL)'
    )
    d = load("rfc2231-params.eml")
    s = imap_string(bodystructure(d, parse(d)))
    assert '("de" "en") "http://example.org/rates")' in s
    assert (
        '"Q2hlY2sgSW50ZWdyaXR5IQ==" ("ATTACHMENT" ("FILENAME" "Grüße.txt"))' not in s
    )  # non-ASCII → literal
    assert "{11}\r\nGrüße.txt" in s


def test_imap_string_forms() -> None:
    assert imap_string([None, 1, 'a"b\\', "x\r\ny", []]) == '(NIL 1 "a\\"b\\\\" {4}\r\nx\r\ny ())'


def test_envelope() -> None:
    d = load("outlook.eml")
    e = envelope(d, parse(d))
    assert e.date == "Mon, 6 Nov 2023 10:02:10 +0000"
    assert e.subject == "AW: =?iso-8859-1?Q?Quartalsbericht_=FCberarbeitet?="
    assert e.subject_decoded == "AW: Quartalsbericht überarbeitet"
    assert [(a.name, a.mailbox, a.host) for a in e.from_] == [
        ("Mueller, Juergen", "juergen.mueller", "corp.example.com")
    ]
    assert e.sender == e.from_ and e.reply_to == e.from_
    assert [a.email() for a in e.to] == ["sales@corp.example.com", "cfo@corp.example.com"]
    assert e.cc[0].decoded_name == "François Pérez"
    assert e.in_reply_to == "<AM0PR01MB1111@AM0PR01MB1234.eurprd01.prod.outlook.com>"
    assert e.message_id == "<AM0PR01MB1234ABCD5678EF90@AM0PR01MB1234.eurprd01.prod.outlook.com>"
    assert e.bcc == []


def test_envelope_groups_and_bad_addresses() -> None:
    d = load("no-mime.eml")
    e = envelope(d, parse(d))
    assert imap_string(e.imap()[5]) == '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))'
    d = load("broken-encodings.eml")
    e = envelope(d, parse(d))
    # The CVE-2023-27043 form is left out, not guessed.
    assert [a.email() for a in e.to] == ["a@example.org", "ok@example.org"]
    assert e.subject_decoded == "café and=?bogus-charset?q?x?= été" or e.subject_decoded is not None


SECTIONS = [
    ("", None),
    ("HEADER", b"From: Eve <eve@example.org>"),
    ("TEXT", b"--fwd\r\n"),
    ("1", b"See below."),
    ("1.MIME", b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"),
    ("2.MIME", b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"),
    (
        "2.HEADER.FIELDS (Subject MESSAGE-ID)",
        b"Subject: Your invoice\r\nMessage-ID: <inv42@shop.example>\r\n\r\n",
    ),
    ("2.1", b"Amount due: 42 EUR"),
    ("2.2", b"<p>Amount due: <b>42 EUR</b></p>"),
    ("2.2.MIME", b"Content-Type: text/html\r\n\r\n"),
    ("HEADER.FIELDS (to)", b"To: Frank <frank@example.com>\r\n\r\n"),
    ("HEADER.FIELDS (x-none)", b"\r\n"),
]


@pytest.mark.parametrize("spec,want", SECTIONS)
def test_sections(spec: str, want: bytes | None) -> None:
    d = load("forward-rfc822.eml")
    got = section_bytes(d, parse(d), spec)
    if want is None:
        assert got == d
    elif spec in ("HEADER", "TEXT"):
        assert got.startswith(want)
    else:
        assert got == want


def test_section_header_fields_not_and_text_of_nested() -> None:
    d = load("forward-rfc822.eml")
    p = parse(d)
    h = section_bytes(d, p, "HEADER.FIELDS.NOT (From To Date Message-ID MIME-Version)")
    assert h == b'Subject: Fwd: invoice\r\nContent-Type: multipart/mixed; boundary="fwd"\r\n\r\n'
    assert section_bytes(d, p, "2.TEXT").startswith(b"--inv\r\n")
    assert section_bytes(d, p, "2.HEADER").endswith(b'boundary="inv"\r\n\r\n')
    assert section_bytes(d, p, "2") == section_bytes(d, p, "2.HEADER") + section_bytes(d, p, "2.TEXT")


@pytest.mark.parametrize(
    "spec", ["3", "1.2", "0", "1.HEADER", "MIME", "HEADER.FIELDS", "TEXT (a)", "x", "2.1.1.1"]
)
def test_section_errors(spec: str) -> None:
    d = load("forward-rfc822.eml")
    with pytest.raises(SectionError):
        section_bytes(d, parse(d), spec)


def test_single_part_section_1() -> None:
    d = load("no-mime.eml")
    p = parse(d)
    assert section_bytes(d, p, "1") == section_bytes(d, p, "TEXT")


def test_decode_binary() -> None:
    d = load("apple-mail.eml")
    p = parse(d)
    png = decode_binary(d, p.parts[1].parts[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) == 70
    assert decoded_text(d, p.parts[0]).startswith("Hej Bob,\r\n\r\nSka vi ta en fika på fredag?")
    assert "fika på fredag" in decoded_text(d, p.parts[1].parts[0])
    d = load("broken-encodings.eml")
    p = parse(d)
    assert decode_binary(d, p.parts[0]).startswith(b"hello world")
    with pytest.raises(UnknownCTE) as exc:
        decode_binary(d, p.parts[1])
    assert exc.value.cte == "x-uuencode"
    assert decoded_text(d, p.parts[1]) == "begin 644 x"  # raw when the encoding is unknown
    assert decoded_text(d, p.parts[2]) == "<p>Café au lait =ZZ</p>\r\n"  # no closing boundary


def test_text_for_search() -> None:
    d = load("forward-rfc822.eml")
    t = text_for_search(d, parse(d))
    for s in ["Subject: Fwd: invoice", "See below.", "Subject: Your invoice", "Amount due: 42 EUR"]:
        assert s in t
    assert "<b>" not in t
    d = load("outlook.eml")
    t = text_for_search(d, parse(d))
    assert "Quartalsbericht überarbeitet" in t and "Grüße" in t
    assert "JVBERi" not in t  # attachments are not text


@pytest.mark.parametrize(
    "name,want",
    [
        ("no-mime.eml", "Just text, no MIME headers at all. [...] Bye."),
        ("thunderbird.eml", "[...] Friday works. Notes attached — see the “timeline” section."),
        ("forward-rfc822.eml", "See below."),
        ("bare-lf.eml", "line one line two"),
        ("dmarc-report.eml", "This is an aggregate report from example.com."),
    ],
)
def test_preview(name: str, want: str) -> None:
    d = load(name)
    assert preview(d, parse(d)) == want


def test_preview_html_only_and_length() -> None:
    d = b"Content-Type: text/html\r\n\r\n<html><style>p{}</style><p>Hello &amp; <b>bye</b></p></html>"
    assert preview(d, parse(d)) == "Hello & bye"
    d = b"Subject: x\r\n\r\n" + b"word " * 200
    assert len(preview(d, parse(d))) == 256
    d = b"Content-Type: image/png\r\n\r\nxx"
    assert preview(d, parse(d)) == ""


@pytest.mark.parametrize(
    "sub,name",
    [
        ("dmarc-reports", "google.eml"),
        ("dmarc-reports", "mailru.eml"),
        ("dmarc-reports", "outlook.eml"),
        ("dmarc-reports", "xs4all.eml"),
        ("dmarc-reports", "yahoo.eml"),
        ("tlsreports", "example.eml"),
        ("tlsreports", "microsoft.eml"),
    ],
)
def test_real_reports_attachments_decode(sub: str, name: str) -> None:
    import gzip
    import io
    import zipfile

    from tests.conftest import INTEROP

    d = (INTEROP / "mox-testdata" / sub / name).read_bytes()
    p = parse(d)
    att = [q for q in p.walk() if q.filename]
    assert len(att) == 1
    raw = decode_binary(d, att[0])
    if att[0].mime_type == "application/zip":
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            content = z.read(z.namelist()[0])
    else:
        content = gzip.decompress(raw)
    assert content.lstrip().startswith(b"<?xml" if sub == "dmarc-reports" else b"{")
    assert p.all_defects() == []


def test_from_address() -> None:
    from app.message import from_address
    from app.smtp.address import AddressError

    d = load("outlook.eml")
    a = from_address(d, parse(d))
    assert str(a) == "juergen.mueller@corp.example.com"
    d = "From: Jörg <jörg@Bücher.example>\r\n\r\n".encode()
    assert from_address(d, parse(d)).domain.ascii == "xn--bcher-kva.example"
    for bad in [
        b"Subject: no from\r\n\r\n",
        b"From: a@example.org\r\nFrom: b@example.org\r\n\r\n",
        b"From: a@example.org, b@example.org\r\n\r\n",
        b"From: group: a@example.org;\r\n\r\n",
        b"From: alice@example.org)<bob@example.com>\r\n\r\n",
    ]:
        with pytest.raises(AddressError):
            from_address(bad, parse(bad))


def test_is_dsn() -> None:
    from app.message import is_dsn

    assert is_dsn(parse(load("dsn-postfix.eml"))) and is_dsn(parse(load("dsn-utf8.eml")))
    assert not is_dsn(parse(load("tls-report.eml"))) and not is_dsn(parse(load("outlook.eml")))


# mox's preview vectors, in our single-line form (newlines become spaces).
@pytest.mark.parametrize(
    "body,want",
    [
        ("", ""),
        ("single line", "single line"),
        ("> quoted\n", "[...]"),
        ("> quoted\nresponse\n", "[...] response"),
        ("> quoted\n[...]\nresponse after author snip\n", "[...] response after author snip"),
        ("[...]\nresponse after author snip\n", "[...] response after author snip"),
        ("[…]\nresponse after author snip\n", "[…] response after author snip"),
        (
            ">> quoted0\n> quoted1\n>quoted2\n[...]\nresponse after author snip\n",
            "[...] response after author snip",
        ),
        (">quoted\n\n>quoted\ncoalesce line-separated quotes\n", "[...] coalesce line-separated quotes"),
        ("On <date> <user> wrote:\n> hi\nresponse", "[...] response"),
        ("On <longdate>\n<user> wrote:\n> hi\nresponse", "[...] response"),
        ("> quote\nresponse\n--\nsignature\n", "[...] response"),
        ("> quote\nline1\nline2\nline3\n", "[...] line1 line2 line3"),
        ("a" * 70000, "a" * 256),
    ],
)
def test_preview_plain_vectors(body: str, want: str) -> None:
    d = ("Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()
    assert preview(d, parse(d)) == want


_MORE_HTML = """<!doctype html>
<html>
  <head>
    <title>title</title>
    <style>head style</style>
    <script>head script</script>
  </head>
<body>
<script>body script</script>
<style>body style</style>
<!-- a comment -->
<div>line1</div>
<div>line2</div>
<div><a href="about:blank">link1   </a> text <span>word</span><span>word2</span>.</div>
<table><tr><td>col1</td><th>col2</th></tr><tr><td>row2</td></tr></table>
</body></html>
"""


@pytest.mark.parametrize(
    "parts,want",
    [
        ([("plain", "the text"), ("html", "<html><body>the html</body></html>")], "the text"),
        ([("html", "<body>the html</body>"), ("plain", "the text")], "the html"),
        ([("html", "<body>the html &amp; &#233;&#x20ac;</body>")], "the html & é€"),
        ([("other", "other text")], ""),
        (
            [
                (
                    "html",
                    "<html><div>On ... someone wrote:</div><blockquote>something worth replying</blockquote><div>agreed</div></body>",
                )
            ],
            "[...] agreed",
        ),
        ([("html", _MORE_HTML)], "line1 line2 link1 text wordword2. col1 col2 row2"),
    ],
)
def test_preview_html_vectors(parts: list[tuple[str, str]], want: str) -> None:
    if len(parts) == 1:
        ((sub, body_text),) = parts
        d = f"Content-Type: text/{sub}; charset=utf-8\r\n\r\n{body_text}".encode()
    else:
        d = (
            b"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
            + b"".join(
                f"--b\r\nContent-Type: text/{sub}; charset=utf-8\r\n\r\n{t}\r\n".encode() for sub, t in parts
            )
            + b"--b--\r\n"
        )
    assert preview(d, parse(d)) == want


def test_envelope_address_names_decoded() -> None:
    from app.message import env_addresses

    got = env_addresses("=?iso-8859-2?Q?Krist=FDna?= <k@example.com>, mjl@mox.example")
    assert [(a.decoded_name, a.mailbox, a.host) for a in got] == [
        ("Kristýna", "k", "example.com"),
        (None, "mjl", "mox.example"),
    ]


@pytest.mark.parametrize(
    "date,want",
    [
        ("Mon, 6 Nov 2023 10:02:10 +0000", "2023-11-06T10:02:10+00:00"),
        ("Fri, 07 Oct 1994 16:15:05 -0700 (PDT)", "1994-10-07T16:15:05-07:00"),
        ("6 Nov 2023 10:02 +0100", "2023-11-06T10:02:00+01:00"),
        ("Mon, 6 Nov 2023 10:02:10 -0000", "2023-11-06T10:02:10+00:00"),
        ("not a date", None),
        ("", None),
        ("Mon, 32 Nov 2023 10:02:10 +0000", None),
    ],
)
def test_envelope_parsed_date(date: str, want: str | None) -> None:
    from app.message import Envelope

    got = Envelope(date=date).parsed_date
    assert (got.isoformat() if got else None) == want
