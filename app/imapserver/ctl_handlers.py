"""Control-channel command of the IMAP server: ``imapserve ADDRESS`` turns the control
connection into a preauthenticated IMAP session inside the running server (``moxpy admin
imapserve``), so its changes reach other sessions (IDLE, NOTIFY) like any client's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.ctl.protocol import CtlError
from app.ctl.server import Request
from app.imapserver.deps import IMAPDeps
from app.imapserver.preauth import serve_stream


def handlers(deps: IMAPDeps, config: Any) -> dict[str, Callable[[Request], Awaitable[Any]]]:
    async def imapserve(req: Request) -> None:
        if len(req.args) != 1 or "@" not in str(req.args[0]):
            raise CtlError("usage: imapserve address")
        address = str(req.args[0])
        localpart, _, domain = address.rpartition("@")
        match = config.lookup_address(localpart, domain)
        if match is None:
            raise CtlError(f"no account for address {address}")
        reader, writer = await req.take_over()
        await serve_stream(deps, match.account, address, reader, writer, "ctl")

    return {"imapserve": imapserve}
