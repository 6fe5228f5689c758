"""Parser: structure vectors, offsets that reassemble the input, corpus, Hypothesis fuzzing."""

from __future__ import annotations

import mmap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.message import ParseError, Part, bodystructure, envelope, imap_string, parse, section_bytes
from tests.conftest import INTEROP
from tests.message.reassemble import segments

CORPUS = Path(__file__).resolve().parent.parent / "data" / "messages"


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*.eml"))
    for sub in ("message", "dmarc-reports", "tlsreports"):
        files += sorted((INTEROP / "mox-testdata" / sub).glob("*.eml"))
    return files


def shape(p: Part) -> list[tuple[str, int, int, int]]:
    return [(q.mime_type, q.size, q.lines, len(q.parts)) for q in p.walk()]


def check_offsets(data: bytes, root: Part) -> None:
    n = len(data)
    for p in root.walk():
        assert 0 <= p.header_start <= p.body_start <= p.body_end <= n
        for c in p.parts:
            assert p.body_start <= c.header_start and c.body_end <= p.body_end
    assert b"".join(s for _, s in segments(data, root)) == data[root.header_start : root.body_end]


def test_simple_message() -> None:
    d = b"From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\nline 2\r\n"
    p = parse(d)
    assert (p.header_start, p.body_start, p.body_end) == (0, 36, len(d))
    assert p.mime_type == "text/plain" and not p.has_content_type
    assert p.lines == 2 and p.size == 16 and p.defects == []


@pytest.mark.parametrize(
    "data,expect",
    [
        # No header at all: the body starts after the empty first line.
        (b"\r\nbody", [("text/plain", 4, 1, 0)]),
        # Header only, no empty line, no body.
        (b"Subject: x\r\n", [("text/plain", 0, 0, 0)]),
        # Last line without line ending counts as a line.
        (b"Subject: x\n\na\nb", [("text/plain", 3, 2, 0)]),
        # Empty parts and transport padding after a boundary.
        (
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x  \r\n\r\n--x\r\n\r\nb\r\n--x-- \r\n",
            [("multipart/mixed", 27, 0, 2), ("text/plain", 0, 0, 0), ("text/plain", 1, 1, 0)],
        ),
        # Boundaries that prefix each other.
        (
            b"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=ab\n\n"
            b"--ab\n\nx\n--ab--\n--a\n\ny\n--a--\n",
            [
                ("multipart/mixed", 76, 0, 2),
                ("multipart/mixed", 14, 0, 1),
                ("text/plain", 1, 1, 0),
                ("text/plain", 1, 1, 0),
            ],
        ),
        # An outer boundary closes an inner multipart whose closing boundary is missing.
        (
            b"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n"
            b"--i\n\nx\n--o\n\ny\n--o--\n",
            [
                ("multipart/mixed", 67, 0, 2),
                ("multipart/mixed", 6, 0, 1),
                ("text/plain", 1, 1, 0),
                ("text/plain", 1, 1, 0),
            ],
        ),
        # Text after a closing delimiter, or after whitespace following a boundary (as mox).
        (
            b"Content-Type: multipart/mixed; boundary=x\n\n--x junk\n\na\n--x\n\nb\n--x--trailing\nepilogue\n",
            [("multipart/mixed", 42, 0, 2), ("text/plain", 1, 1, 0), ("text/plain", 1, 1, 0)],
        ),
        # Base64-encoded message/rfc822 stays a leaf.
        (
            b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp4\n",
            [("message/rfc822", 21, 1, 0)],
        ),
        # multipart/digest children default to message/rfc822.
        (
            b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nx\n--d--\n",
            [("multipart/digest", 25, 0, 1), ("message/rfc822", 13, 3, 0), ("text/plain", 1, 1, 0)],
        ),
    ],
)
def test_structure_vectors(data: bytes, expect: list[tuple[str, int, int, int]]) -> None:
    p = parse(data)
    assert shape(p) == expect
    check_offsets(data, p)


