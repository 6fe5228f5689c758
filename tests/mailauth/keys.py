"""Shared DKIM keys for the tests (generated once per process) and helpers to publish them."""

from __future__ import annotations

import functools

from app.dns import MockResolver
from app.mailauth import dkimkeys


@functools.cache
def rsa_key() -> dkimkeys.PrivateKey:
    return dkimkeys.load_private_key(dkimkeys.generate_rsa(2048))


@functools.cache
def ed_key() -> dkimkeys.PrivateKey:
    return dkimkeys.load_private_key(dkimkeys.generate_ed25519())


def txt_rdata(text: str) -> str:
    """A TXT rdata in presentation format, split in 255-byte strings."""
    return " ".join('"' + text[i : i + 255] + '"' for i in range(0, len(text), 255))


def publish(r: MockResolver, selector: str, domain: str, record: str) -> None:
    r.add(f"{selector}._domainkey.{domain}", "TXT", txt_rdata(record))


MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.com\r\n"
    b"Subject: test message\r\n"
    b"Date: Sun, 22 Nov 2026 05:00:00 +0000\r\n"
    b"Message-Id: <1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hello Bob,\r\n\r\nthis is a test.\r\n"
)
