"""Byte transcripts of the session commands, errors and protections against a running server."""

from __future__ import annotations

import socket
import time

from tests.harness import Transcript, run_transcript
from tests.smtpserver.server import Server


def test_greeting_and_ehlo_smtp(srv: Server) -> None:
    run_transcript(
        srv.connect("smtp"),
        """
S: 220 localhost ESMTP mox
C: EHLO client.example
S: 250-localhost
S: 250-PIPELINING
S: 250-SIZE 104857600
S: 250-STARTTLS
S: 250-ENHANCEDSTATUSCODES
S: 250-8BITMIME
S: 250-LIMITS RCPTMAX=1000
S: 250-CHUNKING
S: 250-DSN
S: 250 SMTPUTF8
C: HELO client.example
S: 250 localhost
C: NOOP
S: 250 2.0.0 alrighty
C: VRFY mox
S: 252 2.7.0 no verify but will try delivery *
C: EXPN list
S: 252 2.7.0 no expand but will try delivery *
C: HELP
S: 214 2.0.0 see rfc 5321 (smtp)
C: RSET
S: 250 2.0.0 all clear
C: QUIT
S: 221 2.0.0 okay thanks bye
""",
    )


def test_ehlo_submission_plaintext_localserve(srv: Server) -> None:
    # localserve's submission listener has NoRequireSTARTTLS: AUTH offered without TLS.
    t = run_transcript(
        srv.connect("submission"),
        """
S: 220 localhost ESMTP mox
C: EHLO client.example
S: 250-localhost
S: 250-PIPELINING
S: 250-SIZE 104857600
S: 250-STARTTLS
S: 250-AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN
S: 250-FUTURERELEASE 5184000 *
S: 250-ENHANCEDSTATUSCODES
S: 250-8BITMIME
S: 250-LIMITS RCPTMAX=1000
S: 250-CHUNKING
S: 250-DSN
S: 250 SMTPUTF8
""",
    )
    t.sock.close()


def test_submissions_ehlo_has_requiretls_and_plus(srv: Server) -> None:
    run_transcript(
        srv.connect("submissions"),
        """
S: 220 localhost ESMTP mox
C: EHLO client.example
S: 250-localhost
S: 250-PIPELINING
S: 250-SIZE 104857600
S: 250-REQUIRETLS
S: 250-AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN
S: 250-FUTURERELEASE *
S: 250-ENHANCEDSTATUSCODES
S: 250-8BITMIME
S: 250-LIMITS RCPTMAX=1000
S: 250-CHUNKING
S: 250-DSN
S: 250 SMTPUTF8
""",
    )


def test_unknown_first_command_disconnects(srv: Server) -> None:
    t = run_transcript(
        srv.connect(),
        """
S: 220 *
C: GET / HTTP/1.0
S: 500 5.5.2 please try again speaking smtp
""",
    )
    assert t.closed()


def test_unknown_later_command_and_sequence_errors(srv: Server) -> None:
    run_transcript(
        srv.connect(),
        """
S: 220 *
C: NOOP
S: 250 2.0.0 alrighty
C: FOO
S: 500 5.5.1 unknown command *
C: MAIL FROM:<a@remote.example>
S: 503 5.5.1 no ehlo/helo yet *
C: EHLO x.example
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 SMTPUTF8
C: RCPT TO:<mox@localhost>
S: 503 5.5.1 missing MAIL FROM *
C: DATA
S: 503 5.5.1 missing MAIL FROM *
C: MAIL FROM:<a@remote.example>
S: 250 2.1.0 looking good
C: MAIL FROM:<a@remote.example>
S: 503 5.5.1 already have MAIL *
C: DATA
S: 503 5.5.1 missing RCPT TO *
C: AUTH PLAIN
S: 503 5.5.1 authentication not allowed during mail transaction *
C: QUIT
S: 221 2.0.0 okay thanks bye
""",
    )


def _ehlo(name: str = "x.example") -> str:
    return f"C: EHLO {name}\n" + "S: 250-*\n" * 9 + "S: 250 SMTPUTF8\n"


def test_syntax_errors(srv: Server) -> None:
    run_transcript(
        srv.connect(),
        "S: 220 *\n"
        + _ehlo()
        + """
C: MAIL FROM:a@remote.example
S: 501 5.5.2 path must start with < *
C: MAIL FROM:<a@remote.example> FOO=BAR
S: 555 5.3.3 unrecognized parameter "FOO" *
C: MAIL FROM:<a@remote.example> SIZE=1 SIZE=2
S: 501 5.5.4 duplicate param "SIZE" *
C: MAIL FROM:<a@remote.example> SIZE=999999999999
S: 552 5.3.4 message too large *
C: MAIL FROM:<a@remote.example> REQUIRETLS
S: 530 5.7.10 requiretls only allowed on tls-encrypted connections *
C: MAIL FROM:<a@remote.example> HOLDFOR=10
S: 555 5.3.3 unrecognized parameter "HOLDFOR" *
C: MAIL FROM:<ö@remote.example>
S: 553 5.6.7 non-ascii localpart without smtputf8 *
C: MAIL FROM:<a@remote.example> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=abc+2Bdef
S: 250 2.1.0 looking good
C: RCPT TO:<mox@localhost> NOTIFY=NEVER,SUCCESS
S: 501 5.5.2 NOTIFY=NEVER cannot be combined *
C: RCPT TO:<mox@localhost> FOO=1
S: 555 5.3.3 unrecognized parameter "FOO" *
C: RCPT TO:<mox@localhost> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;mox+2B1@localhost
S: 250 2.1.0 now on the list
C: QUIT
S: 221 *
""",
    )


