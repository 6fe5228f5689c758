"""MAIL FROM and RCPT TO (RFC 5321 sections 4.1.1.2-3) with their parameters: SIZE (RFC 1870),
BODY (RFC 6152), AUTH (RFC 4954, ignored), SMTPUTF8 (RFC 6531), REQUIRETLS (RFC 8689),
HOLDFOR/HOLDUNTIL (RFC 4865, submission), RET/ENVID/NOTIFY/ORCPT (RFC 3461); sender domain
checks for incoming mail; recipient lookup in the configuration.
"""

from __future__ import annotations

import asyncio
import datetime
import time

from app import dns
from app.smtp import codes as c
from app.smtp.command import Command, Path, parse_mail, parse_rcpt
from app.smtp.reply import SMTPError
from app.smtpserver import addresses, localserve
from app.smtpserver.server import DEFAULT_MAX_MSG_SIZE, FUTURE_RELEASE_MAX, MAX_RECIPIENTS
from app.smtpserver.session import Rcpt, Session, Transaction


def xtext_decode(s: str) -> str:
    """RFC 3461 section 4: ``+XX`` hex escapes."""
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "+":
            try:
                out.append(chr(int(s[i + 1 : i + 3], 16)))
            except ValueError:
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad xtext") from None
            if len(s[i + 1 : i + 3]) != 2:
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad xtext")
            i += 3
            continue
        if not (33 <= ord(ch) <= 126) or ch == "=":
            raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad xtext")
        out.append(ch)
        i += 1
    return "".join(out)


def _unrecognized(name: str) -> SMTPError:
    return SMTPError(c.C555_UNRECOGNIZED_PARAMS, c.SE_SYS_NOT_SUPPORTED3, f'unrecognized parameter "{name}"')


def _mail_params(s: Session, txn: Transaction, params: dict[str, str | None]) -> None:
    ls = s.settings
    for key, value in params.items():
        if key == "SIZE":
            if value is None or not value.isdigit() or len(value) > 20:
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad SIZE value")
            txn.size = int(value)
            if txn.size > s.max_size:
                # RFC 1870 section 6.1 and RFC 3463: a per-mailbox limit below the default is X.2.3.
                secode = c.SE_MAILBOX_MSG_LIMIT3 if txn.size < DEFAULT_MAX_MSG_SIZE else c.SE_SYS_MSG_LIMIT4
                raise SMTPError(c.C552_STORAGE_EXCEEDED, secode, "message too large")
        elif key == "BODY":
            v = (value or "").upper()
            if v not in ("7BIT", "8BITMIME"):
                raise SMTPError(
                    c.C555_UNRECOGNIZED_PARAMS, c.SE_PROTO_PARAM4, f'unrecognized parameter "{key}"'
                )
            txn.body_8bit = v == "8BITMIME"
        elif key == "AUTH":
            pass  # RFC 4954 section 5: may be ignored.
        elif key == "SMTPUTF8":
            if value is not None:
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "SMTPUTF8 takes no value")
            txn.smtputf8 = True
        elif key == "REQUIRETLS":
            if value is not None:
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "REQUIRETLS takes no value")
            if not s.tls:
                raise SMTPError(
                    c.C530_SECURITY_REQUIRED,
                    c.SE_SEC_ENCRYPTION_NEEDED10,
                    "requiretls only allowed on tls-encrypted connections",
                )
            if not ls.requiretls_ext:
                raise SMTPError(
                    c.C555_UNRECOGNIZED_PARAMS,
                    c.SE_SYS_NOT_SUPPORTED3,
                    "REQUIRETLS not allowed for this connection",
                )
            txn.requiretls = True
        elif key in ("HOLDFOR", "HOLDUNTIL") and s.submission:
            if txn.hold_until is not None:
                raise SMTPError(
                    c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_PARAM4, "cannot use both HOLDUNTIL and HOLDFOR"
                )
            txn.hold_until, txn.future_release = _future_release(key, value or "")
        elif key == "RET":
            v = (value or "").upper()
            if v not in ("FULL", "HDRS"):
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad RET value")
            txn.dsn_ret = v
        elif key == "ENVID":
            envid = xtext_decode(value or "")
            if not envid or len(envid) > 100:
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad ENVID value")
            txn.dsn_envid = envid
        else:
            raise _unrecognized(key)


