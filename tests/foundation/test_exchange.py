"""Two complete moxpy servers (the composed server, not localserve) exchange mail in both
directions: submission at one, its queue delivers by MX lookup over SMTP to the other, which
verifies SPF, DKIM and DMARC and stores the message for IMAP; an unknown recipient comes back
as a DSN.
"""

from __future__ import annotations

import imaplib
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import localserve as ls
from app.dns import MockResolver
from app.mailauth.dkimkeys import load_private_key, txt_record
from tests.harness import LOCALHOST, RunningServer, start_server, write_config

PASSWORD = "test1234secret"


def _domains(domain: str, user: str) -> str:
    return (
        "Domains:\n"
        f"\t{domain}:\n"
        "\t\tLocalpartCatchallSeparator: +\n"
        "\t\tDKIM:\n"
        "\t\t\tSelectors:\n"
        "\t\t\t\ts1:\n"
        "\t\t\t\t\tExpiration: 72h\n"
        "\t\t\t\t\tPrivateKeyFile: dkim.pem\n"
        "\t\t\tSign:\n"
        "\t\t\t\t- s1\n"
        "Accounts:\n"
        f"\t{user}:\n"
        f"\t\tDomain: {domain}\n"
        "\t\tDestinations:\n"
        f"\t\t\t{user}@{domain}: nil\n"
        "\t\tNoFirstTimeSenderDelay: true\n"
    )


def _prepare(d: Path, domain: str, user: str) -> dict[str, int]:
    ports = write_config(d)
    ls.make_dkim_key(d / "dkim.pem")
    (d / "domains.conf").write_text(_domains(domain, user))
    static = (d / "mox.conf").read_text()
    static = static.replace("Hostname: localhost", f"Hostname: mail.{domain}")
    static = static.replace("Pedantic: true", "Pedantic: false").replace(
        "LogLevel: traceauth", "LogLevel: info"
    )
    static = static.replace("Postmaster:\n\tAccount: mox", f"Postmaster:\n\tAccount: {user}")
    (d / "mox.conf").write_text(static)
    return ports


def _zone(dirs: dict[str, Path]) -> MockResolver:
    lines = []
    for domain in dirs:
        lines += [
            f"{domain}. IN MX 10 mail.{domain}.",
            f"mail.{domain}. IN A 127.0.0.1",
            f'{domain}. IN TXT "v=spf1 ip4:127.0.0.1 -all"',
            f'_dmarc.{domain}. IN TXT "v=DMARC1; p=reject"',
        ]
    lines.append("1.0.0.127.in-addr.arpa. IN PTR mail.a.example.")
    r = MockResolver.from_zone("\n".join(lines) + "\n")
    for domain, d in dirs.items():
        r.add_txt(f"s1._domainkey.{domain}", txt_record(load_private_key((d / "dkim.pem").read_bytes())))
    return r


def _set_password(rs: RunningServer, account: str) -> None:
    from app.store.credentials import set_password

    set_password(rs.store.account(account, create=True), PASSWORD)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    da, db = tmp_path / "a", tmp_path / "b"
    pa, pb = _prepare(da, "a.example", "alice"), _prepare(db, "b.example", "bob")
    resolver = _zone({"a.example": da, "b.example": db})
    a = start_server(da, localserve=False, resolver=resolver, outgoing_smtp_port=pb["SMTP"])
    try:
        b = start_server(db, localserve=False, resolver=resolver, outgoing_smtp_port=pa["SMTP"])
    except BaseException:
        a.stop()
        raise
    a.ports, b.ports = pa, pb
    try:
        _set_password(a, "alice")
        _set_password(b, "bob")
        yield a, b
    finally:
        a.stop()
        b.stop()


def _submit(rs: RunningServer, login: str, to: str, subject: str) -> None:
    frm = login
    msg = f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhello from {frm}\r\n".encode()
    with smtplib.SMTP_SSL(
        LOCALHOST, rs.ports["Submissions"], context=rs.client_tls_context(), timeout=10
    ) as s:
        s.login(login, PASSWORD)
        assert s.sendmail(frm, [to], msg) == {}


def _wait_message(rs: RunningServer, login: str, subject: str, timeout: float = 30) -> bytes:
    end = time.time() + timeout
    while True:
        m = imaplib.IMAP4_SSL(LOCALHOST, rs.ports["IMAPS"], ssl_context=rs.client_tls_context())
        try:
            m.login(login, PASSWORD)
            m.select("INBOX")
            _, data = m.search(None, "SUBJECT", f'"{subject}"')
            nums = data[0].split()
            if nums:
                _, fetched = m.fetch(nums[0], "(BODY.PEEK[])")
                part = fetched[0]
                assert isinstance(part, tuple)
                return bytes(part[1])
        finally:
            m.logout()
        if time.time() > end:
            raise AssertionError(f"message {subject!r} not delivered to {login}")
        time.sleep(0.3)


def test_exchange_both_directions(pair: tuple[RunningServer, RunningServer]) -> None:
    a, b = pair
    _submit(a, "alice@a.example", "bob@b.example", "a to b")
    got = _wait_message(b, "bob@b.example", "a to b")
    headers = got.split(b"\r\n\r\n", 1)[0]
    assert b"dkim=pass" in headers
    assert b"spf=pass" in headers
    assert b"dmarc=pass" in headers
    _submit(b, "bob@b.example", "alice@a.example", "b to a")
    got = _wait_message(a, "alice@a.example", "b to a")
    assert b"hello from bob@b.example" in got


def test_unknown_recipient_bounces_with_dsn(pair: tuple[RunningServer, RunningServer]) -> None:
    a, _ = pair
    _submit(a, "alice@a.example", "nobody@b.example", "to nobody")
    dsn = _wait_message(a, "alice@a.example", "failed", timeout=60)
    assert b"nobody@b.example" in dsn
    assert b"message/delivery-status" in dsn
