"""Message submission for ``moxpy sendmail``: the ``/etc/moxsubmit.conf`` settings (mox's
format, printed by ``moxpy config describe-sendmail``), preparing a message read from a local
program (recipients from arguments or, with ``-t``, from To/Cc/Bcc; Bcc removed; From, Date and
Message-ID added when missing; LF line ends turned into CRLF), and submitting it over SMTP
(RFC 6409) with implicit TLS or STARTTLS and authentication.
"""

from __future__ import annotations

import email.utils
import secrets
import socket
from dataclasses import dataclass

from app.config.schema import opt, parse_as, req
from app.smtpclient.client import Client, RcptTo, TLSMode, unverified_context, verified_context
from app.smtpclient.dial import dial
from app.smtpclient.reply import SMTPClientError


@dataclass
class SubmitConf:
    LocalHostname: str = opt("Hostname to use in EHLO and Message-ID; the system hostname when empty.", "")
    Host: str = req("Host to connect to for submitting mail.", "")
    Port: int = opt("Port to connect to; 465 with TLS, 587 otherwise, when zero.", 0)
    TLS: bool = opt("Connect with TLS from the start, usually to port 465.", False)
    STARTTLS: bool = opt("Connect in plain text, then require STARTTLS, usually on port 587 or 25.", False)
    TLSInsecureSkipVerify: bool = opt("Do not verify the server's TLS certificate.", False)
    Username: str = req("Username for SMTP authentication.", "")
    Password: str = req("Password for SMTP authentication.", "")
    AuthMethod: str = opt("SASL mechanism to use, e.g. SCRAM-SHA-256; the strongest offered when empty.", "")
    From: str = req("Address for MAIL FROM and for the From header when the message has none.", "")
    DefaultDestination: str = opt(
        "Address for recipients without @ (local users such as root); they fail when empty.", ""
    )
    RequireTLS: str = opt("yes: require REQUIRETLS on the whole path; no: send TLS-Required: No.", "")


def load_conf(text: str, filename: str = "/etc/moxsubmit.conf") -> SubmitConf:
    """Parse moxsubmit.conf text (raises app.config.ConfigError)."""
    return parse_as(SubmitConf, text, filename)[0]


def describe_sendmail() -> str:
    from app.config.describe import describe

    return describe(SubmitConf, "moxsubmit.conf: settings for moxpy sendmail")


def local_hostname(conf: SubmitConf) -> str:
    return conf.LocalHostname or socket.gethostname() or "localhost"


def _header_block(data: bytes) -> tuple[list[bytes], bytes]:
    """Split into header lines (each with CRLF, continuation lines joined) and body."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    end = data.find(b"\r\n\r\n")
    if data.startswith(b"\r\n"):
        return [], data[2:]
    head, body = (data, b"") if end < 0 else (data[: end + 2], data[end + 4 :])
    fields: list[bytes] = []
    for line in head.split(b"\r\n")[:-1] if head.endswith(b"\r\n") else head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields, body


def _name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def prepare(
    conf: SubmitConf,
    data: bytes,
    args: list[str],
    read_headers: bool,
    mail_from: str = "",
    full_name: str = "",
) -> tuple[str, list[str], bytes]:
    """(MAIL FROM, recipients, message bytes) for a message from a local program."""
    fields, body = _header_block(data)
    rcpts = list(args)
    if read_headers:
        values = [
            f.split(b":", 1)[1].decode("utf-8", "replace").replace("\r\n", "")
            for f in fields
            if _name(f) in (b"to", b"cc", b"bcc")
        ]
        rcpts += [a for _, a in email.utils.getaddresses(values) if a]
    fields = [f for f in fields if _name(f) != b"bcc"]
    out: list[str] = []
    for r in rcpts:
        if "@" not in r:
            if not conf.DefaultDestination:
                raise SMTPClientError(
                    True, "policy", f"recipient {r!r} has no domain and no DefaultDestination is set"
                )
            r = conf.DefaultDestination
        out.append(r)
    if not out:
        raise SMTPClientError(True, "policy", "no recipients")
    sender = mail_from or conf.From
    host = local_hostname(conf)
    names = {_name(f) for f in fields}
    add: list[bytes] = []
    if b"from" not in names:
        add.append(f"From: {email.utils.formataddr((full_name, sender))}\r\n".encode())
    if b"date" not in names:
        add.append(f"Date: {email.utils.formatdate(localtime=True)}\r\n".encode())
    if b"message-id" not in names:
        add.append(f"Message-ID: <{secrets.token_hex(12)}@{host}>\r\n".encode())
    if conf.RequireTLS == "no" and b"tls-required" not in names:
        add.append(b"TLS-Required: No\r\n")
    msg = b"".join(add + fields) + b"\r\n" + body
    return sender, out, msg


async def submit(
    conf: SubmitConf, mail_from: str, rcpts: list[str], data: bytes, timeout: float = 60
) -> None:
    """Submit to the configured server; SMTPClientError when any recipient is refused."""
    port = conf.Port or (465 if conf.TLS else 587)
    ctx = unverified_context() if conf.TLSInsecureSkipVerify else verified_context()
    if conf.TLS:
        d = await dial([conf.Host], port, tls=ctx, server_hostname=conf.Host, timeout=timeout)
        mode = TLSMode.IMMEDIATE
    else:
        d = await dial([conf.Host], port, timeout=timeout)
        mode = TLSMode.REQUIRED if conf.STARTTLS else TLSMode.SKIP
    auth = None
    if conf.Username:
        auth = (conf.Username, conf.Password, (conf.AuthMethod,) if conf.AuthMethod else ())
    c = await Client.open(
        d.reader,
        d.writer,
        ehlo_hostname=local_hostname(conf),
        remote_hostname=conf.Host,
        tls_mode=mode,
        tls_context=ctx,
        auth=auth,
        timeout=timeout,
    )
    try:
        has_8bit = any(b > 127 for b in data)
        results = await c.deliver(
            mail_from,
            [RcptTo(r) for r in rcpts],
            data,
            has_8bit=has_8bit,
            smtputf8=not all(r.isascii() for r in [mail_from, *rcpts]),
            requiretls=conf.RequireTLS == "yes",
        )
    finally:
        await c.close()
    bad = [r for r in results if not r.ok]
    if bad:
        raise SMTPClientError(
            any(r.permanent for r in bad),
            "reply",
            "; ".join(f"{r.address}: {r.text}" for r in bad),
            bad[0].code,
            bad[0].secode,
        )