def test_defects_and_pedantic() -> None:
    d = b"Content-Type: multipart/mixed\r\n\r\nx\r\n"
    p = parse(d)
    assert "multipart without boundary parameter" in p.defects
    with pytest.raises(ParseError):
        parse(d, pedantic=True)
    d = b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nunterminated"
    assert "missing closing boundary" in parse(d).defects
    d = b"Subject: x\r\nnot a header line\r\n\r\nbody"
    p = parse(d)
    assert p.body_start == 12 and p.defects
    # A continuation line before the first field stays in the header (as the stdlib parser does).
    d = b" junk\r\nSubject: hi\r\n\r\nbody"
    p = parse(d)
    assert d[p.body_start :] == b"body" and p.defects == ["header starts with a continuation line"]


def test_mime_fields() -> None:
    d = (CORPUS / "rfc2231-params.eml").read_bytes()
    p = parse(d)
    a, t = p.parts
    assert a.params == {"name": "€ rates for 2024.txt"}
    assert a.disposition == "attachment" and a.disposition_params == {"filename": "Grüße.txt"}
    assert a.language == ["de", "en"] and a.location == "http://example.org/rates"
    assert a.md5 == "Q2hlY2sgSW50ZWdyaXR5IQ==" and a.content_id == "<rates@example.org>"
    assert a.description == "Exchange rates" and a.filename == "Grüße.txt"
    assert t.params == {"charset": "utf-8", "format": "flowed", "delsp": "yes"}
    assert t.disposition == "inline" and t.filename == "äöü.txt"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus(path: Path) -> None:
    data = path.read_bytes()
    p = parse(data)
    check_offsets(data, p)
    assert Part.from_bytes(p.to_bytes()) == p
    # Bare LF and CRLF give the same structure.
    lf = parse(data.replace(b"\r\n", b"\n"))
    assert [q.mime_type for q in lf.walk()] == [q.mime_type for q in p.walk()]
    imap_string(bodystructure(data, p))
    envelope(data, p)


def test_memoryview_and_mmap(tmp_path: Path) -> None:
    data = (CORPUS / "outlook.eml").read_bytes()
    want = parse(data)
    assert parse(memoryview(data)) == want
    assert parse(memoryview(data)[:]) == want
    # A view of part of a larger buffer (a message inside a bigger blob).
    mv = memoryview(b"JUNK" + data + b"MORE")[4:-4]
    got = parse(mv)
    assert got == want
    for spec in ["HEADER", "1.1", "2", "HEADER.FIELDS (subject to)"]:
        assert section_bytes(mv, got, spec) == section_bytes(data, want, spec)
    assert envelope(mv, got) == envelope(data, want)
    assert imap_string(bodystructure(mv, got)) == imap_string(bodystructure(data, want))
    f = tmp_path / "m.eml"
    f.write_bytes(data)
    with f.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        got = parse(mm)
        assert got == want
        assert section_bytes(mm, got, "1.1") == section_bytes(data, want, "1.1")


# Generated trees: ("leaf", body) | ("multi", [children]) | ("msg", child).
_body = st.text(alphabet="ab \n", max_size=30)
_tree = st.recursive(
    _body.map(lambda b: ("leaf", b)),
    lambda kids: st.one_of(
        st.lists(kids, min_size=1, max_size=4).map(lambda ks: ("multi", ks)),
        kids.map(lambda k: ("msg", k)),
    ),
    max_leaves=12,
)


def render(tree: tuple[str, object], nl: str, counter: list[int]) -> str:
    kind, x = tree
    if kind == "leaf":
        assert isinstance(x, str)
        return f"Content-Type: text/plain{nl}{nl}{x.replace(chr(10), nl)}"
    if kind == "msg":
        assert isinstance(x, tuple)
        return f"Content-Type: message/rfc822{nl}{nl}" + render(x, nl, counter)
    counter[0] += 1
    b = f"b{counter[0]}"  # b1, b12, ...: boundaries that prefix each other
    assert isinstance(x, list)
    s = f"Content-Type: multipart/mixed; boundary={b}{nl}{nl}preamble{nl}"
    for c in x:
        s += f"--{b}{nl}" + render(c, nl, counter) + nl
    return s + f"--{b}--{nl}epilogue{nl}"


