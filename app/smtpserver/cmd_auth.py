"""AUTH (RFC 4954) for submission: SASL mechanisms PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1/256 and
their -PLUS forms (channel binding tls-server-end-point, RFC 5929), EXTERNAL with a registered
TLS client certificate; initial responses; ``*`` cancels. Failed attempts are counted per
connection (slowdown, slow mode) and per IP class (``limits.AuthLimit``), and recorded.
"""

from __future__ import annotations

import asyncio
import base64
import binascii

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app import sasl
from app.runtime import run_blocking
from app.smtp import codes as c
from app.smtp.command import Command
from app.smtp.reply import SMTPError
from app.smtp.wire import Line, LineTooLong
from app.smtpserver.session import ConnectionClosed, Session

MAX_AUTH_LINE = 16 * 1024


def _channel_bindings(s: Session) -> dict[str, bytes]:
    if not s.tls:
        return {}
    der = s.ctx.deps.server_cert_der(s.conn.listener)
    if not der:
        return {}
    try:
        return {sasl.TLS_SERVER_END_POINT: sasl.tls_server_end_point(der)}
    except ValueError:
        return {}


def mechanisms(s: Session) -> list[str]:
    """What EHLO announces after AUTH, in mox's order."""
    require_tls = s.kind == "submission" and s.settings.submission_require_tls
    if not s.tls and require_tls:
        return []
    # As mox, -PLUS is announced on plain connections too, as a hint that TLS allows channel
    # binding; on TLS only when we have the certificate to bind to.
    plus = not s.tls or bool(_channel_bindings(s))
    names: list[str] = []
    if s.client_cert_account:
        names.append("EXTERNAL")
    for base in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        if plus:
            names.append(base + "-PLUS")
        names.append(base)
    names += ["CRAM-MD5", "PLAIN", "LOGIN"]
    return names


async def lookup_client_cert(s: Session) -> None:
    """After a TLS handshake: is the client certificate's public key registered (EXTERNAL)?"""
    obj = s.conn.ssl_object
    if obj is None:
        return
    der = obj.getpeercert(binary_form=True)
    if not der:
        return
    try:
        cert = x509.load_der_x509_certificate(der)
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except ValueError:
        return
    from app.store.authdb import public_key_fingerprint

    fp = public_key_fingerprint(spki)
    found = await run_blocking(s.ctx.deps.tls_public_key, fp)
    if found is not None:
        s.client_cert_account, s.client_cert_login = found[0], found[1]
        s.log.debug("tls client certificate registered", account=found[0], fingerprint=fp)


async def _read_response(s: Session) -> bytes | None:
    """One client response line, base64-decoded; None when the client cancelled with ``*``."""
    await s.flush()
    old = s.wire.max_line
    s.wire.max_line = MAX_AUTH_LINE
    try:
        ev = await s.next_event()
    finally:
        s.wire.max_line = old
    if isinstance(ev, LineTooLong):
        raise SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_SYNTAX2, "line too long", close=True)
    if not isinstance(ev, Line):
        raise ConnectionClosed("unexpected event")
    if ev.text == b"*":
        return None
    return _b64(ev.text)


def _b64(text: bytes) -> bytes:
    if text == b"=":
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "invalid base64") from None


async def _record(s: Session, account: str, login: str, mech: str, result: str) -> None:
    rec = s.ctx.deps.record_login
    if rec is None:
        return
    obj = s.conn.ssl_object
    tls = f"{obj.version()} {(obj.cipher() or ('',))[0]}" if obj is not None else ""
    try:
        await run_blocking(
            rec,
            account=account,
            login=login,
            result=result,
            mechanism=mech,
            remote_ip=s.conn.remote_ip,
            tls=tls,
            protocol="submission",
        )
    except Exception as e:
        s.log.error("recording login attempt", err=e)


