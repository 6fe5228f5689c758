"""Password setting in the account database: normalization, wrong passwords, no plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sasl import Challenge, CramMD5Client, PlainClient, ScramClient, ScramServer, Success, new_server
from app.store import credentials
from app.store.account import Account


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    acc = Account("mjl", tmp_path / "mjl.db", create=True)
    yield acc
    acc.close()


def test_set_and_verify(account: Account) -> None:
    assert credentials.load_credentials(account) is None
    assert not credentials.verify_password(account, "x")
    credentials.set_password(account, "correct horse\u212b")
    assert credentials.verify_password(account, "correct horse\u00c5")  # OpaqueString NFC
    assert not credentials.verify_password(account, "correct horse")
    with pytest.raises(credentials.PasswordError):
        credentials.set_password(account, "")
    with pytest.raises(credentials.PasswordError):
        credentials.set_password(account, "bell\x07")
    assert credentials.verify_password(account, "correct horse\u00c5")  # unchanged by the refusals
    credentials.clear_password(account)
    assert credentials.load_credentials(account) is None


def test_no_plaintext_stored(tmp_path: Path) -> None:
    pw = "UniquePlaintextMarker42"
    acc = Account("mjl", tmp_path / "mjl.db", create=True)
    credentials.set_password(acc, pw)
    acc.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert raw and pw.encode() not in raw
    assert pw.encode("utf-16-le") not in raw


def test_encode_roundtrip_and_salts_differ(account: Account) -> None:
    credentials.set_password(account, "pw1")
    a = credentials.load_credentials(account)
    credentials.set_password(account, "pw1")
    b = credentials.load_credentials(account)
    assert a is not None and b is not None
    assert credentials.decode_credentials(credentials.encode_credentials(a)) == a
    assert a.scram_sha256 is not None and b.scram_sha256 is not None
    assert a.scram_sha256.salt != b.scram_sha256.salt
    with pytest.raises(ValueError):
        credentials.decode_credentials("{not json")


def test_lookup_drives_every_mechanism(account: Account) -> None:
    credentials.set_password(account, "sécret")
    lookup = credentials.make_lookup({"mjl@mox.example": "mjl"}.get, lambda name: account)
    assert lookup("nobody@mox.example") is None
    srv = new_server("PLAIN", lookup)
    assert srv is not None and srv.step(PlainClient("mjl@mox.example", "sécret").start()) == Success(
        "mjl@mox.example"
    )
    srv = new_server("CRAM-MD5", lookup)
    assert srv is not None
    ch = srv.step(None)
    assert isinstance(ch, Challenge)
    assert srv.step(CramMD5Client("mjl@mox.example", "sécret").step(ch.data)) == Success("mjl@mox.example")
    for h in ("sha1", "sha256"):
        cl = ScramClient(h, "mjl@mox.example", "sécret")  # type: ignore[arg-type]
        srv2 = ScramServer(h, lookup)  # type: ignore[arg-type]
        out = srv2.step(cl.start())
        assert isinstance(out, Challenge)
        out = srv2.step(cl.step(out.data))
        assert isinstance(out, Challenge)
        out = srv2.step(cl.step(out.data))
        assert out == Success("mjl@mox.example") and cl.verified


def test_corrupt_value_is_no_credentials(account: Account) -> None:
    account.set_setting(credentials.SETTING_KEY, "{broken")
    lookup = credentials.make_lookup({"mjl@mox.example": "mjl"}.get, lambda name: account)
    assert lookup("mjl@mox.example") is None
