"""A preauthenticated IMAP session on a pair of pipes (``moxpy admin imapserve ADDRESS``, as
mox's: e.g. over ssh for migrations). The session starts with ``* PREAUTH`` (RFC 9051 section
7.1.4) in the authenticated state of the account."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from app.imapserver import cmd_auth
from app.imapserver import conn as connmod
from app.imapserver.deps import IMAPDeps
from app.listen.conn import Conn


async def serve_pipes(deps: IMAPDeps, account: str, login: str, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve the session on the process's own pipes (the server is not running)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    await serve_stream(deps, account, login, reader, writer, "stdio")


async def serve_stream(
    deps: IMAPDeps,
    account: str,
    login: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    remote: str,
) -> None:
    """Serve the session over a byte stream: the process's pipes, or a control connection
    handed over by the running server."""
    c = Conn(reader, writer, remote, "", 0, "", 0, implicit_tls=False)
    s = connmod.new_session(c, deps)
    await cmd_auth.login(s, login, account, "preauth")
    s.preauth = True
    await connmod.serve(s)
