"""domains.conf reload on change (good edits apply, bad edits are refused and logged with
file:line) and atomic write-back through update_dynamic."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import mlog
from app.config import ConfigError, Dynamic, edit, load, parse_dynamic_text
from tests.config.conftest import edit_file


@pytest.fixture
def logbuf() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    old = mlog._state
    mlog.configure("info", out=buf)
    try:
        yield buf
    finally:
        mlog._state = old


def _touch_later(path: Path) -> None:
    """Make sure the file's mtime differs from before even on coarse-grained file systems."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_unchanged_file_is_not_reloaded(confdir: Path) -> None:
    cfg = load(confdir / "mox.conf")
    assert cfg.reload_if_changed() is False


def test_good_edit_takes_effect(confdir: Path, logbuf: io.StringIO) -> None:
    cfg = load(confdir / "mox.conf")
    before = cfg.dynamic
    assert cfg.lookup_address("new", "localhost") is None
    edit_file(confdir / "domains.conf", "mox@localhost: nil", "mox@localhost: nil\n\t\t\tnew@localhost: nil")
    _touch_later(confdir / "domains.conf")
    assert cfg.reload_if_changed() is True
    assert cfg.dynamic is not before
    m = cfg.lookup_address("new", "localhost")
    assert m is not None and m.account == "mox"
    assert "domains.conf reloaded" in logbuf.getvalue()
    assert cfg.reload_if_changed() is False


def test_bad_edit_is_refused_and_old_config_stays(confdir: Path, logbuf: io.StringIO) -> None:
    cfg = load(confdir / "mox.conf")
    before = cfg.dynamic
    edit_file(confdir / "domains.conf", "NoFirstTimeSenderDelay: true", "NoFirstTimeSenderDelay: sure")
    _touch_later(confdir / "domains.conf")
    assert cfg.reload_if_changed() is False
    assert cfg.dynamic is before
    assert cfg.lookup_address("mox", "localhost") is not None
    log = logbuf.getvalue()
    assert "l=error" in log and "change refused" in log
    assert f"{confdir / 'domains.conf'}:" in log and "expected true or false" in log
    # Logged once, not at every check.
    assert cfg.reload_if_changed() is False
    assert logbuf.getvalue().count("change refused") == 1
    # Fixing the file applies it.
    edit_file(confdir / "domains.conf", "NoFirstTimeSenderDelay: sure", "NoFirstTimeSenderDelay: false")
    _touch_later(confdir / "domains.conf")
    assert cfg.reload_if_changed() is True
    acc = cfg.account("mox")
    assert acc is not None and acc.NoFirstTimeSenderDelay is False


def test_semantically_bad_edit_is_refused(confdir: Path, logbuf: io.StringIO) -> None:
    cfg = load(confdir / "mox.conf")
    edit_file(confdir / "domains.conf", "mox@localhost: nil", "mox@elsewhere.example: nil")
    _touch_later(confdir / "domains.conf")
    assert cfg.reload_if_changed() is False
    assert cfg.lookup_address("mox", "localhost") is not None
    assert "not configured in Domains" in logbuf.getvalue()


def test_update_dynamic_writes_atomically(confdir: Path) -> None:
    cfg = load(confdir / "mox.conf")
    os.chmod(confdir / "domains.conf", 0o640)
    cfg.update_dynamic(lambda d: edit.add_address(d, "second@localhost", "mox"))
    m = cfg.lookup_address("second", "localhost")
    assert m is not None and m.account == "mox"
    text = (confdir / "domains.conf").read_text()
    # The file is complete and is what is in force.
    assert parse_dynamic_text(text) == cfg.dynamic
    assert "second@localhost: nil" in text
    assert text.endswith("\n")
    # No temp files left, permissions kept.
    assert sorted(p.name for p in confdir.iterdir() if p.name.startswith(".")) == []
    assert (confdir / "domains.conf").stat().st_mode & 0o777 == 0o640
    # Our own write is not seen as an outside change.
    assert cfg.reload_if_changed() is False
    # A fresh load sees the same.
    assert load(confdir / "mox.conf").dynamic == cfg.dynamic


def test_update_dynamic_refuses_invalid_and_keeps_file(confdir: Path) -> None:
    cfg = load(confdir / "mox.conf")
    before_text = (confdir / "domains.conf").read_text()
    before = cfg.dynamic

    def breaks(d: Dynamic) -> Dynamic:
        d.Accounts["mox"].Domain = "nowhere.example"
        return d

    with pytest.raises(ConfigError, match="not configured"):
        cfg.update_dynamic(breaks)
    assert (confdir / "domains.conf").read_text() == before_text
    assert cfg.dynamic is before
    assert cfg.dynamic.Accounts["mox"].Domain == ""
    assert [p.name for p in confdir.iterdir() if p.name.endswith(".tmp")] == []


def test_update_with_unwritable_value_is_a_config_error(confdir: Path) -> None:
    cfg = load(confdir / "mox.conf")
    before = (confdir / "domains.conf").read_text()

    def newline(d: Dynamic) -> Dynamic:
        d.Accounts["mox"].FullName = "two\nlines"
        return d

    with pytest.raises(ConfigError, match="newline"):
        cfg.update_dynamic(newline)
    assert (confdir / "domains.conf").read_text() == before


def test_update_does_not_mutate_current_snapshot(confdir: Path) -> None:
    cfg = load(confdir / "mox.conf")
    before = cfg.dynamic

    def mutate(d: Dynamic) -> Dynamic:
        d.Accounts["mox"].FullName = "Mox User"
        return d

    cfg.update_dynamic(mutate)
    assert before.Accounts["mox"].FullName == ""
    acc = cfg.account("mox")
    assert acc is not None and acc.FullName == "Mox User"


def test_readers_during_updates_see_whole_snapshots(confdir: Path) -> None:
    cfg = load(confdir / "mox.conf")
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            d = cfg.dynamic
            n = len(d.Accounts["mox"].Destinations)
            if cfg.lookup_address("mox", "localhost") is None or n < 1:
                bad.append("lost mox")

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(15):
            cfg.update_dynamic(lambda d, i=i: edit.add_address(d, f"u{i}@localhost", "mox"))
    finally:
        stop.set()
        t.join()
    assert bad == []
    assert len(cfg.dynamic.Accounts["mox"].Destinations) == 16


def test_update_keeps_hand_edit_made_since_last_reload(confdir: Path) -> None:
    cfg = load(confdir / "mox.conf")
    edit_file(confdir / "domains.conf", "mox@localhost: nil", "mox@localhost: nil\n\t\t\thand@localhost: nil")
    _touch_later(confdir / "domains.conf")
    cfg.update_dynamic(lambda d: edit.add_address(d, "tool@localhost", "mox"))
    dests = set(load(confdir / "mox.conf").dynamic.Accounts["mox"].Destinations)
    assert {"hand@localhost", "tool@localhost"} <= dests
