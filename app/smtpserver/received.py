"""The Received header an SMTP server prepends (RFC 5321 section 4.4), in mox's form, with the
protocol names of RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP...) and RFC 8689's
``(requiretls)`` note.
"""

from __future__ import annotations

import email.utils
import ssl
import time

from app.message.headers import fold

_last_date: tuple[int, str] = (-1, "")


def _date(now: float | None) -> str:
    """RFC 5322 date-time of ``now`` (default: the current time); the text of the current second
    is remembered, as every message of that second needs it."""
    global _last_date
    if now is not None:
        return email.utils.formatdate(now, localtime=False, usegmt=False)
    t = time.time()
    sec, text = _last_date
    if int(t) != sec:
        text = email.utils.formatdate(t, localtime=False, usegmt=False)
        _last_date = (int(t), text)
    return text


def protocol(ehlo: bool, tls: bool, authenticated: bool, smtputf8: bool) -> str:
    p = ("UTF8SMTP" if smtputf8 else "ESMTP") if ehlo else "SMTP"
    if tls:
        p += "S"
    if authenticated:
        p += "A"
    return p


def tls_comment(obj: ssl.SSLObject | None) -> str:
    if obj is None:
        return ""
    cipher = obj.cipher()
    name = cipher[0] if cipher else ""
    return f"(version={obj.version() or ''} cipher={name})"


def received_header(
    *,
    helo: str,
    remote_ip: str,
    remote_name: str,
    hostname: str,
    local_ip: str,
    with_: str,
    requiretls: bool,
    recvid: str,
    tls: str,
    rcpt: str,
    now: float | None = None,
) -> bytes:
    """``Received:`` field, folded, CRLF-terminated. ``rcpt`` may be "" (several recipients).
    With ``remote_ip`` "" the client is not described (submission: internal hosts stay hidden)."""
    lipl = f"[IPv6:{local_ip}]" if ":" in local_ip else f"[{local_ip}]"
    if remote_ip:
        ipl = f"[IPv6:{remote_ip}]" if ":" in remote_ip else f"[{remote_ip}]"
        name = f"{remote_name} " if remote_name and remote_name != helo else ""
        frm = f"from {helo or ipl} ({name}{ipl})"
    else:
        frm = f"from {helo}"
    parts = [frm, f"by {hostname} ({lipl})"]
    parts.append(f"via tcp with {with_}" + (" (requiretls)" if requiretls else ""))
    parts.append(f"id {recvid}")
    if tls:
        parts.append(tls)
    if rcpt:
        parts.append(f"for <{rcpt}>")
    value = " ".join(parts) + "; " + _date(now)
    value = value.replace("\r", " ").replace("\n", " ")
    return fold("Received", value).encode("utf-8")