async def auth(s: Session, cmd: Command) -> None:
    if not s.submission:
        raise SMTPError(
            c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "authentication only allowed on submission ports"
        )
    if s.account:
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "already authenticated")
    if not s.tls and s.kind == "submission" and s.settings.submission_require_tls:
        raise SMTPError(c.C538_ENC_REQ_FOR_AUTH, c.SE_SEC_ENC_REQ_FOR_AUTH11, "authentication requires tls")
    parts = cmd.arg.split(" ")
    if not s.ctx.deps.pedantic:
        # Windows Mail sends two spaces between "AUTH PLAIN" and the initial response.
        parts = [p for p in parts if p] or [""]
    if not parts[0] or len(parts) > 2:
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad AUTH syntax")
    name = parts[0].upper()
    if name not in mechanisms(s):
        raise SMTPError(c.C504_PARAM_NOT_IMPL, c.SE_PROTO_PARAM4, f"mechanism {name} not supported")
    if name.endswith("-PLUS") and not s.tls:
        raise SMTPError(
            c.C538_ENC_REQ_FOR_AUTH,
            c.SE_SEC_ENC_REQ_FOR_AUTH11,
            "scram plus mechanism requires tls connection",
        )
    addr = s.conn.remote_addr
    limits = s.ctx.limits.auth
    if addr is not None and not limits.allowed(addr):
        await _record(s, "", "", name, "ratelimited")
        raise SMTPError(c.C421_SERVICE_UNAVAIL, c.SE_SEC_OTHER0, "too many authentication failures")
    if s.auth_failures > 3:
        # mox: every further attempt on this connection costs a second more.
        await asyncio.sleep(min(s.auth_failures - 3, 15))

    lookup = s.ctx.deps.credential_lookup
    mech = sasl.new_server(
        name,
        lookup,
        channel_bindings=_channel_bindings(s) or None,
        external_identity=s.client_cert_login or None,
        hostname=s.hostname,
    )
    if mech is None:
        raise SMTPError(c.C504_PARAM_NOT_IMPL, c.SE_PROTO_PARAM4, f"mechanism {name} not supported")
    response: bytes | None = None
    if len(parts) == 2:
        response = _b64(parts[1].encode())  # RFC 4954 initial response; "=" is empty
    while True:
        outcome = await run_blocking(mech.step, response)
        if isinstance(outcome, sasl.Challenge):
            s.reply(c.C334_CONTINUE_AUTH, "", base64.b64encode(outcome.data).decode())
            response = await _read_response(s)
            if response is None:
                await _record(s, "", "", name, "aborted")
                raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_OTHER0, "authentication aborted")
            continue
        break
    if isinstance(outcome, sasl.Failure):
        s.auth_failures += 1
        if s.auth_failures >= 3:
            s.slow = True
        if addr is not None:
            limits.failed(addr)
        s.log.info("authentication failed", mech=name, username=outcome.username, reason=outcome.reason)
        tried = (s.ctx.account_for_login(outcome.username) or "") if outcome.username else ""
        await _record(s, tried, outcome.username, name, "badprotocol" if outcome.malformed else "badcreds")
        if outcome.malformed:
            raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "malformed authentication")
        raise SMTPError(c.C535_AUTH_BAD_CREDS, c.SE_SEC_AUTH_BAD_CREDS8, "bad user/pass")
    assert isinstance(outcome, sasl.Success)
    login = outcome.username
    account = s.client_cert_account if name == "EXTERNAL" else s.ctx.account_for_login(login)
    if not account:
        s.auth_failures += 1
        await _record(s, "", login, name, "badcreds")
        raise SMTPError(c.C535_AUTH_BAD_CREDS, c.SE_SEC_AUTH_BAD_CREDS8, "bad user/pass")
    acc = s.ctx.config.account(account)
    disabled = getattr(acc, "LoginDisabled", "") if acc is not None else ""
    if disabled:
        await _record(s, account, login, name, "logindisabled")
        raise SMTPError(c.C525_ACCOUNT_DISABLED, c.SE_SEC_LOGIN_DISABLED13, f"login disabled: {disabled}")
    if addr is not None:
        limits.succeeded(addr)
    s.account, s.login_address = account, login
    s.auth_failures = 0
    s.slow = False
    await _record(s, account, login, name, "ok")
    s.log.info("authenticated", account=account, mech=name)
    s.reply(
        c.C235_AUTH_SUCCESS,
        c.SE_SEC_OTHER0,
        "hello ancient smtp implementation" if name == "LOGIN" else "nice",
    )
