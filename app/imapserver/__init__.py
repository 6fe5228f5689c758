"""IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) server with the extensions listed in
``capabilities``.

Entry point for the composition root::

    server = IMAPServer(IMAPDeps(store=..., config=..., tls_context=..., credential_lookup=...,
                                 account_for_login=...))
    await server.handle(conn, implicit_tls)   # one connection, never raises

Modules: ``conn`` (read loop, limits, errors to responses), ``dispatch`` (state → command
table), ``session`` (connection state, buffered output, COMPRESS), ``cmd_any``, ``cmd_auth``
(STARTTLS, LOGIN, AUTHENTICATE, ENABLE, UNAUTHENTICATE, COMPRESS), ``cmd_mailbox``/``cmd_list``
(SELECT ... STATUS, LIST/LSUB), ``cmd_append`` (APPEND, REPLACE), ``cmd_fetch``, ``cmd_search``,
``multisearch`` (ESEARCH IN), ``cmd_sort`` + ``threading_refs`` (SORT, THREAD), ``cmd_store``,
``cmd_copy`` (COPY, MOVE, EXPUNGE, CLOSE, UNSELECT), ``idle``, ``notify``, ``quota``,
``metadata``, ``changes`` (untagged updates from the store's change broadcast), ``selected``
(sequence numbers), ``recent`` (\\Recent), ``fetchrender``/``sections``/``searcheval`` (pure
per-message work), ``junkflags`` (AutomaticJunkFlags), ``authlimit`` (failed logins per IP
class), ``tlsauth`` (client certificates), ``capabilities``, ``preauth``
(``moxpy admin imapserve``).
"""

from __future__ import annotations

from app import mlog
from app.imapserver.authlimit import AuthLimiter
from app.imapserver.deps import IMAPDeps
from app.listen.conn import Conn

__all__ = ["AuthLimiter", "IMAPDeps", "IMAPServer"]

log = mlog.get("imapserver")


class IMAPServer:
    """Serves IMAP connections handed over by the listeners."""

    def __init__(self, deps: IMAPDeps) -> None:
        self.deps = deps

    async def handle(self, conn: Conn, implicit_tls: bool) -> None:
        """Serve one connection until it ends; never raises."""
        from app.imapserver import cmd_auth
        from app.imapserver import conn as connmod
        from app.imapserver.tlsauth import recognize_client_cert

        try:
            s = connmod.new_session(conn, self.deps)
            if conn.tls and recognize_client_cert(s):
                try:
                    await cmd_auth.login(s, s.client_cert_login, s.client_cert_account, "tlsclientauth")
                    s.preauth = True
                except Exception as e:  # an unavailable account: continue unauthenticated
                    s.log.info("tls client auth failed", err=e)
            await connmod.serve(s)
        except Exception as e:
            log.exception("imap connection failed", e)
            await conn.close()
