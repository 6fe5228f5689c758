"""The server side of the control channel: an asyncio listener on ``data/ctl`` that calls
registered handlers. Handlers are registered by the composition root (app/serve.py); the
packages that own the behaviour (store, queue, config) provide them as plain async functions.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app import mlog
from app.ctl.protocol import MAX_FRAME, CtlError, decode, encode

log = mlog.get("ctl")


class Request:
    """One control request as a handler sees it."""

    def __init__(
        self, cmd: str, args: list[Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.cmd = cmd
        self.args = args
        self._reader = reader
        self._writer = writer
        self.taken = False

    async def take_over(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Turn the connection into a raw byte stream owned by the handler (``admin
        imapserve``): the client is told with a ``raw`` frame and no result frame follows."""
        self._writer.write(encode({"raw": True}))
        await self._writer.drain()
        self.taken = True
        return self._reader, self._writer

    async def write(self, text: str) -> None:
        """Send output text to the client (it prints it as is)."""
        self._writer.write(encode({"out": text}))
        await self._writer.drain()

    async def read_data(self) -> Callable[[], Awaitable[bytes | None]]:
        """Ask the client for streamed input; returns a function yielding chunks, then None."""
        self._writer.write(encode({"need": "data"}))
        await self._writer.drain()

        async def next_chunk() -> bytes | None:
            line = await self._reader.readline()
            if not line:
                raise CtlError("client closed during data")
            f = decode(line)
            if f.get("eof"):
                return None
            d = f.get("data")
            if not isinstance(d, str):
                raise CtlError("expected data frame")
            return base64.b64decode(d)

        return next_chunk


Handler = Callable[[Request], Awaitable[Any]]


class CtlServer:
    """Accepts control connections and dispatches ``cmd`` to a handler table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handlers: dict[str, Handler] = {}
        self._server: asyncio.AbstractServer | None = None

    def register(self, cmd: str, handler: Handler) -> None:
        self.handlers[cmd] = handler

    async def start(self) -> None:
        if sys.platform == "win32":
            token = secrets.token_hex(16)
            self._token: str | None = token
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_FRAME)
            port = self._server.sockets[0].getsockname()[1]
            self.path.write_text(f"tcp 127.0.0.1:{port} {token}\n")
        else:
            self._token = None
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            old = os.umask(0o077)
            try:
                self._server = await asyncio.start_unix_server(self._serve, str(self.path), limit=MAX_FRAME)
            finally:
                os.umask(old)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        try:
            self.path.unlink()
        except OSError:
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._token is not None:
                first = decode(await reader.readline())
                if not secrets.compare_digest(str(first.get("token", "")), self._token):
                    return
            line = await reader.readline()
            if not line:
                return
            req = decode(line)
            cmd = str(req.get("cmd", ""))
            args = req.get("args") or []
            handler = self.handlers.get(cmd)
            if handler is None:
                writer.write(encode({"error": f"unknown control command {cmd!r}"}))
            else:
                r = Request(cmd, list(args), reader, writer)
                try:
                    result = await handler(r)
                    if not r.taken:
                        writer.write(encode({"ok": True, "result": result}))
                except CtlError as e:
                    if not r.taken:
                        writer.write(encode({"error": str(e)}))
                except Exception as e:
                    log.exception("control command failed", e, cmd=cmd)
                    if not r.taken:
                        writer.write(encode({"error": "internal error, see server log"}))
            await writer.drain()
        except (CtlError, ConnectionError, asyncio.IncompleteReadError) as e:
            log.debug("control connection error", err=e)
        finally:
            writer.close()
