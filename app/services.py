"""Building the long-lived parts of a running server from its configuration (layer 6): the
message store, the auth database, the DNS resolver, the outgoing queue, the SMTP and IMAP
servers and the control socket, and closing them again in reverse order.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app import mlog
from app.listen.conn import Conn

log = mlog.get("serve")

Handler = Callable[[Conn], Awaitable[None]]
TLSProvider = Callable[[str], ssl.SSLContext | None]


@dataclass
class Services:
    """What ``Mox`` runs: connection handlers by service name, and the parts behind them."""

    config: Any
    store: Any
    authdb: Any
    resolver: Any
    queue: Any
    ctl: Any
    handlers: dict[str, Handler] = field(default_factory=dict)

    client_auth_contexts: list[ssl.SSLContext] = field(default_factory=list)
    _client_certs_seen: frozenset[str] = frozenset()

    def refresh_client_auth(self) -> None:
        """Make the listeners' TLS contexts request client certificates when public keys are
        registered in auth.db (TLS client authentication, mox's TLSPublicKey); called at start
        and periodically, so keys added through the CLI take effect without a restart."""
        from app.listen.tls import set_client_certs

        if self.authdb is None or not self.client_auth_contexts:
            return
        keys = self.authdb.tls_public_keys()
        seen = frozenset(k.fingerprint for k in keys)
        if seen == self._client_certs_seen:
            return
        self._client_certs_seen = seen
        ders = [k.cert_der for k in keys if k.cert_der]
        for ctx in self.client_auth_contexts:
            set_client_certs(ctx, ders)
        log.info("tls client certificates", count=len(ders))

    async def start(self) -> None:
        """Start background work (queue delivery, control socket) once listeners are up."""
        from app.runtime import run_blocking

        await run_blocking(self.refresh_client_auth)
        if self.ctl is not None:
            await self.ctl.start()
        if self.queue is not None:
            await self.queue.start()

    async def stop_accepting(self) -> None:
        """Stop the control socket and the queue's new deliveries."""
        if self.ctl is not None:
            await self.ctl.close()
        if self.queue is not None:
            await self.queue.stop()

    async def close(self) -> None:
        """Close the databases (after connections ended)."""
        from app.runtime import run_blocking

        for part in (self.queue, self.store, self.authdb):
            if part is not None:
                try:
                    await run_blocking(part.close)
                except Exception as e:
                    log.exception("closing", e)


def quota_for(config: Any) -> Callable[[str], int]:
    """Per-account quota in bytes: the account's QuotaMessageSize over the global default (<0: none)."""

    def quota(account: str) -> int:
        acc = config.dynamic.Accounts.get(account)
        q = int(getattr(acc, "QuotaMessageSize", 0) or 0) if acc is not None else 0
        if q == 0:
            q = int(getattr(config.static, "QuotaMessageSize", 0) or 0)
        return max(q, 0)

    return quota


def account_for_login(config: Any, allow_disabled: bool) -> Callable[[str], str | None]:
    """Login address -> account name: any configured address of the account (catchall-separator
    forms included), never a domain catchall; login-disabled accounts only when allow_disabled
    (the SMTP server checks LoginDisabled itself to show the account's message)."""

    def lookup(login: str) -> str | None:
        lp, at, dom = login.rpartition("@")
        if not at or not lp:
            return None
        try:
            m = config.lookup_address(lp, dom, allow_postmaster=False)
        except Exception:
            return None
        if m is None or str(m.key).startswith("@"):
            return None
        acc = config.dynamic.Accounts.get(m.account)
        if acc is None or (not allow_disabled and bool(getattr(acc, "LoginDisabled", None))):
            return None
        return str(m.account)

    return lookup


def localserve_resolver(config: Any) -> Any:
    """The DNS of localserve: localhost's addresses and the DKIM keys of the configured domains."""
    from app.dns import MockResolver
    from app.mailauth.dkimkeys import load_private_key, txt_record

    r = MockResolver.from_zone("localhost. IN A 127.0.0.1\nlocalhost. IN AAAA ::1\n", authentic=True)
    for dname, dom in config.dynamic.Domains.items():
        dkim = getattr(dom, "DKIM", None)
        for sel, selcfg in (getattr(dkim, "Selectors", None) or {}).items():
            try:
                key = load_private_key(config.resolve_path(selcfg.PrivateKeyFile).read_bytes())
                r.add_txt(f"{sel}._domainkey.{dname}", txt_record(key))
            except (OSError, ValueError) as e:
                log.error("localserve dkim key", selector=sel, domain=dname, err=e)
    return r


async def build_services(
    config: Any, localserve: bool, resolver: Any, tls: TLSProvider, outgoing_smtp_port: int = 25
) -> Services:
    """Open and wire every part. Raises on a fatal error before anything serves."""
    from app.ctl.server import CtlServer
    from app.dns import DnsResolver
    from app.imapserver import IMAPDeps, IMAPServer
    from app.imapserver import ctl_handlers as imap_ctl
    from app.queue import Queue, QueueDeps
    from app.queue import ctl_handlers as queue_ctl
    from app.runtime import run_blocking
    from app.smtpserver import SMTPDeps, SMTPServer
    from app.smtpserver import composition as smtpcomp
    from app.store import InitialMailboxes, Store
    from app.store import ctl_handlers as store_ctl
    from app.store.accounts_admin import Admin
    from app.store.authdb import open_authdb
    from app.store.credentials import make_lookup

    data_dir = config.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if resolver is None:
        resolver = localserve_resolver(config) if localserve else DnsResolver()
    initial = InitialMailboxes.from_config(getattr(config.static, "InitialMailboxes", None))
    store = Store(data_dir, initial_mailboxes=initial, quota=quota_for(config))
    authdb = await run_blocking(open_authdb, data_dir)

    def create_missing_accounts() -> None:
        for name in config.dynamic.Accounts:
            if not store.db_path(name).exists():
                store.create_account(name)
                log.info("created account database", account=name)

    await run_blocking(create_missing_accounts)
    await run_blocking(Admin(config, store, authdb).complete_pending_removals)
    queue = Queue(
        QueueDeps(
            config=config,
            data_dir=data_dir,
            resolver=resolver,
            store=store,
            localserve=localserve,
            smtp_port=outgoing_smtp_port,
        )
    )

    login_account = account_for_login(config, allow_disabled=True)
    imap_login_account = account_for_login(config, allow_disabled=False)
    creds = make_lookup(login_account, store.account)
    imap_creds = make_lookup(imap_login_account, store.account)
    cert_der = smtpcomp.server_cert_der(config)
    tls_key = smtpcomp.tls_public_key(authdb)
    record = smtpcomp.record_login(authdb)

    def record_login(**kw: Any) -> None:
        kw["tls"] = (
            "" if kw.get("tls") in (False, None) else ("tls" if kw.get("tls") is True else str(kw["tls"]))
        )
        kw.setdefault("protocol", "imap")
        record(**kw)

    pedantic = bool(getattr(config.static, "Pedantic", False))
    smtp = SMTPServer(
        SMTPDeps(
            config=config,
            store=store,
            resolver=resolver,
            queue=queue,
            tls_context=tls,
            authdb=authdb,
            localserve=localserve,
            pedantic=pedantic,
            data_dir=data_dir,
            unknown_user_delay=0.0 if localserve else 5.0,
            credential_lookup=creds,
            account_for_login=login_account,
            server_cert_der=cert_der,
            tls_public_key=tls_key,
            record_login=record_login,
        )
    )

    def caps_disabled(account: str) -> list[str]:
        acc = config.dynamic.Accounts.get(account)
        return list(getattr(acc, "IMAPCapabilitiesDisabled", None) or []) if acc is not None else []

    imap = IMAPServer(
        IMAPDeps(
            store=store,
            config=config,
            authdb=authdb,
            tls_context=tls,
            credential_lookup=imap_creds,
            account_for_login=imap_login_account,
            server_cert_der=cert_der,
            tls_public_key=tls_key,
            capabilities_disabled=caps_disabled,
            record_login=record_login,
            hostname=str(config.static.Hostname),
        )
    )

    ctl = CtlServer(data_dir / "ctl")
    for cmd, h in store_ctl.handlers(store, config, authdb).items():
        ctl.register(cmd, h)
    for cmd, h in queue_ctl.handlers(queue).items():
        ctl.register(cmd, h)
    for cmd, h in imap_ctl.handlers(imap.deps, config).items():
        ctl.register(cmd, h)

    async def smtp_handler(conn: Conn) -> None:
        await smtp.handle(conn, "smtp")

    async def submission_handler(conn: Conn) -> None:
        await smtp.handle(conn, "submission")

    async def submissions_handler(conn: Conn) -> None:
        await smtp.handle(conn, "submissions")

    async def imap_handler(conn: Conn) -> None:
        await imap.handle(conn, False)

    async def imaps_handler(conn: Conn) -> None:
        await imap.handle(conn, True)

    client_auth = []
    for name, lst in config.static.Listeners.items():
        ctx = tls(name)
        lst_tls = getattr(lst, "TLS", None)
        if ctx is not None and not getattr(lst_tls, "ClientAuthDisabled", False):
            client_auth.append(ctx)

    return Services(
        client_auth_contexts=client_auth,
        config=config,
        store=store,
        authdb=authdb,
        resolver=resolver,
        queue=queue,
        ctl=ctl,
        handlers={
            "smtp": smtp_handler,
            "submission": submission_handler,
            "submissions": submissions_handler,
            "imap": imap_handler,
            "imaps": imaps_handler,
        },
    )
