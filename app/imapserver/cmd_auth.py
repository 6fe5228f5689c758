"""Authentication and session setup: STARTTLS (RFC 9051 section 6.2.1), LOGIN (6.2.3),
AUTHENTICATE (6.2.2, RFC 4959 SASL-IR), ENABLE (RFC 5161), UNAUTHENTICATE (RFC 8437) and
COMPRESS=DEFLATE (RFC 4978).

Failed logins are slowed down, counted per IP class and recorded; a few failures on one
connection end it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ssl
from typing import NoReturn

from app import sasl
from app.imap import Parser
from app.imapserver import capabilities, changes
from app.imapserver.errors import Bad, Bye, No
from app.imapserver.session import Session, State
from app.runtime import run_blocking


def _require_tls(s: Session) -> bool:
    from app.imapserver.conn import require_tls

    return require_tls(s)


async def cmd_starttls(s: Session, p: Parser, tag: str) -> str:
    p.end()
    if s.conn.tls:
        raise Bad("already using TLS")
    ctx = s.deps.tls_context(s.conn.listener)
    if ctx is None:
        raise No("TLS not available")
    if s.reader.pending():
        # Commands pipelined after STARTTLS would be run under TLS (the injection attack).
        raise Bye("data sent after STARTTLS before TLS handshake")

    async def upgrade() -> None:
        # Runs right after the OK was handed to the transport, without the event loop having
        # run in between, so anything already buffered was sent before our OK: injection.
        if s.reader.pending() or s.conn.pending_plaintext():
            raise Bye("data sent after STARTTLS before TLS handshake")
        try:
            # Not Conn.starttls: it wraps start_tls in wait_for, which schedules it as a task,
            # and the loop may read the client's TLS hello as plaintext before the task runs
            # (seen with uvloop). Called directly, start_tls stops plaintext reading before
            # it first yields; the handshake timeout is its own parameter.
            await s.conn.writer.start_tls(ctx, ssl_handshake_timeout=30)
            s.conn.tls = True
        except (OSError, TimeoutError, ssl.SSLError) as e:
            s.log.debug("tls handshake failed", err=e)
            from app.imapserver.session import ConnectionClosed

            raise ConnectionClosed("tls handshake failed") from None
        from app.imapserver.tlsauth import recognize_client_cert

        recognize_client_cert(s)

    s.after_ok = upgrade
    return "begin TLS now"


async def _failed(s: Session, username: str, mechanism: str, reason: str) -> NoReturn:
    s.auth_failures += 1
    s.deps.limiter.failed(s.conn.remote_ip)
    _record(s, "", username, "badcreds", mechanism)
    s.log.info("authentication failed", username=username, mech=mechanism, reason=reason)
    if s.deps.auth_fail_delay > 0:
        await asyncio.sleep(s.deps.auth_fail_delay * min(s.auth_failures, 5))
    if s.auth_failures >= s.deps.max_auth_failures:
        raise Bye("too many authentication failures")
    raise No("invalid credentials", "AUTHENTICATIONFAILED")


def _record(s: Session, account: str, username: str, result: str, mechanism: str) -> None:
    rec = s.deps.record_login
    if rec is None:
        return
    try:
        rec(
            account=account, login=username, result=result, mechanism=mechanism,
            remote_ip=s.conn.remote_ip, tls=s.conn.tls, protocol="imap",
        )  # fmt: skip
    except Exception as e:  # recording must never break a login
        s.log.error("recording login attempt", err=e)


def _check_allowed(s: Session) -> None:
    if not s.deps.limiter.allowed(s.conn.remote_ip):
        raise No("too many authentication failures from your network, try again later", "UNAVAILABLE")


async def login(s: Session, username: str, account_name: str, mechanism: str) -> str:
    """Enter the authenticated state for an account; returns the tagged OK text."""
    try:
        # A configured account gets its database on first use, as mox does.
        account = await run_blocking(s.deps.store.account, account_name, True)
    except Exception as e:
        s.log.error("opening account", account=account_name, err=e)
        raise No("account temporarily unavailable", "UNAVAILABLE")
    s.account = account
    s.username = username
    s.account_name = account_name
    s.state = State.AUTH
    s.reader.authenticated = True  # larger literals and lines from now on (also for PREAUTH)
    from app.imapserver.conn import MAX_LINE

    s.reader.max_line = MAX_LINE
    s.disabled_caps = list(s.deps.capabilities_disabled(account_name))
    acc_cfg = s.deps.config.account(account_name) if s.deps.config is not None else None
    s.disabled_caps += list(getattr(acc_cfg, "IMAPCapabilitiesDisabled", None) or [])
    changes.subscribe(s)
    s.deps.limiter.succeeded(s.conn.remote_ip)
    _record(s, account_name, username, "ok", mechanism)
    s.log.info("authenticated", username=username, account=account_name, mech=mechanism)
    from app.imapserver.conn import capability_list

    return f"[CAPABILITY {' '.join(capability_list(s))}] authenticated"


async def cmd_login(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    username = p.astring()
    p.sp()
    password = p.astring()
    p.end()
    if _require_tls(s) and not s.conn.tls:
        raise No("login only after STARTTLS", "PRIVACYREQUIRED")
    _check_allowed(s)
    mech = sasl.PlainServer(s.deps.credential_lookup)
    initial = b"\0" + username.encode() + b"\0" + password.encode()
    outcome = await run_blocking(mech.step, initial)
    if not isinstance(outcome, sasl.Success):
        await _failed(s, username, "login", getattr(outcome, "reason", "challenge"))
    return await _finish(s, outcome.username, "login")


async def _finish(s: Session, username: str, mechanism: str) -> str:
    account = s.deps.account_for_login(username)
    if account is None:
        await _failed(s, username, mechanism, "no account for login")
    return await login(s, username, account, mechanism)


def _decode_b64(line: bytes) -> bytes:
    if line == b"=":
        return b""
    try:
        return base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise Bad("invalid base64 in authentication data")


async def cmd_authenticate(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    name = p.atom_upper()
    initial: bytes | None = None
    if p.take_sp():
        initial = _decode_b64(p.atom().encode())
    p.end()
    tls = s.conn.tls
    if name in ("PLAIN", "LOGIN") and _require_tls(s) and not tls:
        raise No("plaintext authentication only after STARTTLS", "PRIVACYREQUIRED")
    if name == "LOGIN":
        raise No("mechanism not supported, use the LOGIN command", "CANNOT")
    bindings: dict[str, bytes] = {}
    cert = s.deps.server_cert_der(s.conn.listener) if tls else None
    if cert is not None:
        bindings[sasl.TLS_SERVER_END_POINT] = sasl.tls_server_end_point(cert)
    mech = sasl.new_server(
        name,
        s.deps.credential_lookup,
        channel_bindings=bindings,
        external_identity=s.client_cert_login or None,
        hostname=s.deps.hostname,
    )
    if mech is None or (name == "EXTERNAL" and not s.client_cert_login):
        raise No(f"mechanism {name} not supported", "CANNOT")
    _check_allowed(s)
    response = initial
    while True:
        outcome = await run_blocking(mech.step, response)
        if isinstance(outcome, sasl.Challenge):
            s.send(b"+ " + base64.b64encode(outcome.data))
            line = await s.read_line(s.deps.preauth_timeout)
            if line == b"*":
                raise Bad("authentication cancelled")
            response = _decode_b64(line)
            continue
        if isinstance(outcome, sasl.Failure):
            if outcome.malformed:
                raise Bad("malformed authentication exchange")
            await _failed(s, outcome.username, name.lower(), outcome.reason)
        assert isinstance(outcome, sasl.Success)
        if name == "EXTERNAL":
            return await login(s, outcome.username, s.client_cert_account, "external")
        return await _finish(s, outcome.username, name.lower())


async def cmd_enable(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    names = [p.atom_upper()]
    while p.take_sp():
        names.append(p.atom_upper())
    p.end()
    newly: list[str] = []
    for n in names:
        if n not in capabilities.ENABLEABLE or capabilities.is_disabled(n, s.disabled_caps):
            continue
        implied = ["CONDSTORE", "QRESYNC"] if n == "QRESYNC" else [n]
        for x in implied:
            if x not in s.enabled:
                s.enabled.add(x)
                newly.append(x)
    if "CONDSTORE" in newly or "QRESYNC" in newly:
        changes.enable_condstore(s)
    display = {"IMAP4REV2": "IMAP4rev2"}
    s.untagged("ENABLED" + "".join(" " + display.get(n, n) for n in newly))
    return "ENABLE completed"


async def cmd_unauthenticate(s: Session, p: Parser, tag: str) -> str:
    p.end()
    changes.unsubscribe(s)
    s.selected = None
    s.account = None
    s.username = ""
    s.account_name = ""
    s.enabled.clear()
    s.disabled_caps = []
    s.search_result = []
    s.state = State.NOTAUTH
    return "UNAUTHENTICATE completed"


async def cmd_compress(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    alg = p.atom_upper()
    p.end()
    if alg != "DEFLATE":
        raise No("unsupported compression algorithm", "CANNOT")
    if s.compressing:
        raise No("already compressing", "COMPRESSIONACTIVE")

    async def start() -> None:
        s.start_compress()

    s.after_ok = start
    return "DEFLATE active"
