"""Password setting in the account database: normalization, wrong passwords, no plaintext."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from app.sasl import CramMD5Client, PlainClient, ScramClient, ScramServer, Success, new_server
from app.store import credentials


def _conn(tmp_path: Path) -> apsw.Connection:
    return apsw.Connection(str(tmp_path / "acc.db"))


def test_set_and_verify(tmp_path: Path) -> None:
    conn = _conn(tmp_path)
    assert credentials.load_credentials(conn) is None
    assert not credentials.verify_password(conn, "x")
    credentials.set_password(conn, "correct horse\u212b")
    assert credentials.verify_password(conn, "correct horse\u00c5")  # OpaqueString NFC
    assert not credentials.verify_password(conn, "correct horse")
    with pytest.raises(credentials.PasswordError):
        credentials.set_password(conn, "")
    with pytest.raises(credentials.PasswordError):
        credentials.set_password(conn, "bell\x07")
    credentials.clear_password(conn)
    assert credentials.load_credentials(conn) is None


def test_no_plaintext_stored(tmp_path: Path) -> None:
    pw = "UniquePlaintextMarker42"
    conn = _conn(tmp_path)
    credentials.set_password(conn, pw)
    conn.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert pw.encode() not in raw
    assert pw.encode("utf-16-le") not in raw


def test_encode_roundtrip_and_salts_differ(tmp_path: Path) -> None:
    conn = _conn(tmp_path)
    credentials.set_password(conn, "pw1")
    a = credentials.load_credentials(conn)
    credentials.set_password(conn, "pw1")
    b = credentials.load_credentials(conn)
    assert a is not None and b is not None
    assert credentials.decode_credentials(credentials.encode_credentials(a)) == a
    assert a.scram_sha256 is not None and b.scram_sha256 is not None
    assert a.scram_sha256.salt != b.scram_sha256.salt
    with pytest.raises(ValueError):
        credentials.decode_credentials("{not json")


def test_lookup_drives_every_mechanism(tmp_path: Path) -> None:
    conn = _conn(tmp_path)
    credentials.set_password(conn, "sécret")
    lookup = credentials.make_lookup({"mjl@mox.example": "mjl"}.get, lambda acc: conn)
    assert lookup("nobody@mox.example") is None
    srv = new_server("PLAIN", lookup)
    assert srv is not None and srv.step(PlainClient("mjl@mox.example", "sécret").start()) == Success("mjl@mox.example")
    srv = new_server("CRAM-MD5", lookup)
    assert srv is not None
    ch = srv.step(None)
    assert srv.step(CramMD5Client("mjl@mox.example", "sécret").step(ch.data)) == Success("mjl@mox.example")  # type: ignore[union-attr]
    for h in ("sha1", "sha256"):
        cl = ScramClient(h, "mjl@mox.example", "sécret")  # type: ignore[arg-type]
        srv2 = ScramServer(h, lookup)  # type: ignore[arg-type]
        out = srv2.step(cl.start())
        out = srv2.step(cl.step(out.data))  # type: ignore[union-attr]
        out = srv2.step(cl.step(out.data))  # type: ignore[union-attr]
        assert out == Success("mjl@mox.example") and cl.verified