def _future_release(key: str, value: str) -> tuple[float, str]:
    now = time.time()
    if key == "HOLDFOR":
        if not value.isdigit() or len(value) > 10:
            raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad HOLDFOR value")
        secs = int(value)
        if secs > FUTURE_RELEASE_MAX:
            raise SMTPError(
                c.C554_TRANSACTION_FAILED, c.SE_PROTO_PARAM4, "future release interval too far in the future"
            )
        return now + secs, f"for;{secs}"
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad HOLDUNTIL value") from None
    if t.tzinfo is None:
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "HOLDUNTIL needs a time zone")
    ts = t.timestamp()
    if ts <= now:
        raise SMTPError(
            c.C554_TRANSACTION_FAILED, c.SE_PROTO_PARAM4, "requested future release time is in the past"
        )
    if ts - now > FUTURE_RELEASE_MAX:
        raise SMTPError(
            c.C554_TRANSACTION_FAILED,
            c.SE_PROTO_PARAM4,
            "requested future release time is too far in the future",
        )
    return ts, f"until;{value}"


async def check_sender_domain(s: Session, path: Path) -> None:
    """Incoming mail: the MAIL FROM domain must be able to receive replies (mox; RFC 7505)."""
    if path.is_null:
        return
    if path.domain.startswith("["):
        raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_SEC_OTHER0, "domain name required")
    if s.ctx.deps.localserve:
        return  # localserve accepts everything (spec 6.2); its resolver may know no outside domains
    # The answer holds for the connection: a client sending several messages is asked once.
    key = ("accepts-mail", path.domain)
    if key in s.auth_cache:
        return
    if not await _domain_accepts_mail(s, path.domain):
        s.log.info("permanent reject because mailfrom domain does not accept mail", domain=path.domain)
        raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_SEC_NULL_MX27, "mailfrom domain not configured for mail")
    s.auth_cache[key] = True


async def _domain_accepts_mail(s: Session, domain: str) -> bool:
    """MX records that are not a null MX (RFC 7505), or, without MX records, an address record
    (the implicit MX of RFC 5321 section 5.1). A temporary DNS error is a 451."""
    res = s.ctx.deps.resolver
    try:
        try:
            mx = await res.lookup_mx(domain)
        except dns.DNSNoData:
            await res.lookup_ip(domain)
            return True
        return not (len(mx.records) == 1 and mx.records[0].host in ("", "."))
    except dns.DNSError as e:
        if dns.is_not_found(e):
            return False
        s.log.info("temporary reject for temporary mx lookup error", err=e)
        raise SMTPError(c.C451_LOCAL_ERR, c.SE_NET_OTHER0, "cannot verify mx records for mailfrom domain")


async def _localserve_error(s: Session, stage: str, localpart: str) -> None:
    if not s.ctx.deps.localserve:
        return
    ne = localserve.needs_error(localpart)
    if ne is None or ne.stage != stage:
        return
    if ne.timeout:
        await s.flush()
        await asyncio.sleep(localserve.TIMEOUT_SECONDS)
        raise SMTPError(c.C451_LOCAL_ERR, c.SE_SYS_OTHER0, "timing out command due to special localpart")
    if ne.error is not None:
        raise ne.error


