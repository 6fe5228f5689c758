"""What all connections of one SMTP server share: dependencies, limits, the Received-id key,
and the listener settings looked up per connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import mlog
from app.smtpserver.limits import Limits
from app.smtpserver.recvid import RecvID, load_key

DEFAULT_MAX_MSG_SIZE = 100 * 1024 * 1024  # mox's config.DefaultMaxMsgSize
MAX_RECIPIENTS = 1000  # RFC 9422 LIMITS RCPTMAX, as mox
MAX_BAD_TRANSACTIONS = 10
MAX_LINE = 2048  # mox's command line cap
FUTURE_RELEASE_MAX = 60 * 24 * 3600  # RFC 4865 FUTURERELEASE, mox's queue.FutureReleaseIntervalMax


@dataclass
class SMTPDeps:
    """Everything the SMTP server needs, given by the composition root.

    config: ``app.config.Config``; store: ``app.store.Store``; resolver: an ``app.dns`` Resolver;
    queue: ``app.queue.Queue`` (None: submission answers 451); tls_context: listener name ->
    server SSLContext or None; authdb: ``app.store.authdb`` database (login attempts, TLS public
    keys) or None; hostname: overrides config Hostname; localserve/pedantic: mox's modes.
    """

    config: Any
    store: Any
    resolver: Any
    queue: Any = None
    tls_context: Callable[[str], ssl.SSLContext | None] = lambda _name: None
    authdb: Any = None
    hostname: str = ""
    localserve: bool = False
    pedantic: bool = False
    data_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)
    read_timeout: float = 30.0  # per read/write (mox: 30 s)
    # Delay before rejecting unknown recipients after DATA (mox: 5 s; tests use 0).
    unknown_user_delay: float = 5.0
    first_time_sender_delay: float | None = None  # None: listener config or 15 s
    # Authentication, with the same shapes as the IMAP server's deps so both can share them:
    credential_lookup: Callable[[str], Any] = lambda _u: None  # login address -> StoredCredentials
    account_for_login: Callable[[str], str | None] | None = None  # None: config address lookup
    server_cert_der: Callable[[str], bytes | None] = lambda _name: None  # for SCRAM -PLUS
    tls_public_key: Callable[[str], tuple[str, str, bool] | None] = lambda _fp: None  # EXTERNAL
    record_login: Callable[..., None] | None = None  # login attempts (account, login, result, ...)


@dataclass
class ListenerSettings:
    """The SMTP-related settings of one listener (defaults when the listener is unknown)."""

    hostname: str
    max_size: int
    starttls: bool  # offer STARTTLS on the smtp port
    require_starttls: bool  # smtp port: refuse mail without TLS
    requiretls_ext: bool  # announce REQUIRETLS once on TLS
    submission_require_tls: bool  # submission: TLS required before AUTH/MAIL
    first_time_sender_delay: float
    dnsbls: list[str]


class ServerContext:
    """Shared state of one SMTPServer."""

    def __init__(self, deps: SMTPDeps) -> None:
        self.deps = deps
        self.log = mlog.get("smtpserver")
        self.limits = deps.limits
        data_dir = deps.data_dir or Path(getattr(deps.config, "data_dir", "."))
        self.recvid = RecvID(load_key(Path(data_dir)))
        from app.smtpserver.dkimsign import Signer

        self.signer = Signer(deps.config)
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Any) -> None:
        """Run background work (a DSN) that must not delay the reply; errors are logged."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def account_for_login(self, login: str) -> str | None:
        """The account a login address belongs to (any of its addresses, catchall-separator
        forms included), or None."""
        if self.deps.account_for_login is not None:
            return self.deps.account_for_login(login)
        lp, at, dom = login.rpartition("@")
        if not at:
            return None
        m = self.config.lookup_address(lp, dom, allow_postmaster=False)
        return None if m is None else str(m.account)

    @property
    def config(self) -> Any:
        return self.deps.config

    def static(self) -> Any:
        return self.deps.config.static

    def dynamic(self) -> Any:
        return self.deps.config.dynamic

    def listener(self, name: str) -> ListenerSettings:
        st = self.static()
        lst = st.Listeners.get(name) if st is not None else None
        hostname = self.deps.hostname or (getattr(lst, "Hostname", "") if lst else "") or st.Hostname
        smtp = getattr(lst, "SMTP", None)
        sub = getattr(lst, "Submission", None)
        delay = self.deps.first_time_sender_delay
        if delay is None:
            cfg = getattr(smtp, "FirstTimeSenderDelay", None)
            delay = 15.0 if cfg is None else float(cfg)
        return ListenerSettings(
            hostname=hostname,
            max_size=int(getattr(lst, "SMTPMaxMessageSize", 0) or DEFAULT_MAX_MSG_SIZE),
            starttls=not bool(getattr(smtp, "NoSTARTTLS", False)),
            require_starttls=bool(getattr(smtp, "RequireSTARTTLS", False)),
            requiretls_ext=not bool(getattr(smtp, "NoRequireTLS", False)),
            submission_require_tls=not bool(getattr(sub, "NoRequireSTARTTLS", False)),
            first_time_sender_delay=delay,
            dnsbls=list(getattr(smtp, "DNSBLs", None) or []),
        )
