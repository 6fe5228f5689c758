"""What the IMAP server needs from the rest of the program, given by the composition root."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.imapserver.authlimit import AuthLimiter


@dataclass
class IMAPDeps:
    """Dependencies of ``IMAPServer``.

    - ``store``: ``app.store.Store`` (accounts are opened through it).
    - ``config``: ``app.config.Config`` (listeners, accounts, IMAPCapabilitiesDisabled, ...);
      may be None in tests, with ``require_starttls`` then deciding.
    - ``authdb``: ``app.store.authdb`` handle for login attempts and TLS public keys, or None.
    - ``tls_context(listener_name)``: the TLS context for STARTTLS, None when TLS is not configured.
    - ``credential_lookup(login_address) -> app.sasl.StoredCredentials | None`` (built with
      ``app.store.credentials.make_lookup``) and ``account_for_login(login_address) -> account
      name | None``.
    - ``server_cert_der(listener_name) -> bytes | None``: the server certificate, for SCRAM -PLUS
      channel binding (tls-server-end-point); without it -PLUS is not offered.
    - ``tls_public_key(fingerprint) -> (account, login_address, no_imap_preauth) | None``:
      registered TLS client public keys (SPKI SHA-256, base64url), for EXTERNAL and PREAUTH.
    - ``capabilities_disabled(account) -> list[str]`` (account IMAPCapabilitiesDisabled).
    - ``record_login(...)``: login attempt recorder (keyword arguments: account, login, result,
      mechanism, remote_ip, tls), or None.
    """

    store: Any
    config: Any = None
    authdb: Any = None
    tls_context: Callable[[str], ssl.SSLContext | None] = lambda _name: None
    credential_lookup: Callable[[str], Any] = lambda _u: None
    account_for_login: Callable[[str], str | None] = lambda _u: None
    server_cert_der: Callable[[str], bytes | None] = lambda _name: None
    tls_public_key: Callable[[str], tuple[str, str, bool] | None] = lambda _fp: None
    capabilities_disabled: Callable[[str], list[str]] = lambda _a: []
    record_login: Callable[..., None] | None = None
    hostname: str = "localhost"
    require_starttls: bool | None = None  # None: from the listener's NoRequireSTARTTLS
    append_limit: int = 100 << 20
    write_timeout: float = 300.0
    idle_timeout: float = 30 * 60.0
    preauth_timeout: float = 60.0
    auth_fail_delay: float = 1.0
    max_auth_failures: int = 3
    limiter: AuthLimiter = field(default_factory=AuthLimiter)