def test_bare_lf_command_and_control_chars(srv: Server) -> None:
    t = run_transcript(srv.connect(), "S: 220 *\n")
    t.send(b"NOOP\n")
    t.expect(b"500 5.5.2 invalid line ending, only crlf allowed *")
    t.send(b"NOOP\rx\r\n")
    t.expect(b"500 5.5.2 control characters in command line *")
    t.send(b"NOOP\r\n")
    t.expect(b"250 2.0.0 alrighty")


def test_line_too_long(srv: Server) -> None:
    t = run_transcript(srv.connect(), "S: 220 *\n")
    t.send(b"NOOP " + b"a" * 5000 + b"\r\n")
    t.expect(b"500 5.5.0 line too long, smtp max is 512, we reached 2048")
    assert t.closed()


def test_pipelining_one_flush(srv: Server) -> None:
    sock = srv.connect()
    t = Transcript(sock)
    t.expect(b"220 *")
    t.send(b"EHLO x.example\r\nNOOP\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<mox@localhost>\r\nRSET\r\n")
    time.sleep(0.3)
    data = b""
    sock.settimeout(2)
    while data.count(b"\r\n") < 14:
        data += sock.recv(65536)
    # Everything arrived at once and in order.
    lines = data.split(b"\r\n")
    assert lines[10:14] == [
        b"250 2.0.0 alrighty",
        b"250 2.1.0 looking good",
        b"250 2.1.0 now on the list",
        b"250 2.0.0 all clear",
    ]


SMUGGLES = [
    b"\r\n.\nMAIL FROM:<x@remote.example>\r\n",  # \r\n.\n
    b"\n.\nMAIL FROM:<x@remote.example>\r\n",  # \n.\n
    b"\n.\r\nMAIL FROM:<x@remote.example>\r\n",  # \n.\r\n
    b"\rfoo\r\n",  # bare CR
]


def test_smuggling_rejected_and_in_sync(srv: Server) -> None:
    for seq in SMUGGLES:
        t = run_transcript(
            srv.connect(),
            "S: 220 *\n"
            + _ehlo()
            + """
C: MAIL FROM:<a@remote.example>
S: 250 2.1.0 looking good
C: RCPT TO:<mox@localhost>
S: 250 2.1.0 now on the list
C: DATA
S: 354 see you at the bare dot
""",
        )
        t.send(
            b"Subject: test\r\n\r\nbody"
            + seq
            + b"RCPT TO:<mox@localhost>\r\nDATA\r\nsmuggled\r\n.\r\nNOOP\r\n"
        )
        t.expect(b"500 5.5.2 invalid bare \\r or \\n, may be smtp smuggling *")
        t.expect(b"250 2.0.0 alrighty")  # the NOOP: nothing in between was taken as a command
        t.send(b"QUIT\r\n")
        t.expect(b"221 *")
    assert srv.queue.list_msgs.__self__ is not None


def test_starttls_injection_closes(srv: Server) -> None:
    t = run_transcript(srv.connect(), "S: 220 *\n" + _ehlo())
    t.send(b"STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\n")
    t.expect(b"220 2.0.0 go! *")
    assert t.closed()


def test_starttls_then_ehlo(srv: Server) -> None:
    sock = srv.connect()
    t = run_transcript(sock, "S: 220 *\n" + _ehlo() + "C: STARTTLS\nS: 220 2.0.0 go! *\n")
    tls = srv.client_tls().wrap_socket(sock, server_hostname="localhost")
    run_transcript(
        tls,
        """
C: MAIL FROM:<a@remote.example>
S: 503 5.5.1 no ehlo/helo yet *
C: EHLO x.example
S: 250-localhost
S: 250-PIPELINING
S: 250-SIZE 104857600
S: 250-REQUIRETLS
S: 250-ENHANCEDSTATUSCODES
S: 250-8BITMIME
S: 250-LIMITS RCPTMAX=1000
S: 250-CHUNKING
S: 250-DSN
S: 250 SMTPUTF8
C: STARTTLS
S: 503 5.5.1 already speaking tls *
C: MAIL FROM:<a@remote.example> REQUIRETLS
S: 250 2.1.0 looking good
""",
    )
    del t


