"""DSNs: build → parse round trip (RFC 3464 and RFC 6533), real-world-shaped DSNs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.message import DSNMessage, DSNRecipientIn, make_dsn, parse, parse_dsn
from app.message.compose import Composer

CORPUS = Path(__file__).resolve().parent.parent / "data" / "messages"


def original() -> bytes:
    return Composer(
        from_=("", "sender@example.org"),
        to=[("", "rcpt@example.com")],
        subject="hello",
        text="body\n",
        message_id="orig-1@example.org",
    ).build()


def test_round_trip() -> None:
    t = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    m = DSNMessage(
        from_="postmaster@mail.example.org",
        to="sender@example.org",
        subject="Delivery Status Notification (Failure)",
        text="Delivery to the following recipient failed permanently:\n\n  rcpt@example.com\n",
        reporting_mta="mail.example.org",
        recipients=[
            DSNRecipientIn(
                "rcpt@example.com",
                "failed",
                "5.1.1",
                original_recipient="rcpt@example.com",
                remote_mta="mx.example.com",
                diagnostic_code="550 5.1.1 no such user",
                last_attempt_date=t,
            ),
            DSNRecipientIn("slow@example.com", "delayed", "4.4.1", will_retry_until=t),
        ],
        original=original(),
        envelope_id="env-1",
        arrival_date=t,
    )
    b = make_dsn(m)
    p = parse(b)
    assert p.all_defects() == []
    assert [q.mime_type for q in p.walk()] == [
        "multipart/report",
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    assert p.params["report-type"] == "delivery-status"
    info = parse_dsn(b)
    assert info is not None
    assert info.reporting_mta == "mail.example.org" and info.envelope_id == "env-1"
    assert info.original_message_id == "orig-1@example.org"
    assert b"Subject: hello" in info.original_headers and b"body" not in info.original_headers
    r1, r2 = info.recipients
    assert (r1.final_recipient, r1.action, r1.status, r1.remote_mta) == (
        "rcpt@example.com",
        "failed",
        "5.1.1",
        "mx.example.com",
    )
    assert r1.diagnostic_code == "550 5.1.1 no such user" and r1.original_recipient == "rcpt@example.com"
    assert (r2.final_recipient, r2.action, r2.status) == ("slow@example.com", "delayed", "4.4.1")
    assert "Will-Retry-Until" in {k.title() for k in r2.fields}


def test_round_trip_smtputf8() -> None:
    orig = "From: 送信者@example.org\r\nTo: 受信者@例え.jp\r\nMessage-ID: <u1@example.org>\r\nSubject: こんにちは\r\n\r\nx\r\n".encode()
    m = DSNMessage(
        from_="postmaster@example.org",
        to="送信者@example.org",
        subject="配達失敗",
        text="失敗しました\n",
        reporting_mta="mail.example.org",
        recipients=[DSNRecipientIn("受信者@例え.jp", "failed", "5.1.1")],
        original=orig,
        smtputf8=True,
    )
    b = make_dsn(m)
    p = parse(b)
    assert [q.mime_type for q in p.walk()][2:] == ["message/global-delivery-status", "message/global-headers"]
    info = parse_dsn(b)
    assert info is not None and info.recipients[0].final_recipient == "受信者@例え.jp"
    assert info.original_message_id == "u1@example.org"


def test_utf8_recipient_without_smtputf8_uses_xtext() -> None:
    m = DSNMessage(
        from_="postmaster@example.org",
        to="s@example.org",
        subject="x",
        text="x",
        reporting_mta="m.example",
        recipients=[DSNRecipientIn("jörg@example.org", "failed", "5.0.0")],
    )
    b = make_dsn(m)
    info = parse_dsn(b)
    assert info is not None and info.recipients[0].final_recipient == "jörg@example.org"


def test_postfix_dsn() -> None:
    info = parse_dsn((CORPUS / "dsn-postfix.eml").read_bytes())
    assert info is not None
    assert info.reporting_mta == "mx.example.com" and info.original_message_id == "orig-123@example.org"
    assert [(r.final_recipient, r.action, r.status) for r in info.recipients] == [
        ("nobody@example.com", "failed", "5.1.1"),
        ("later@example.com", "delayed", "4.4.1"),
    ]
    assert info.recipients[0].diagnostic_code is not None
    assert "User unknown in virtual mailbox table" in info.recipients[0].diagnostic_code


def test_utf8_dsn_corpus() -> None:
    info = parse_dsn((CORPUS / "dsn-utf8.eml").read_bytes())
    assert info is not None
    assert info.recipients[0].final_recipient == "受信者@例え.jp"
    assert info.original_message_id == "utf8-orig@example.org"


def test_not_a_dsn() -> None:
    assert parse_dsn((CORPUS / "tls-report.eml").read_bytes()) is None
    assert parse_dsn((CORPUS / "outlook.eml").read_bytes()) is None
    assert parse_dsn(b"garbage") is None


def test_utf8_original_to_non_utf8_receiver() -> None:
    # RFC 6533 section 6.3 (as mox): the receiver lacks SMTPUTF8, so no global types; the UTF-8
    # original header goes base64 in text/rfc822-headers; charset=utf-8.
    from app.message import decode_binary

    orig = "From: jörg@bücher.example\r\nMessage-ID: <u2@example.org>\r\n\r\nx\r\n".encode()
    b = make_dsn(
        DSNMessage(
            from_="postmaster@example.org",
            to="s@example.org",
            subject="x",
            text="x",
            reporting_mta="m.example",
            recipients=[DSNRecipientIn("jörg@bücher.example", "failed")],
            original=orig,
            smtputf8=True,
            remote_smtputf8=False,
        )
    )
    assert b.isascii()
    p = parse(b)
    assert [q.mime_type for q in p.parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert decode_binary(b, p.parts[2]).startswith("From: jörg@bücher.example\r\n".encode())
    info = parse_dsn(b)
    assert info is not None and info.recipients[0].final_recipient == "jörg@bücher.example"
    assert info.recipients[0].status == "5.0.0"  # made up from the action


def test_status_details_and_errors() -> None:
    import pytest

    from app.message import HeaderInjection

    def dsn(**kw: object) -> bytes:
        r = DSNRecipientIn("r@example.com", **kw)  # type: ignore[arg-type]
        return make_dsn(
            DSNMessage(
                from_="p@example.org",
                to="s@example.org",
                subject="x",
                text="x",
                reporting_mta="m.example",
                recipients=[r],
            )
        )

    b = dsn(
        action="delayed",
        status_comment="greylisted",
        final_log_id="abc123",
        remote_mta="mx.example.com (192.0.2.1)",
    )
    assert b"Status: 4.0.0 (greylisted)\r\n" in b and b"Final-Log-Id: abc123\r\n" in b
    info = parse_dsn(b)
    assert info is not None and info.recipients[0].status == "4.0.0"
    assert info.recipients[0].remote_mta == "mx.example.com (192.0.2.1)"
    with pytest.raises(ValueError):
        dsn(action="exploded")
    with pytest.raises(HeaderInjection):
        dsn(action="failed", diagnostic_code="550 x\r\nX-Injected: y")
    with pytest.raises(ValueError):
        make_dsn(
            DSNMessage(from_="p@example.org", to="s@example.org", subject="x", text="x", reporting_mta="m")
        )


def test_parse_comments_in_addresses() -> None:
    b = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example (Postfix)\r\n\r\n"
        b"Final-Recipient: RFC822; User@Example.com (the old mailbox)\r\nAction: Failed\r\n"
        b"Status: 5.1.1 (unknown user)\r\n--b--\r\n"
    )
    info = parse_dsn(b)
    assert info is not None and info.reporting_mta == "mx.example"
    r = info.recipients[0]
    assert (r.final_recipient, r.action, r.status) == ("User@Example.com", "failed", "5.1.1")
