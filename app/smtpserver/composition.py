"""Building ``SMTPDeps`` callbacks from the server's parts, for the composition root
(``app/serve.py``): the server certificate of a listener (SCRAM -PLUS channel binding,
RFC 5929 tls-server-end-point), registered TLS client public keys and the login-attempt
recorder from ``auth.db``. The IMAP server takes callbacks of the same shapes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def server_cert_der(config: Any) -> Callable[[str], bytes | None]:
    """listener name -> DER of the listener's first configured certificate (cached by file mtime)."""
    cache: dict[str, tuple[float, bytes]] = {}
    lock = threading.Lock()

    def get(listener: str) -> bytes | None:
        lst = config.static.Listeners.get(listener)
        tls = getattr(lst, "TLS", None) if lst is not None else None
        keycerts = list(getattr(tls, "KeyCerts", None) or []) if tls is not None else []
        if not keycerts:
            return None
        resolve = getattr(config, "resolve_path", None)
        path = Path(resolve(keycerts[0].CertFile)) if callable(resolve) else Path(keycerts[0].CertFile)
        try:
            mtime = path.stat().st_mtime
            with lock:
                hit = cache.get(str(path))
            if hit is not None and hit[0] == mtime:
                return hit[1]
            der = x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)
        except (OSError, ValueError):
            return None
        with lock:
            cache[str(path)] = (mtime, der)
        return der

    return get


def tls_public_key(authdb: Any) -> Callable[[str], tuple[str, str, bool] | None]:
    """fingerprint -> (account, login address, no IMAP preauth) for registered client keys."""

    def get(fingerprint: str) -> tuple[str, str, bool] | None:
        k = authdb.tls_public_key(fingerprint)
        return None if k is None else (k.account, k.login_address, k.no_imap_preauth)

    return get


def record_login(authdb: Any) -> Callable[..., None]:
    """A login-attempt recorder writing to auth.db (keyword arguments as cmd_auth passes them)."""
    from app.store.authdb import LoginAttempt

    def rec(
        *, account: str, login: str, result: str, mechanism: str, remote_ip: str, tls: str, protocol: str
    ) -> None:
        authdb.record_login_attempt(
            LoginAttempt(
                account=account,
                login_address=login,
                remote_ip=remote_ip,
                tls=tls,
                protocol=protocol,
                auth_mech=mechanism,
                result=result,
            )
        )

    return rec


def new_server(
    *,
    config: Any,
    store: Any,
    resolver: Any,
    queue: Any,
    tls_context: Callable[[str], Any],
    authdb: Any = None,
    localserve: bool = False,
    credential_lookup: Callable[[str], Any] | None = None,
    account_for_login: Callable[[str], str | None] | None = None,
) -> Any:
    """The SMTPServer for app/serve.py, with the callbacks above filled in and pedantic mode
    from mox.conf's ``Pedantic``. ``credential_lookup`` is the same one the IMAP server gets
    (``app.store.credentials.make_lookup``)."""
    from app.smtpserver import SMTPServer
    from app.smtpserver.server import SMTPDeps

    deps = SMTPDeps(
        config=config,
        store=store,
        resolver=resolver,
        queue=queue,
        tls_context=tls_context,
        authdb=authdb,
        localserve=localserve,
        pedantic=bool(getattr(config.static, "Pedantic", False)),
        server_cert_der=server_cert_der(config),
        account_for_login=account_for_login,
    )
    if credential_lookup is not None:
        deps.credential_lookup = credential_lookup
    if authdb is not None:
        deps.tls_public_key = tls_public_key(authdb)
        deps.record_login = record_login(authdb)
    return SMTPServer(deps)