def test_too_many_bad_transactions(mx: Server) -> None:
    t = run_transcript(mx.connect(), "S: 220 *\n" + _ehlo())
    for _ in range(11):
        t.send(b"MAIL FROM:<a@arecord.example>\r\nRCPT TO:<nobody@localhost>\r\nDATA\r\n")
        t.expect(b"250 2.1.0 looking good")
        t.expect(b"250 2.1.0 now on the list")
        t.expect(b"354 see you at the bare dot")
        t.send(b"Subject: x\r\n\r\nx\r\n.\r\n")
        t.expect(b"550 5.1.1 no such user(s) *")
    t.send(b"MAIL FROM:<a@arecord.example>\r\n")
    t.expect(b"550 5.1.0 too many failures")
    assert t.closed()


def test_mail_from_domain_checks(mx: Server) -> None:
    run_transcript(
        mx.connect(),
        "S: 220 *\n"
        + _ehlo()
        + """
C: MAIL FROM:<a@nullmx.example>
S: 550 5.7.27 mailfrom domain not configured for mail *
C: MAIL FROM:<a@nonexistent.example>
S: 550 5.7.27 mailfrom domain not configured for mail *
C: MAIL FROM:<a@[127.0.0.1]>
S: 550 5.7.0 domain name required *
C: MAIL FROM:<a@arecord.example>
S: 250 2.1.0 looking good
""",
    )


def test_helo_must_resolve_non_localserve(tmp_path):  # type: ignore[no-untyped-def]
    from tests.smtpserver.server import start

    s = start(tmp_path / "m", localserve=False)
    try:
        run_transcript(
            s.connect(),
            """
S: 220 *
C: HELO unknown.example
S: 550 5.5.0 your ehlo domain does not resolve to an IP address *
C: HELO mail.example.org
S: 250 localhost
""",
        )
    finally:
        s.stop()


def test_connection_limit(tmp_path):  # type: ignore[no-untyped-def]
    from app.smtpserver.limits import ConcurrencyLimit, Limits
    from tests.smtpserver.server import start

    s = start(tmp_path / "m", limits=Limits(concurrent=ConcurrencyLimit((2, 90, 270))))
    try:
        a, b = s.connect(), s.connect()
        Transcript(a).expect(b"220 *")
        Transcript(b).expect(b"220 *")
        c = Transcript(s.connect())
        c.expect(b"421 4.7.0 too many open connections from your ip or network")
        a.close()
        time.sleep(0.3)
        Transcript(s.connect()).expect(b"220 *")
    finally:
        s.stop()


def _unused(_s: socket.socket) -> None:
    pass


def test_max_recipients(srv: Server) -> None:
    t = run_transcript(srv.connect(), "S: 220 *\n" + _ehlo() + "C: MAIL FROM:<a@remote.example>\nS: 250 *\n")
    t.send(b"".join(b"RCPT TO:<r%d@localhost>\r\n" % i for i in range(1001)))
    for _ in range(1000):
        t.expect(b"250 2.1.0 now on the list")
    t.expect(b"452 4.5.3 max of 1000 recipients reached *")


def test_bad_ehlo(srv: Server) -> None:
    run_transcript(
        srv.connect(),
        """
S: 220 *
C: EHLO
S: 501 5.5.2 missing domain *
C: EHLO bad..name
S: 501 5.5.2 invalid domain *
C: HELO [1.2.3.4]
S: 250 localhost
""",
    )


def test_size_enforced_while_reading(tmp_path):  # type: ignore[no-untyped-def]
    from tests.smtpserver.server import start

    s = start(
        tmp_path / "m",
        static_edit=lambda t: t.replace("\t\tSMTP:\n", "\t\tSMTPMaxMessageSize: 1000\n\t\tSMTP:\n", 1),
    )
    try:
        big = b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n"
        t = run_transcript(
            s.connect(),
            """
S: 220 *
C: EHLO x.example
S: 250-localhost
S: 250-PIPELINING
S: 250-SIZE 1000
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 SMTPUTF8
C: MAIL FROM:<a@remote.example> SIZE=1001
S: 552 5.2.3 message too large *
C: MAIL FROM:<a@remote.example>
S: 250 *
C: RCPT TO:<mox@localhost>
S: 250 *
C: DATA
S: 354 see you at the bare dot
""",
        )
        t.send(big * 100 + b".\r\nNOOP\r\n")
        t.expect(b"552 5.3.4 message too large *")
        t.expect(b"250 2.0.0 alrighty")
        t.send(
            b"MAIL FROM:<a@remote.example>\r\nRCPT TO:<mox@localhost>\r\nBDAT 2000 LAST\r\n"
            + b"y" * 2000
            + b"NOOP\r\n"
        )
        t.expect(b"250 *")
        t.expect(b"250 *")
        t.expect(b"552 5.3.4 message too large *")
        t.expect(b"250 2.0.0 alrighty")
    finally:
        s.stop()
