"""Session commands: EHLO/HELO (RFC 5321 section 4.1.1.1 and the extensions announced),
STARTTLS (RFC 3207), RSET, NOOP, QUIT, VRFY, EXPN and HELP, with mox's replies.
"""

from __future__ import annotations

import datetime

from app import dns
from app.listen.conn import StartTLSInjection
from app.smtp import codes as c
from app.smtp.command import Command, parse_ehlo_domain
from app.smtp.reply import SMTPError
from app.smtpserver import cmd_auth
from app.smtpserver.server import FUTURE_RELEASE_MAX, MAX_RECIPIENTS
from app.smtpserver.session import ConnectionClosed, Session


def _starttls_available(s: Session) -> bool:
    if s.tls or s.kind == "submissions":
        return False
    if s.ctx.deps.tls_context(s.conn.listener) is None:
        return False
    return s.kind != "smtp" or s.settings.starttls


async def _check_hello(s: Session, arg: str, ehlo: bool) -> str:
    if s.submission and not s.ctx.deps.pedantic:
        # Mail clients send all kinds of EHLO names, of no use for submission; as mox, they
        # are not checked (and the client's IP address stands in for them) unless pedantic.
        return arg.strip().split(" ")[0] or f"[{s.conn.remote_addr or s.conn.remote_ip}]"
    name = parse_ehlo_domain(arg)
    if not ehlo and s.kind == "smtp" and not s.ctx.deps.localserve and not name.startswith("["):
        # mox: a HELO (not EHLO) name must at least resolve.
        try:
            await s.ctx.deps.resolver.lookup_ip(name)
        except dns.DNSError as e:
            # Temporary lookup failures are not held against the client (as mox).
            if dns.is_not_found(e):
                raise SMTPError(
                    c.C550_MAILBOX_UNAVAIL,
                    c.SE_PROTO_OTHER0,
                    "your ehlo domain does not resolve to an IP address",
                )
    return name


async def ehlo(s: Session, cmd: Command) -> None:
    name = await _check_hello(s, cmd.arg, True)
    s.hello, s.ehlo = name, True
    s.reset_transaction()
    ls = s.settings
    lines = [s.hostname, "PIPELINING", f"SIZE {s.max_size}"]
    if _starttls_available(s):
        lines.append("STARTTLS")
    elif s.tls and ls.requiretls_ext:
        lines.append("REQUIRETLS")  # RFC 8689
    if s.submission:
        lines.append(" ".join(["AUTH", *cmd_auth.mechanisms(s)]).rstrip())
        until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=FUTURE_RELEASE_MAX)
        lines.append(f"FUTURERELEASE {FUTURE_RELEASE_MAX} {until.strftime('%Y-%m-%dT%H:%M:%SZ')}")  # RFC 4865
    lines += [
        "ENHANCEDSTATUSCODES",  # RFC 2034
        "8BITMIME",  # RFC 6152
        f"LIMITS RCPTMAX={MAX_RECIPIENTS}",  # RFC 9422
        "CHUNKING",  # RFC 3030
        "DSN",  # RFC 3461
        "SMTPUTF8",  # RFC 6531
    ]
    s.reply(c.C250_COMPLETED, "", *lines)


async def helo(s: Session, cmd: Command) -> None:
    name = await _check_hello(s, cmd.arg, False)
    s.hello, s.ehlo = name, False
    s.reset_transaction()
    s.reply(c.C250_COMPLETED, "", s.hostname)


async def starttls(s: Session, cmd: Command) -> None:
    if cmd.arg:
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "no parameters allowed")
    if s.tls:
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "already speaking tls")
    if s.account:
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "cannot starttls after authentication")
    ctx = s.ctx.deps.tls_context(s.conn.listener)
    if not _starttls_available(s) or ctx is None:
        raise SMTPError(c.C502_CMD_NOT_IMPL, c.SE_PROTO_CMD1, "starttls not offered")
    # RFC 3207 section 4.2 / STARTTLS injection: anything the client sent after STARTTLS
    # before the handshake is plaintext that must never be interpreted.
    injected = s.wire.buffered() > 0 or s.conn.pending_plaintext() > 0
    # Stop reading before the go-ahead: the client's TLS handshake may follow it at once, and
    # it must reach the TLS layer, not the plaintext buffer (which would look like injection).
    transport = s.conn.writer.transport
    if hasattr(transport, "pause_reading"):
        transport.pause_reading()
    s.reply(c.C220_SERVICE_READY, c.SE_OTHER0, f"go! ({s.recvid})")
    await s.flush()
    if injected:
        s.log.info("data pipelined after starttls, closing (starttls injection)")
        raise ConnectionClosed("starttls injection")
    try:
        await s.conn.starttls(ctx, s.read_timeout)
    except StartTLSInjection:
        s.log.info("data pipelined after starttls, closing (starttls injection)")
        raise ConnectionClosed("starttls injection") from None
    except Exception as e:
        s.log.debug("tls handshake failed", err=e)
        raise ConnectionClosed("tls handshake failed") from None
    s.wire.clear()
    # RFC 3207 section 4.2: forget everything learned before TLS.
    s.hello, s.ehlo = "", False
    s.reset_transaction()
    await cmd_auth.lookup_client_cert(s)
    s.log.debug("tls started")


async def rset(s: Session, cmd: Command) -> None:
    s.reset_transaction()
    s.reply(c.C250_COMPLETED, c.SE_OTHER0, "all clear")


async def noop(s: Session, cmd: Command) -> None:
    s.reply(c.C250_COMPLETED, c.SE_OTHER0, "alrighty")


async def quit(s: Session, cmd: Command) -> None:
    s.reply(c.C221_CLOSING, c.SE_OTHER0, "okay thanks bye")
    s.closing = True


async def vrfy(s: Session, cmd: Command) -> None:
    # RFC 5321 section 3.5.3: 252 when not verifying; mox never reveals users this way.
    if not cmd.arg.strip():
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "missing argument")
    raise SMTPError(c.C252_WITHOUT_VERIFY, c.SE_SEC_OTHER0, "no verify but will try delivery")


async def expn(s: Session, cmd: Command) -> None:
    if not cmd.arg.strip():
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "missing argument")
    raise SMTPError(c.C252_WITHOUT_VERIFY, c.SE_SEC_OTHER0, "no expand but will try delivery")


async def help_(s: Session, cmd: Command) -> None:
    s.reply(c.C214_HELP, c.SE_OTHER0, "see rfc 5321 (smtp)")
