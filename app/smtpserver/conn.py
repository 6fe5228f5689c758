"""The read loop of one SMTP connection: connection limits, greeting, reading commands,
dispatching them, turning ``SMTPError`` into replies in one place, flushing replies once no
further pipelined command is buffered (RFC 2920), and answering unexpected faults with a
generic temporary error (never exception text) while logging them with the connection id.
"""

from __future__ import annotations

from app.listen.conn import Conn
from app.smtp import codes as c
from app.smtp.command import parse_command
from app.smtp.reply import SMTPError
from app.smtp.wire import Line, LineTooLong, ServerWire
from app.smtpserver import cmd_auth
from app.smtpserver.dispatch import KNOWN, handler_for
from app.smtpserver.server import MAX_BAD_TRANSACTIONS, MAX_LINE, ServerContext
from app.smtpserver.session import ConnectionClosed, Kind, Session

_TXN_COMMANDS = frozenset({"DATA", "BDAT"})


def new_session(ctx: ServerContext, conn: Conn, kind: Kind) -> Session:
    ls = ctx.listener(conn.listener)
    log = ctx.log.with_(cid=conn.cid, kind=kind)
    return Session(
        ctx=ctx,
        conn=conn,
        kind=kind,
        log=log,
        wire=ServerWire(MAX_LINE),
        settings=ls,
        hostname=ls.hostname,
        max_size=ls.max_size,
        read_timeout=ctx.deps.read_timeout,
        recvid=ctx.recvid.encode(conn.cid),
    )


async def serve(ctx: ServerContext, conn: Conn, kind: Kind) -> None:
    """Serve one connection until it ends. Never raises."""
    s = new_session(ctx, conn, kind)
    addr = conn.remote_addr
    acquired = False
    s.log.debug(
        "new connection", remote=f"{conn.remote_ip}:{conn.remote_port}", listener=conn.listener, tls=conn.tls
    )
    try:
        if addr is not None:
            if not ctx.limits.connection_rate.add(addr):
                s.log.info("connection rate limit reached", remote=conn.remote_ip)
                s.reply(
                    c.C421_SERVICE_UNAVAIL,
                    c.SE_SEC_OTHER0,
                    "connection rate from your ip or network too high, slow down please",
                )
                await s.flush()
                return
            acquired = ctx.limits.concurrent.acquire(addr)
            if not acquired:
                s.log.info("concurrent connection limit reached", remote=conn.remote_ip)
                s.reply(
                    c.C421_SERVICE_UNAVAIL,
                    c.SE_SEC_OTHER0,
                    "too many open connections from your ip or network",
                )
                await s.flush()
                return
            if kind != "smtp" and not ctx.limits.auth.allowed(addr):
                s.reply(c.C421_SERVICE_UNAVAIL, c.SE_SEC_OTHER0, "too many auth failures")
                await s.flush()
                return
        if conn.tls:
            await cmd_auth.lookup_client_cert(s)
        s.reply(c.C220_SERVICE_READY, "", f"{s.hostname} ESMTP mox")
        await _loop(s)
        await s.flush()
    except ConnectionClosed as e:
        s.log.debug("connection closed", reason=str(e))
    except Exception as e:
        s.log.exception("unexpected error in smtp connection", e)
        try:
            s.out.clear()
            s.reply(c.C421_SERVICE_UNAVAIL, c.SE_OTHER0, "internal error, try again later")
            await s.flush()
        except Exception:
            pass
    finally:
        if acquired and addr is not None:
            ctx.limits.concurrent.release(addr)


async def _loop(s: Session) -> None:
    while not s.closing:
        if not s.wire.has_line():
            await s.flush()
        ev = await s.next_event()
        if isinstance(ev, LineTooLong):
            s.reply(
                c.C500_BAD_SYNTAX, c.SE_PROTO_OTHER0, f"line too long, smtp max is 512, we reached {MAX_LINE}"
            )
            return
        if not isinstance(ev, Line):
            continue  # stray data events cannot happen in command mode
        await _command(s, ev)


def _trace_line(s: Session, text: bytes) -> None:
    if not s.log.enabled(3):
        return
    shown = text
    if text[:5].upper() == b"AUTH " and b" " in text[5:]:
        shown = text[: 5 + text[5:].index(b" ")] + b" ***"
    s.log.trace("read", line=shown)


async def _command(s: Session, ev: Line) -> None:
    _trace_line(s, ev.text)
    verb = ""
    try:
        if not ev.crlf:
            # RFC 5321 section 2.3.8: lines end with CRLF; a bare LF is not a line ending.
            raise SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_SYNTAX2, "invalid line ending, only crlf allowed")
        cmd = parse_command(ev.text)
        verb = cmd.verb
        if verb not in KNOWN and s.ncommands == 0:
            # mox: a client that does not speak SMTP at all is disconnected right away.
            s.reply(c.C500_BAD_SYNTAX, c.SE_PROTO_SYNTAX2, "please try again speaking smtp")
            s.closing = True
            return
        if verb == "MAIL" and s.bad_txns > MAX_BAD_TRANSACTIONS and s.good_txns == 0:
            # Probably guessing user names; mox gives up on such a client.
            s.log.info("too many failed transactions, closing")
            s.reply(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_OTHER0, "too many failures")
            s.closing = True
            return
        handler = handler_for(s, cmd)
        s.ncommands += 1
        await handler(s, cmd)
    except SMTPError as e:
        s.ncommands += 1
        s.reply_error(e)
        if e.close:
            s.closing = True
            return
        if verb in _TXN_COMMANDS and e.code >= 400:
            s.bad_txns += 1
