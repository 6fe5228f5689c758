"""IDLE (RFC 2177, RFC 9051 section 6.3.13): changes by other sessions are sent as they happen,
woken by the store's change broadcast, until the client sends DONE."""

from __future__ import annotations

import asyncio
import contextlib

from app.imap import Fatal, Parser
from app.imapserver import changes
from app.imapserver.errors import Bad, Bye
from app.imapserver.session import ConnectionClosed, Session


async def cmd_idle(s: Session, p: Parser, tag: str) -> str:
    p.end()
    s.send(b"+ idling")
    while True:
        await changes.deliver(s, "IDLE")
        await s.flush()
        line = s.reader.next_line()
        if isinstance(line, Fatal):
            raise Bye(line.message)
        if line is not None:
            break
        read_task = asyncio.ensure_future(s.conn.reader.read(65536))
        wake_task = asyncio.ensure_future(s.wake.wait())
        try:
            done, _ = await asyncio.wait(
                {read_task, wake_task}, timeout=s.deps.idle_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            wake_task.cancel()
            if not read_task.done():
                read_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await read_task
        if not done:
            raise Bye("idle timeout, please reconnect")
        if read_task in done:
            try:
                data = read_task.result()
            except (OSError, ConnectionError):
                raise ConnectionClosed("read failed") from None
            if not data or not s.feed_raw(data):
                raise ConnectionClosed("eof during idle")
    if line.strip().upper() != b"DONE":
        raise Bad("expected DONE to end IDLE")
    return "IDLE terminated"
