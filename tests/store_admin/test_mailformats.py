"""mbox/maildir reading and writing with flags, on mox's interop test data."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.store.mailformats import (
    dovecot_keywords,
    maildir_filename,
    maildir_flags,
    mbox_entry,
    read_maildir,
    read_mbox,
    to_crlf,
)
from tests.conftest import INTEROP

TESTDATA = INTEROP / "mox-testdata"


def test_read_interop_mbox() -> None:
    with (TESTDATA / "importtest.mbox").open("rb") as f:
        msgs = list(read_mbox(f))
    assert len(msgs) == 2
    first, second = msgs
    assert set(first.flags) == {
        "\\Seen",
        "\\Answered",
        "\\Flagged",
        "\\Draft",
        "\\Deleted",
        "$NotJunk",
        "$Forwarded",
    }
    assert set(second.flags) == {"\\Seen"}
    assert first.received == 1642970515.0  # From line: Sun Jan 23 20:41:55 2022 UTC
    # mboxrd unquoting, CRLF, and the separator blank line dropped.
    assert first.data.endswith(b"\r\n\r\nFrom testing\r\ntest2\r\nend\r\n")
    assert b"\n" not in first.data.replace(b"\r\n", b"")
    assert b"X-Status" not in first.data and b"Content-Length: 15" in first.data
    assert second.data.endswith(b"test van c\r\n")


def test_read_interop_maildir(tmp_path: Path) -> None:
    with tarfile.open(TESTDATA / "importtest.maildir.tgz") as t:
        t.extractall(tmp_path, filter="data")
    msgs = {Path(m.origin).name: m for m in read_maildir(tmp_path / "maildir")}
    cur = msgs["1642966915.1.mox:2,RSFbcde"]
    new = msgs["1642968136.5.mox:2,Tad"]
    kw = dovecot_keywords((tmp_path / "maildir" / "dovecot-keywords").read_text())
    assert kw["a"] == "$Junk" and kw["b"] == "$Forwarded" and kw["c"] == "$NotJunk"
    assert {f.lower() for f in cur.flags} >= {"\\answered", "\\seen", "\\flagged", "$forwarded", "$notjunk"}
    assert {f.lower() for f in new.flags} >= {"\\deleted", "$junk"}
    assert "\\Seen" not in new.flags
    assert len({f.lower() for f in cur.flags}) == len(cur.flags)  # case-insensitive dedup
    assert new.received == 1642968136.0


def test_not_an_mbox() -> None:
    import pytest

    with pytest.raises(ValueError, match="not an mbox"):
        list(read_mbox(io.BytesIO(b"Subject: x\n\nbody\n")))


def test_mbox_entry_roundtrip() -> None:
    data = b"Subject: t\r\nStatus: O\r\nX-Keywords: old\r\n\r\nFrom me\r\n>From quoted\r\nlast"
    flags = ["\\Seen", "\\Answered", "$Junk", "custom"]
    entry = mbox_entry(data, flags, 1642970515.0)
    assert entry.startswith(b"From MAILER-DAEMON Sun Jan 23 20:41:55 2022\n")
    assert b"\n>From me\n>>From quoted\nlast\n\n" in entry
    assert entry.count(b"\nStatus: ") == 1 and b"X-Keywords: old" not in entry
    entry2 = mbox_entry(b"Subject: second\r\n\r\nbody\r\n", [], 0.0)
    (m1, m2) = list(read_mbox(io.BytesIO(entry + entry2)))
    assert set(m1.flags) == set(flags)
    assert m1.received == 1642970515.0
    assert m1.data.endswith(b"\r\n\r\nFrom me\r\n>From quoted\r\nlast\r\n")
    assert m2.flags == () and m2.data == b"Subject: second\r\n\r\nbody\r\n"


def test_maildir_names() -> None:
    letters = {"$junk": "a", "custom": "b"}
    name = maildir_filename(7, 1000.9, ["\\Seen", "\\Deleted", "$Forwarded", "Custom", "$Junk"], letters)
    assert name == "1000.7.moxpy:2,PSTab"
    assert set(maildir_flags(name, {"a": "$Junk", "b": "custom"})) == {
        "\\Seen", "\\Deleted", "$Forwarded", "$Junk", "custom"
    }  # fmt: skip
    assert maildir_flags("noinfo", {}) == []


def test_to_crlf() -> None:
    assert to_crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"


_line = st.one_of(
    st.sampled_from([b"", b"From x", b">From y", b">>From z", b"From", b" From", b"Status: RO", b"x"]),
    st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


@given(st.lists(_line, max_size=12), st.lists(_line, max_size=12), st.sets(st.sampled_from(
    ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Forwarded", "$Junk", "custom"])))  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_mbox_roundtrip_property(body1: list[bytes], body2: list[bytes], flags: set[str]) -> None:
    msgs = [b"Subject: a\r\n\r\n" + b"".join(ln + b"\r\n" for ln in body1),
            b"Subject: b\r\n\r\n" + b"".join(ln + b"\r\n" for ln in body2)]  # fmt: skip
    mbox = b"".join(mbox_entry(m, sorted(flags), 1000.0) for m in msgs)
    got = list(read_mbox(io.BytesIO(mbox)))
    assert [m.data for m in got] == msgs
    assert all(set(m.flags) == flags for m in got)
