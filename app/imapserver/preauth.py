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
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    c = Conn(reader, writer, "stdio", "", 0, "", 0, implicit_tls=False)
    s = connmod.new_session(c, deps)
    await cmd_auth.login(s, login, account, "preauth")
    s.preauth = True
    await connmod.serve(s)