def flatten(tree: tuple[str, object]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    stack = [tree]
    while stack:
        kind, x = stack.pop()
        if kind == "leaf":
            out.append(("text/plain", str(x)))
        elif kind == "msg":
            out.append(("message/rfc822", None))
            stack.append(x)  # type: ignore[arg-type]
        else:
            out.append(("multipart/mixed", None))
            stack.extend(reversed(x))  # type: ignore[arg-type]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tree, st.sampled_from(["\r\n", "\n"]))
def test_generated_trees(tree: tuple[str, object], nl: str) -> None:
    data = render(tree, nl, [0]).encode()
    p = parse(data)
    assert p.all_defects() == []
    got = []
    for q in p.walk():
        if q.message is not None:
            got.append(("message/rfc822", None))
        elif q.media_type == "text":
            got.append(("text/plain", data[q.body_start : q.body_end].decode().replace(nl, "\n")))
        elif q.is_multipart:
            got.append(("multipart/mixed", None))
    want = flatten(tree)
    assert got == want
    check_offsets(data, p)


_fragments = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b'Content-Type: multipart/alternative; boundary="x y"\n',
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: text/plain; charset*0*=utf-8''%e2; name*1=x\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Subject: =?utf-8?q?a=?=\r\n",
        b"To: a@b, (x) <c@d>; g: e@f;\r\n",
        b"--x\r\n",
        b"--x--\r\n",
        b"--x y\n",
        b"\r\n",
        b"\n",
        b" folded\r\n",
        b"body\r\n",
        b"--\r\n",
    ]
)
_raw = st.lists(st.one_of(_fragments, st.binary(max_size=12)), max_size=30).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(_raw)
def test_fuzz_never_raises(data: bytes) -> None:
    p = parse(data)
    n = len(data)
    for q in p.walk():
        assert 0 <= q.header_start <= q.body_start <= q.body_end <= n
        for c in q.parts:
            assert q.body_start <= c.header_start <= c.body_end <= q.body_end
    assert Part.from_bytes(p.to_bytes()) == p
    imap_string(bodystructure(data, p))
    envelope(data, p)
    section_bytes(data, p, "HEADER")
    section_bytes(data, p, "TEXT")