async def mail(s: Session, cmd: Command) -> None:
    if s.submission and not s.account:
        raise SMTPError(c.C530_SECURITY_REQUIRED, c.SE_SEC_OTHER0, "authentication required")
    args = parse_mail(cmd.arg, s.ctx.deps.pedantic)
    txn = Transaction(mail_from=args.path)
    _mail_params(s, txn, args.params)
    if not txn.smtputf8 and not args.path.ascii:
        raise SMTPError(c.C553_BAD_MAILBOX, c.SE_MSG_UTF8_HDR7, "non-ascii address without SMTPUTF8")
    await _localserve_error(s, "mailfrom", args.path.localpart)
    if s.submission:
        # RFC 6409 section 5.1: the null reverse-path is allowed; the From header is checked later.
        if not args.path.is_null and not addresses.may_send_as(s.ctx, s.account, args.path):
            raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_SEC_NOT_AUTHORIZED1, "must match authenticated user")
    else:
        await check_sender_domain(s, args.path)
    s.txn = txn
    s.reply(c.C250_COMPLETED, c.SE_ADDR_OTHER0, "looking good")


def _rcpt_params(rcpt: Rcpt, params: dict[str, str | None]) -> None:
    for key, value in params.items():
        if key == "NOTIFY":
            items = tuple(v.strip().upper() for v in (value or "").split(","))
            if not items or any(v not in ("NEVER", "SUCCESS", "FAILURE", "DELAY") for v in items):
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad NOTIFY value")
            if "NEVER" in items and len(items) > 1:
                raise SMTPError(
                    c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "NOTIFY=NEVER cannot be combined"
                )
            rcpt.notify = items
        elif key == "ORCPT":
            atype, semi, addr = (value or "").partition(";")
            if not semi or not atype or not addr:
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad ORCPT value")
            rcpt.orcpt = f"{atype};{xtext_decode(addr)}"
        else:
            raise _unrecognized(key)


async def rcpt(s: Session, cmd: Command) -> None:
    txn = s.txn
    assert txn is not None
    if len(txn.rcpts) >= MAX_RECIPIENTS:
        raise SMTPError(
            c.C452_STORAGE_FULL, c.SE_PROTO_TOO_MANY_RCPTS3, f"max of {MAX_RECIPIENTS} recipients reached"
        )
    args = parse_rcpt(cmd.arg, s.ctx.deps.pedantic, utf8=txn.smtputf8)
    r = Rcpt(path=args.path, postmaster=args.postmaster)
    _rcpt_params(r, args.params)
    await _localserve_error(s, "rcptto", args.path.localpart)
    if s.submission:
        if args.postmaster:
            raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_UNKNOWN1, "need full address for submission")
        if (
            not s.ctx.deps.localserve
            and addresses.is_local_domain(s.ctx, args.path.domain)
            and s.ctx.config.lookup_address(args.path.localpart, args.path.domain) is None
            and s.ctx.config.lookup_alias(args.path.localpart, args.path.domain) is None
        ):
            # mox is open about which local users exist to its own authenticated users.
            raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_UNKNOWN1, "no such user")
    else:
        ls = s.settings
        is_tlsrpt = addresses.is_tls_report_address(s.ctx, args.path)
        if ls.require_starttls and not s.tls and not is_tlsrpt:
            # RFC 8460 section 3: TLS reports must be deliverable without TLS.
            raise SMTPError(c.C530_SECURITY_REQUIRED, c.SE_SEC_OTHER0, "STARTTLS required for mail delivery")
        if txn.mail_from.is_null and txn.rcpts:
            raise SMTPError(
                c.C452_STORAGE_FULL,
                c.SE_PROTO_TOO_MANY_RCPTS3,
                "only one recipient allowed with null reverse address",
            )
        if args.path.domain.startswith("["):
            raise SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_ADDR_UNKNOWN1, "not accepting email for ip")
        if txn.rcpts and not s.ctx.deps.localserve:
            await addresses.require_spf_pass_for_multiple(s, txn)
        addresses.resolve_incoming(s.ctx, r)
    txn.rcpts.append(r)
    s.reply(c.C250_COMPLETED, c.SE_ADDR_OTHER0, "now on the list")
