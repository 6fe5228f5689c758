"""logfmt logging with per-package levels."""

from __future__ import annotations

import io

from app import mlog


def test_logfmt_quoting_and_cid() -> None:
    out = io.StringIO()
    mlog.configure("debug", {"noisy": "error"}, out=out)
    try:
        log = mlog.get("smtpserver").with_(cid=0x1A2B)
        log.info("hello world", remote="127.0.0.1", n=3, q='a "b"\nc', none=None)
        mlog.get("noisy").info("hidden")
        mlog.get("noisy").error("shown", err=ValueError("bad thing"))
        mlog.get("x").trace("too detailed")
    finally:
        mlog.configure("info", out=io.StringIO())
    lines = out.getvalue().splitlines()
    assert lines[0] == 'l=info m="hello world" pkg=smtpserver cid=1a2b remote=127.0.0.1 n=3 q="a \\"b\\"\\nc"'
    assert lines[1] == 'l=error m=shown pkg=noisy err="ValueError: bad thing"'
    assert len(lines) == 2


def test_levels() -> None:
    assert mlog.parse_level("TraceAuth") == mlog.TRACEAUTH
    for name in ("error", "info", "debug", "trace", "traceauth", "tracedata"):
        assert mlog.parse_level(name) == mlog.LEVELS[name]


def test_cids_unique() -> None:
    ids = {mlog.new_cid() for _ in range(1000)}
    assert len(ids) == 1000


def test_undecodable_text_stays_writable() -> None:
    out = io.StringIO()
    mlog.configure("info", out=out)
    try:
        bad = b"caf\xe9".decode("utf-8", "surrogateescape")
        mlog.get("x").info(bad, line=bad)
    finally:
        mlog.configure("info", out=io.StringIO())
    line = out.getvalue()
    line.encode("utf-8")  # must not raise
    assert "\\udce9" in line
