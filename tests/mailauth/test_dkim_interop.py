"""DKIM against other implementations: the RFC 8463 example message (from dkimpy's test data, see
data/dkimpy/README), and signatures crossing between our code and dkimpy's own sign/verify."""

from __future__ import annotations

from pathlib import Path

import dkim as dkimpy

from app.dns import MockResolver
from app.mailauth import dkim, dkimkeys

DATA = Path(__file__).parent / "data" / "dkimpy"


def test_rfc8463_example_message() -> None:
    r = MockResolver()
    r.add_txt(
        "brisbane._domainkey.football.example.com",
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    )
    r.add_txt("test._domainkey.football.example.com", (DATA / "test.txt").read_text().strip())
    msg = (DATA / "rfc6376.signed.msg").read_bytes()
    res = dkim.verify(r, msg)
    assert [(x.status, x.selector, x.algorithm) for x in res] == [
        ("pass", "brisbane", "ed25519-sha256"),
        ("pass", "test", "rsa-sha256"),
    ]
    assert [x.status for x in dkim.verify(r, msg.replace(b"We lost the game", b"We won the game"))] == [
        "fail",
        "fail",
    ]


def test_dkimpy_signs_we_verify() -> None:
    key = (DATA / "test.private").read_bytes()
    msg = (DATA / "test.message").read_bytes()
    r = MockResolver()
    r.add_txt("test._domainkey.example.com", (DATA / "test.txt").read_text().strip())
    for canon in [(b"simple", b"simple"), (b"relaxed", b"relaxed"), (b"relaxed", b"simple")]:
        sig = dkimpy.sign(
            msg,
            b"test",
            b"example.com",
            key,
            canonicalize=canon,
            include_headers=[b"from", b"to", b"subject", b"date"],
        )
        assert [x.status for x in dkim.verify(r, sig + msg)] == ["pass"], canon


def test_we_sign_dkimpy_verifies() -> None:
    key = dkimkeys.load_private_key(dkimkeys.generate_rsa(2048))
    msg = (DATA / "test.message").read_bytes()
    record = dkimkeys.txt_record(key).encode()
    for relaxed in (True, False):
        sel = dkim.SignSelector("sel", key, header_relaxed=relaxed, body_relaxed=relaxed, expiration=3600)
        signed = dkim.sign(msg, "example.com", [sel]) + msg
        assert dkimpy.verify(signed, dnsfunc=lambda name, timeout=5: record)
