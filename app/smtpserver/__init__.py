"""The SMTP server (layer 5): incoming delivery on port 25 and submission on 587/465
(RFC 5321, RFC 6409, RFC 3207, RFC 4954, and the extensions listed in ``cmd_session.ehlo``),
with mox's behaviour and protections (SMTP smuggling, STARTTLS injection, limits per IP class).

The composition root creates one ``SMTPServer(SMTPDeps(...))`` and calls ``handle(conn, kind)``
for each accepted connection::

    server = SMTPServer(SMTPDeps(config=cfg, store=store, resolver=resolver, queue=queue,
                                 tls_context=mox.tls_context, authdb=authdb,
                                 localserve=True, pedantic=cfg.static.Pedantic))
    await server.handle(conn, "submission")

Layout: ``conn`` (read loop, limits, greeting, error replies with the Received id),
``dispatch`` (command table per state), ``session`` (connection and transaction state),
``cmd_session``/``cmd_auth``/``cmd_mail``/``data`` (handlers), ``submit`` (checks, headers,
DKIM via ``dkimsign``, to the queue), ``delivery`` + ``authcheck`` + ``analyze`` (incoming:
SPF/DKIM/DMARC/iprev/DNSBL facts, pure verdicts, store delivery, DSNs), ``addresses``
(recipient and send-as lookups), ``senders`` (first-time sender delay), ``limits``,
``recvid`` (``moxpy cid``), ``localserve`` (special local parts), ``received`` and
``msgheaders`` (header fields), ``composition`` (building the deps for app/serve.py).
"""

from __future__ import annotations

from typing import Literal

from app.listen.conn import Conn
from app.smtpserver.conn import serve
from app.smtpserver.limits import Limits
from app.smtpserver.recvid import RecvID, RecvIDError, load_key
from app.smtpserver.server import ServerContext, SMTPDeps

__all__ = ["Limits", "RecvID", "RecvIDError", "SMTPDeps", "SMTPServer", "load_key"]


class SMTPServer:
    """Serves SMTP connections; one instance per running server."""

    def __init__(self, deps: SMTPDeps) -> None:
        self.deps = deps
        self.ctx = ServerContext(deps)

    async def handle(self, conn: Conn, kind: Literal["smtp", "submission", "submissions"]) -> None:
        """Serve one connection until it ends; never raises. The caller closes the connection."""
        try:
            await serve(self.ctx, conn, kind)
        except BaseException as e:  # cancellation at shutdown included: nothing escapes
            if not isinstance(e, Exception):
                raise
            self.ctx.log.exception("smtp connection", e, cid=conn.cid)
