"""The read loop of one IMAP connection: greeting, reading commands with the wire limits,
continuation requests for synchronizing literals, dispatch, and turning NO/BAD/BYE and
unexpected failures into responses in one place (RFC 9051 sections 2.2, 7.1).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from app import mlog
from app.imap import Command, CommandReader, ContinuationNeeded, Fatal, Parser, TooBig
from app.imap.parser import ParseError
from app.imapserver import capabilities, changes, context
from app.imapserver.deps import IMAPDeps
from app.imapserver.dispatch import lookup
from app.imapserver.errors import Bad, Bye, IMAPError, No
from app.imapserver.session import ConnectionClosed, Session, State
from app.listen.conn import Conn

log = mlog.get("imapserver")

# Before login a line may still carry a long ID command (imaptest sends ~32 KB); after login
# long UID sets (QRESYNC, SEARCH results fed back) need more.
MAX_LINE_NOTAUTH = 40 * 1024
MAX_LINE = 256 * 1024


# Commands that take message sequence numbers, refused after ENABLE UIDONLY (RFC 9586 3.2).
SEQUENCE_COMMANDS = frozenset({"FETCH", "STORE", "COPY", "MOVE", "SEARCH", "SORT", "THREAD", "REPLACE"})


def new_session(conn: Conn, deps: IMAPDeps) -> Session:
    return Session(
        conn=conn,
        deps=deps,
        log=log.with_(cid=f"{conn.cid:x}"),
        reader=CommandReader(max_line=MAX_LINE_NOTAUTH, max_message=deps.append_limit, authenticated=False),
    )


def capability_list(s: Session) -> list[str]:
    authed = s.state in (State.AUTH, State.SELECTED)
    return capabilities.advertised(
        tls=s.conn.tls,
        tls_available=s.deps.tls_context(s.conn.listener) is not None,
        require_tls=require_tls(s),
        authenticated=authed,
        client_cert=bool(s.client_cert_account),
        append_limit=s.deps.append_limit,
        disabled=s.disabled_caps if authed else (),
        # -PLUS needs the server certificate for tls-server-end-point channel binding.
        plus_mechanisms=s.conn.tls and s.deps.server_cert_der(s.conn.listener) is not None,
    )


def require_tls(s: Session) -> bool:
    """Whether plaintext authentication must wait for TLS (unless NoRequireSTARTTLS)."""
    if s.deps.require_starttls is not None:
        return s.deps.require_starttls
    cfg = s.deps.config
    try:
        lst = cfg.static.Listeners[s.conn.listener]
        return not bool(lst.IMAP.NoRequireSTARTTLS)
    except (AttributeError, KeyError, TypeError):
        return True


async def serve(s: Session) -> None:
    """Serve the connection until LOGOUT, BYE or the peer leaves; never raises."""
    s.log.debug("new connection", remote=f"{s.conn.remote_ip}:{s.conn.remote_port}", tls=s.conn.tls)
    try:
        try:
            greet(s)
            await loop(s)
        except Bye as e:
            s.untagged(f"BYE {e.text}")
        except ConnectionClosed:
            return
        except Exception as e:  # a server fault: log it, tell the client nothing specific
            s.log.exception("unhandled error", e)
            s.untagged("BYE internal server error")
        try:
            await s.flush()
        except ConnectionClosed:
            pass
    finally:
        changes.unsubscribe(s)
        await s.conn.close()
        s.log.debug("connection closed")


def greet(s: Session) -> None:
    caps = " ".join(capability_list(s))
    if s.preauth:
        s.untagged(f"PREAUTH [CAPABILITY {caps}] moxpy imap ready, logged in as {s.username}")
    else:
        s.untagged(f"OK [CAPABILITY {caps}] moxpy imap")


async def loop(s: Session) -> None:
    while s.state is not State.LOGOUT:
        ev = s.reader.next_event()
        if ev is None:
            timeout = s.deps.idle_timeout if s.state is not State.NOTAUTH else s.deps.preauth_timeout
            if s.notify is not None and not s.reader.in_command():
                # NOTIFY: report changes as they happen, also between commands (RFC 5465).
                if not await _wait_input_or_changes(s, timeout):
                    raise ConnectionClosed("eof")
                continue
            if not await s.read_more(timeout):
                if s.reader.in_command() or s.reader.pending():
                    s.log.debug("connection ended inside a command")
                raise ConnectionClosed("eof")
            continue
        if isinstance(ev, ContinuationNeeded):
            s.send(b"+ ready for literal data")
            await s.flush()
        elif isinstance(ev, TooBig):
            s.send(No(ev.message, "TOOBIG").line(ev.tag))
        elif isinstance(ev, Fatal):
            raise Bye(ev.message)
        else:
            await execute(s, ev)


async def _wait_input_or_changes(s: Session, timeout: float) -> bool:
    """Wait for client input or account changes; deliver changes; False at end of stream."""
    await changes.deliver(s, "NOTIFY")
    await s.flush()
    read_task = asyncio.ensure_future(s.conn.reader.read(65536))
    wake_task = asyncio.ensure_future(s.wake.wait())
    try:
        done, _ = await asyncio.wait(
            {read_task, wake_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        wake_task.cancel()
        if not read_task.done():
            read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await read_task
    if not done:
        return False
    if read_task in done:
        try:
            data = read_task.result()
        except (OSError, ConnectionError):
            return False
        return bool(data) and s.feed_raw(data)
    return True


async def execute(s: Session, cmd: Command) -> None:
    first = s.commands_seen == 0
    s.commands_seen += 1
    tag = cmd.tag
    s.log.trace("command", tag=tag, cmd=cmd.name)
    p = Parser(cmd.raw, utf8=True)
    handler: Any = None
    name = cmd.name
    try:
        try:
            p.tag()
            p.sp()
            name = p.atom_upper()
            if name == "UID":
                p.sp()
                name += " " + p.atom_upper()
        except ParseError:
            raise Bad("invalid tag or missing command")
        handler = lookup(s.state, name)
        if handler is None:
            raise Bad(f"unknown command or not allowed in this state: {name}")
        if s.uidonly and name in SEQUENCE_COMMANDS:
            raise Bad("UIDONLY is enabled, use the UID command", "UIDREQUIRED")
        result = await handler(s, p, tag)
        await changes.deliver(s, name)
        if s.live_searches:
            await context.refresh(s)
        s.send(f"{tag} OK {result or (name + ' done')}".encode())
        if s.after_ok is not None:
            hook, s.after_ok = s.after_ok, None
            s.write_now()
            await hook()
    except ParseError as e:
        if first and handler is None:
            raise Bye("that does not look like IMAP")
        await changes.deliver(s, name)
        s.send(Bad(str(e), e.code).line(tag))
    except (No, Bad) as e:
        if first and handler is None:
            raise Bye("that does not look like IMAP")
        await changes.deliver(s, name)
        if s.live_searches:
            await context.refresh(s)
        s.send(e.line(tag))
    except (Bye, ConnectionClosed):
        raise
    except IMAPError as e:
        s.send(e.line(tag))
    except asyncio.CancelledError:
        raise
    except Exception as e:
        s.log.exception("command failed", e, cmd=name)
        s.send(No("internal server error", "SERVERBUG").line(tag))
    authed = s.state is not State.NOTAUTH
    s.reader.max_line = MAX_LINE if authed else MAX_LINE_NOTAUTH
    s.reader.authenticated = authed
    await s.maybe_flush()
