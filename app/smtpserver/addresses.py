"""Which addresses are ours: recipient lookup for incoming mail (destinations, catchall
separators, ``@domain`` catchalls, aliases, postmaster, disabled domains) and the addresses an
authenticated account may send as. The rules themselves live in ``app.config``'s lookups; this
module turns their answers into SMTP replies, as mox does.
"""

from __future__ import annotations

from typing import Any

from app.runtime import run_blocking
from app.smtp import codes as c
from app.smtp.command import Path
from app.smtp.reply import SMTPError
from app.smtpserver.server import ServerContext
from app.smtpserver.session import Rcpt, Session, Transaction

LOCALSERVE_ACCOUNT = "mox"


def _domain_config(ctx: ServerContext, domain: str) -> Any:
    try:
        return ctx.config.domain(domain)
    except (KeyError, ValueError):
        return None


def is_local_domain(ctx: ServerContext, domain: str) -> bool:
    return _domain_config(ctx, domain) is not None


def is_tls_report_address(ctx: ServerContext, path: Path) -> bool:
    """Whether the address receives TLS reports (RFC 8460: deliverable without STARTTLS)."""
    d = _domain_config(ctx, path.domain)
    lp = path.localpart.lower()
    if d is not None and d.TLSRPT is not None and d.TLSRPT.Localpart.lower() == lp:
        return True
    st = ctx.static()
    host_rpt = getattr(st, "HostTLSRPT", None)
    hl = getattr(host_rpt, "Localpart", "") if host_rpt is not None else ""
    return bool(hl) and hl.lower() == lp and path.domain == st.Hostname.lower()


def _alias_member_accounts(ctx: ServerContext, alias: Any) -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = []
    for addr in alias.Addresses:
        lp, _, dom = addr.rpartition("@")
        m = ctx.config.lookup_address(lp, dom)
        if m is not None:
            out.append((m.account, m.destination, addr))
    return out


def may_send_as(ctx: ServerContext, account: str, path: Path) -> bool:
    """An account may use an address as MAIL FROM or message From when the address delivers to
    the account (including catchall-separator forms), or is an alias with AllowMsgFrom that the
    account is a member of. A disabled domain gives a temporary error (mox: 451)."""
    d = _domain_config(ctx, path.domain)
    if d is not None and d.Disabled:
        raise SMTPError(c.C451_LOCAL_ERR, c.SE_MAILBOX_DISABLED1, "domain of sender is temporarily disabled")
    m = ctx.config.lookup_address(path.localpart, path.domain, allow_postmaster=False)
    if m is not None:
        return bool(m.account == account)
    am = ctx.config.lookup_alias(path.localpart, path.domain)
    if am is not None and am.alias.AllowMsgFrom:
        return any(acc == account for acc, _, _ in _alias_member_accounts(ctx, am.alias))
    return False


def resolve_incoming(ctx: ServerContext, r: Rcpt) -> None:
    """Fill in where an incoming recipient goes; raise the RCPT reply for refused recipients."""
    if r.postmaster:
        m = ctx.config.lookup_address("postmaster", ctx.static().Hostname)
        if m is None:
            raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_UNKNOWN1, "no such user")
        r.account, r.destination = m.account, m.destination
        return
    d = _domain_config(ctx, r.path.domain)
    localserve = ctx.deps.localserve
    if d is None:
        # postmaster@<hostname> works without the host name being a configured domain.
        m = ctx.config.lookup_address(r.path.localpart, r.path.domain)
        if m is not None:
            r.account, r.destination = m.account, m.destination
            return
        if localserve:
            r.account = LOCALSERVE_ACCOUNT
            return
        raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_UNKNOWN1, "not accepting email for domain")
    if d.Disabled:
        raise SMTPError(
            c.C450_MAILBOX_UNAVAIL, c.SE_MAILBOX_DISABLED1, "recipient domain temporarily disabled"
        )
    m = ctx.config.lookup_address(r.path.localpart, r.path.domain)
    if m is not None:
        err = (m.destination.SMTPError or "").strip()
        if err:
            code_s, _, text = err.partition(" ")
            code = int(code_s) if code_s.isdigit() and code_s in ("421", "550") else 550
            raise SMTPError(code, c.SE_ADDR_UNKNOWN1, text or "not accepting email for address")
        r.account, r.destination = m.account, m.destination
        return
    am = ctx.config.lookup_alias(r.path.localpart, r.path.domain)
    if am is not None:
        r.alias = am
        r.alias_members = _alias_member_accounts(ctx, am.alias)
        return
    if localserve:
        r.account = LOCALSERVE_ACCOUNT
        return
    # mox: accept now, reject after DATA, so address harvesting learns nothing from RCPT.
    r.unknown = True


async def require_spf_pass_for_multiple(s: Session, txn: Transaction) -> None:
    """mox: a second recipient is only allowed when SPF passes for MAIL FROM (limits the
    damage of forged senders)."""
    if txn.spf is None:
        txn.spf = await spf_verify(s, txn)
    if not txn.spf.passed:
        raise SMTPError(
            c.C452_STORAGE_FULL, c.SE_PROTO_TOO_MANY_RCPTS3, "only one recipient allowed without spf pass"
        )


async def spf_verify(s: Session, txn: Transaction) -> Any:
    from app.mailauth import spf

    return await run_blocking(
        spf.verify,
        s.ctx.deps.resolver,
        s.conn.remote_ip,
        str(txn.mail_from),
        s.hello,
        s.hostname,
    )