def _mbox_messages() -> list[tuple[str, bytes]]:
    import re

    out = []
    files = [
        *sorted((INTEROP / "imaptest-scripts").glob("*.mbox")),
        INTEROP / "mox-testdata" / "imaptest" / "imaptest.mbox",
    ]
    for f in files:
        chunks = re.split(rb"^From [^\n]*\n", f.read_bytes(), flags=re.M)[1:]
        for i, c in enumerate(chunks):
            out.append((f"{f.name}#{i + 1}", c.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")))
    return out


def test_interop_mbox_messages() -> None:
    msgs = _mbox_messages()
    assert len(msgs) > 100
    for name, data in msgs:
        p = parse(data)
        try:
            check_offsets(data, p)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None
        assert Part.from_bytes(p.to_bytes()) == p, name
        imap_string(bodystructure(data, p))
        envelope(data, p)


@pytest.mark.parametrize(
    "name", ["forward-rfc822.eml", "prefix-boundaries.eml", "bare-lf.eml", "dsn-utf8.eml"]
)
def test_every_truncation(name: str) -> None:
    # Truncated at every byte (a connection dropped mid-message, a partial import): a tree with
    # offsets in bounds, never an exception.
    data = (CORPUS / name).read_bytes()
    for i in range(len(data) + 1):
        d = data[:i]
        p = parse(d)
        for q in p.walk():
            assert 0 <= q.header_start <= q.body_start <= q.body_end <= i
        if i == len(data):
            assert p.all_defects() == []


@pytest.mark.parametrize("junk", [b"", b"-x-\n--c\n" * 20, b"a-b\n" * 3, b"--b2\n--\n"])
def test_base64_part_with_dashes(junk: bytes) -> None:
    # Base64 bodies are scanned for "-" at memory speed; invalid ones full of dashes still work.
    d = (
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\n"
        + junk
        + b"QUJD\n--b\n\nafter\n--b--\n"
    )
    p = parse(d)
    assert len(p.parts) == 2 and p.all_defects() == []
    assert d[p.parts[0].body_start : p.parts[0].body_end] == junk + b"QUJD"
    assert d[p.parts[1].body_start : p.parts[1].body_end] == b"after"


RFC2046_EXAMPLE = (
    (
        "From: Nathaniel Borenstein <nsb@bellcore.com>\nTo: Ned Freed <ned@innosoft.com>\n"
        "Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)\nSubject: Sample message\nMIME-Version: 1.0\n"
        'Content-type: multipart/mixed; boundary="simple boundary"\n\n'
        "This is the preamble.  It is to be ignored, though it\nis a handy place for composition agents to include an\n"
        "explanatory note to non-MIME conformant readers.\n\n--simple boundary\n\n"
        "This is implicitly typed plain US-ASCII text.\nIt does NOT end with a linebreak.\n--simple boundary\n"
        "Content-type: text/plain; charset=us-ascii\n\nThis is explicitly typed plain US-ASCII text.\n"
        "It DOES end with a linebreak.\n\n--simple boundary--\n\nThis is the epilogue.  It is also to be ignored.\n"
    )
    .replace("\n", "\r\n")
    .encode()
)


def test_rfc2046_example() -> None:
    # RFC 2046 section 5.1.1; line counts as mox computes them.
    d = RFC2046_EXAMPLE
    p = parse(d)
    a, b = p.parts
    assert (
        d[a.body_start : a.body_end]
        == b"This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak."
    )
    assert (
        d[b.body_start : b.body_end]
        == b"This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n"
    )
    assert (a.lines, b.lines) == (2, 2) and not a.has_content_type and b.params == {"charset": "us-ascii"}
    check_offsets(d, p)


def test_rfc2049_nested_example() -> None:
    d = (
        (
            "MIME-Version: 1.0\nSubject: A multipart example\nContent-Type: multipart/mixed;\n"
            "              boundary=unique-boundary-1\n\npreamble\n\n--unique-boundary-1\n\n  ... Some text appears here ...\n"
            "\n--unique-boundary-1\nContent-type: text/plain; charset=US-ASCII\n\nexplicit\n\n--unique-boundary-1\n"
            "Content-Type: multipart/parallel; boundary=unique-boundary-2\n\n--unique-boundary-2\nContent-Type: audio/basic\n"
            "Content-Transfer-Encoding: base64\n\n\n--unique-boundary-2\nContent-Type: image/jpeg\n"
            "Content-Transfer-Encoding: base64\n\n\n--unique-boundary-2--\n\n--unique-boundary-1\nContent-type: text/enriched\n\n"
            "This is <bold><italic>enriched.</italic></bold>\n\n--unique-boundary-1\nContent-Type: message/rfc822\n\n"
            "From: (mailbox in US-ASCII)\nTo: (address in US-ASCII)\nSubject: (subject in US-ASCII)\n"
            "Content-Type: Text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: Quoted-printable\n\n"
            "  ... Additional text in ISO-8859-1 goes here ...\n\n--unique-boundary-1--\n"
        )
        .replace("\n", "\r\n")
        .encode()
    )
    p = parse(d)
    assert p.all_defects() == []
    assert [q.mime_type for q in p.parts] == [
        "text/plain",
        "text/plain",
        "multipart/parallel",
        "text/enriched",
        "message/rfc822",
    ]
    assert [q.mime_type for q in p.parts[2].parts] == ["audio/basic", "image/jpeg"]
    sub = p.parts[4].message
    assert sub is not None and sub.cte == "quoted-printable" and sub.charset == "iso-8859-1"
    assert d[sub.body_start : sub.body_end] == b"  ... Additional text in ISO-8859-1 goes here ...\r\n"
    check_offsets(d, p)


@pytest.mark.parametrize(
    "ct,want",
    [
        ("text/html;;", "text/html"),  # stray separators: the type is still usable (as mox)
        ("not a content type;;", "text/plain"),  # RFC 2045 section 5.2 default
        ("multipart/mixed;;", "text/plain"),  # no boundary: body shown as text
        ("multipart/mixed; boundary=never", "text/plain"),  # boundary never found
    ],
)
def test_bad_content_types(ct: str, want: str) -> None:
    d = f"Content-Type: {ct}\r\n\r\ntest".encode()
    p = parse(d)
    assert p.mime_type == want and d[p.body_start : p.body_end] == b"test" and p.lines == 1


@pytest.mark.parametrize(
    "b",
    [
        b"",
        b"P1",
        b"P1[]",
        b"P1{}",
        b"P1[[1]]",
        b'P1[[0,0,0,"t","p",0,null,0,0,null,null,null,"",null,0,0,0,2,0]]',
        b"X1[]",
        b"P1[1,2]",
    ],
)
def test_serial_rejects_bad_data(b: bytes) -> None:
    with pytest.raises(ValueError):
        Part.from_bytes(b)
