"""The SMTP client session (RFC 5321) over asyncio streams: greeting, EHLO (HELO fallback),
STARTTLS (RFC 3207), AUTH (RFC 4954), and message transactions using PIPELINING (RFC 2920),
SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), REQUIRETLS (RFC 8689), LIMITS
(RFC 9422), CHUNKING (RFC 3030), DSN (RFC 3461) and ENHANCEDSTATUSCODES (RFC 2034).

Nothing we send contains a bare CR or LF: commands are checked, message data is normalized to
CRLF line endings. Bytes a server sends after its STARTTLS go-ahead and before the handshake are
refused (an injection attempt). Connection setup (DNS, dialing) is in gather.py and dial.py.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from dataclasses import dataclass
from enum import Enum

from app import mlog
from app.sasl import PasswordError, ScramClient, ScramError
from app.smtpclient import sasl
from app.smtpclient.reply import Reply, SMTPClientError, read_reply

COMMAND_TIMEOUT = 300.0  # RFC 5321 §4.5.3.2 suggests 5 minutes for most replies.
GREETING_TIMEOUT = 300.0
DATA_TIMEOUT = 600.0

_DOT_ATOM = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+)*$"
)
_QUOTED = re.compile(r'^"([\x20\x21\x23-\x5b\x5d-\x7e\x80-\U0010ffff]|\\[\x20-\x7e])*"$')
_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


class TLSMode(Enum):
    IMMEDIATE = "immediate"  # the connection is TLS from the start (submissions)
    REQUIRED = "required"  # STARTTLS must be offered and succeed
    OPPORTUNISTIC = "opportunistic"  # STARTTLS when offered; a handshake failure is reported as kind "tls"
    SKIP = "skip"  # plain text


@dataclass(frozen=True)
class RcptTo:
    address: str
    notify: tuple[str, ...] | None = None
    orcpt: str = ""


@dataclass(frozen=True)
class RcptResult:
    address: str
    ok: bool
    code: int
    secode: str
    text: str

    @property
    def permanent(self) -> bool:
        return not self.ok and self.code >= 500


def format_path(addr: str) -> str:
    """``<local@domain>`` with the localpart quoted when it is not a dot-atom (RFC 5321 §4.1.2)."""
    if addr == "":
        return "<>"
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise SMTPClientError(True, "policy", f"invalid address {addr!r}", 0, "5.1.3")
    if not (_DOT_ATOM.match(local) or _QUOTED.match(local)):
        local = '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = f"<{local}@{domain}>"
    if any(ord(c) < 32 or ord(c) == 127 for c in out):
        raise SMTPClientError(True, "policy", f"control character in address {addr!r}", 0, "5.1.3")
    return out


def xtext(s: str) -> str:
    """RFC 3461 §4 xtext encoding (ORCPT, ENVID)."""
    return "".join(
        c if 33 <= ord(c) <= 126 and c not in "+=" else "".join(f"+{b:02X}" for b in c.encode()) for c in s
    )


def normalize_crlf(data: bytes) -> bytes:
    """Turn bare CR and bare LF into CRLF and make sure the data ends with CRLF."""
    if _BARE.search(data):
        data = _BARE.sub(b"\r\n", data)
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def dot_stuff(data: bytes) -> bytes:
    """DATA encoding (RFC 5321 §4.5.2): a leading dot doubled on each line, then ``.CRLF``."""
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


class Client:
    """One SMTP session. Create with ``await Client.open(...)``; ``close()`` when done."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        remote_hostname: str,
        log: mlog.Log | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.remote_hostname = remote_hostname
        self.log = log or mlog.get("smtpclient")
        self.timeout = timeout
        self.extensions: dict[str, str] = {}
        self.tls = False
        self.tls_verified = False
        self.broken = False
        self.greeting: Reply | None = None

    # --- low level ---

    async def _write(self, data: bytes) -> None:
        try:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), self.timeout)
        except TimeoutError:
            self.broken = True
            raise SMTPClientError(False, "timeout", "timeout writing to remote") from None
        except (OSError, ConnectionError, ssl.SSLError) as e:
            self.broken = True
            raise SMTPClientError(False, "protocol", f"writing to remote: {e}") from None

    async def command(self, line: str) -> None:
        """Send one command line; refuses CR/LF in it."""
        if "\r" in line or "\n" in line:
            raise SMTPClientError(True, "policy", "CR or LF in command")
        self.log.trace("client", line=line if not line.startswith("AUTH ") else line.split(" ")[0] + " ...")
        await self._write(line.encode("utf-8") + b"\r\n")

    async def reply(self, timeout: float | None = None) -> Reply:
        try:
            r = await read_reply(self.reader, timeout or self.timeout)
        except SMTPClientError:
            self.broken = True
            raise
        self.log.trace("server", code=r.code, text=r.text[:200])
        return r

    async def cmd(self, line: str, timeout: float | None = None) -> Reply:
        await self.command(line)
        return await self.reply(timeout)

    def has(self, ext: str) -> bool:
        return ext in self.extensions

    # --- session setup ---

    @classmethod
    async def open(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        ehlo_hostname: str,
        remote_hostname: str,
        tls_mode: TLSMode,
        tls_context: ssl.SSLContext | None = None,
        auth: tuple[str, str, tuple[str, ...]] | None = None,
        log: mlog.Log | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> Client:
        """Greeting, EHLO, STARTTLS per ``tls_mode`` and EHLO again, AUTH when ``auth`` is given
        as (username, password, mechanisms). Raises SMTPClientError; closes on failure."""
        c = cls(reader, writer, remote_hostname, log, timeout)
        try:
            await c._setup(ehlo_hostname, tls_mode, tls_context, auth)
        except BaseException:
            await c.close(quit=False)
            raise
        return c

    async def _setup(
        self,
        ehlo_hostname: str,
        tls_mode: TLSMode,
        tls_context: ssl.SSLContext | None,
        auth: tuple[str, str, tuple[str, ...]] | None,
    ) -> None:
        if tls_mode is TLSMode.IMMEDIATE:
            self.tls = self.writer.get_extra_info("ssl_object") is not None
            self.tls_verified = self.tls and bool(
                tls_context and tls_context.verify_mode == ssl.CERT_REQUIRED
            )
        g = await self.reply(GREETING_TIMEOUT)
        self.greeting = g
        if g.code != 220:
            raise g.error("remote refused connection")
        await self._ehlo(ehlo_hostname)
        if tls_mode in (TLSMode.REQUIRED, TLSMode.OPPORTUNISTIC):
            if not self.has("STARTTLS"):
                if tls_mode is TLSMode.REQUIRED:
                    raise SMTPClientError(False, "tls", "remote does not offer STARTTLS, but TLS is required")
            else:
                await self._starttls(tls_context or unverified_context())
                await self._ehlo(ehlo_hostname)
        if auth is not None:
            await self._auth(*auth)

    async def _ehlo(self, hostname: str) -> None:
        r = await self.cmd(f"EHLO {hostname}")
        if r.code == 250:
            exts: dict[str, str] = {}
            for line in r.lines[1:]:
                word, _, rest = line.strip().partition(" ")
                exts[word.upper()] = rest
            self.extensions = exts
            return
        if r.code >= 500 and r.code not in (554,):
            r = await self.cmd(f"HELO {hostname}")
            if r.code == 250:
                self.extensions = {}
                return
        raise r.error("EHLO/HELO not accepted")

    async def _starttls(self, ctx: ssl.SSLContext) -> None:
        r = await self.cmd("STARTTLS")
        if r.code != 220:
            raise SMTPClientError(r.permanent, "tls", "STARTTLS refused", r.code, r.secode, r.first_line)
        # A reply pipelined behind the go-ahead came from before TLS: an injection attempt.
        if len(getattr(self.reader, "_buffer", b"")):
            self.broken = True
            raise SMTPClientError(False, "protocol", "remote sent data after STARTTLS go-ahead before TLS")
        try:
            await asyncio.wait_for(
                self.writer.start_tls(ctx, server_hostname=self.remote_hostname or None), self.timeout
            )
        except TimeoutError:
            self.broken = True
            raise SMTPClientError(False, "tls", "timeout during TLS handshake") from None
        except (ssl.SSLError, ssl.CertificateError, OSError, ConnectionError) as e:
            self.broken = True
            raise SMTPClientError(False, "tls", f"TLS handshake: {e}") from None
        self.tls = True
        self.tls_verified = ctx.verify_mode == ssl.CERT_REQUIRED
        self.extensions = {}

    def server_cert(self) -> bytes | None:
        obj = self.writer.get_extra_info("ssl_object")
        if not isinstance(obj, ssl.SSLObject):
            return None
        try:
            return obj.getpeercert(binary_form=True)
        except (ValueError, ssl.SSLError):
            return None

    async def _auth(self, username: str, password: str, mechanisms: tuple[str, ...]) -> None:
        offered = self.extensions.get("AUTH", "").split()
        mech = sasl.choose(offered, mechanisms, username, password, self.server_cert())
        if mech is None:
            raise SMTPClientError(
                True, "auth", f"no usable authentication mechanism (server offers {offered})"
            )
        first = mech.start()
        line = f"AUTH {mech.name}"
        if first is not None:
            line += " " + (base64.b64encode(first).decode() or "=")
        r = await self.cmd(line)
        try:
            while r.code == 334:
                try:
                    challenge = base64.b64decode(r.text.strip(), validate=True)
                except ValueError:
                    raise ScramError("invalid base64 in server challenge") from None
                r = await self.cmd(base64.b64encode(mech.step(challenge)).decode())
            if r.code == 235 and isinstance(mech, ScramClient) and not mech.verified:
                # Server-final may come as additional data of the 235 reply; without it the
                # server has not proven it knows the password.
                try:
                    mech.finish(base64.b64decode(r.text.split()[-1] if r.text else "", validate=True))
                except ValueError:
                    raise ScramError("server did not send its SCRAM signature") from None
        except (ScramError, PasswordError, UnicodeError) as e:
            if r.code == 334:
                await self.command("*")
            self.broken = True
            raise SMTPClientError(True, "auth", f"authentication: {e}") from None
        if r.code != 235:
            raise SMTPClientError(
                r.permanent, "auth", "authentication failed", r.code, r.secode, r.first_line
            )

    # --- transactions ---

    def limit(self, name: str) -> int:
        """A LIMITS value (RFC 9422), e.g. RCPTMAX; 0 when absent."""
        for item in self.extensions.get("LIMITS", "").split():
            k, _, v = item.partition("=")
            if k.upper() == name and v.isdigit():
                return int(v)
        return 0

    async def deliver(
        self,
        mail_from: str,
        rcpts: list[RcptTo],
        data: bytes,
        *,
        smtputf8: bool = False,
        has_8bit: bool = False,
        requiretls: bool = False,
        dsn_ret: str = "",
        dsn_envid: str = "",
    ) -> list[RcptResult]:
        """Deliver one message to recipients (in several transactions when RCPTMAX requires).

        Returns a result per recipient; raises SMTPClientError for failures affecting all of them
        (MAIL FROM refused, requirements the server cannot meet, broken connection).
        """
        # SMTPUTF8 (RFC 6531) is required for non-ASCII localparts (domains go as A-labels); a
        # message that merely asked for it is sent without when the server lacks it, as mox does.
        need_utf8 = not all(a.rpartition("@")[0].isascii() for a in [mail_from, *(r.address for r in rcpts)])
        if need_utf8 and not self.has("SMTPUTF8"):
            raise SMTPClientError(
                True, "policy", "address needs SMTPUTF8 but remote does not support it", 0, "5.6.7"
            )
        smtputf8 = (smtputf8 or need_utf8) and self.has("SMTPUTF8")
        if requiretls and not self.has("REQUIRETLS"):
            raise SMTPClientError(
                True, "policy", "REQUIRETLS requested but remote does not support it", 0, "5.7.30"
            )
        if requiretls and not self.tls:
            raise SMTPClientError(
                True, "policy", "REQUIRETLS requested but connection is not TLS", 0, "5.7.30"
            )
        data = normalize_crlf(data)
        size_limit = self.extensions.get("SIZE", "")
        if size_limit.isdigit() and int(size_limit) > 0 and len(data) > int(size_limit):
            raise SMTPClientError(
                True, "policy", f"message too large for remote ({size_limit} bytes max)", 0, "5.3.4"
            )
        rcptmax = self.limit("RCPTMAX") or len(rcpts) or 1
        out: list[RcptResult] = []
        for i in range(0, len(rcpts), rcptmax):
            out += await self._transaction(
                mail_from, rcpts[i : i + rcptmax], data, smtputf8, has_8bit, requiretls, dsn_ret, dsn_envid
            )
        return out

    def _mail_line(
        self,
        mail_from: str,
        size: int,
        smtputf8: bool,
        has_8bit: bool,
        requiretls: bool,
        ret: str,
        envid: str,
    ) -> str:
        line = f"MAIL FROM:{format_path(mail_from)}"
        if self.has("SIZE"):
            line += f" SIZE={size}"
        if has_8bit and self.has("8BITMIME"):
            line += " BODY=8BITMIME"
        if smtputf8:
            line += " SMTPUTF8"
        if requiretls:
            line += " REQUIRETLS"
        if self.has("DSN"):
            if ret:
                line += f" RET={ret.upper()}"
            if envid:
                line += f" ENVID={xtext(envid)}"
        return line

    def _rcpt_line(self, r: RcptTo) -> str:
        line = f"RCPT TO:{format_path(r.address)}"
        if self.has("DSN"):
            if r.notify:
                line += " NOTIFY=" + ",".join(n.upper() for n in r.notify)
            if r.orcpt:
                typ, _, addr = r.orcpt.partition(";")
                line += f" ORCPT={typ};{xtext(addr)}"
        return line

    async def _transaction(
        self,
        mail_from: str,
        rcpts: list[RcptTo],
        data: bytes,
        smtputf8: bool,
        has_8bit: bool,
        requiretls: bool,
        ret: str,
        envid: str,
    ) -> list[RcptResult]:
        mail = self._mail_line(mail_from, len(data), smtputf8, has_8bit, requiretls, ret, envid)
        rlines = [self._rcpt_line(r) for r in rcpts]
        chunking = self.has("CHUNKING")
        pipelining = self.has("PIPELINING")
        results: list[RcptResult] = []
        if pipelining:
            batch = [mail, *rlines] + ([] if chunking else ["DATA"])
            for line in batch:
                if "\r" in line or "\n" in line:
                    raise SMTPClientError(True, "policy", "CR or LF in command")
                self.log.trace("client", line=line)
            await self._write(b"".join(x.encode("utf-8") + b"\r\n" for x in batch))
            mr = await self.reply()
            rrs = [await self.reply() for _ in rlines]
            dr = None if chunking else await self.reply()
        else:
            mr = await self.cmd(mail)
            if mr.code != 250:
                raise mr.error("MAIL FROM not accepted")
            rrs = [await self.cmd(line) for line in rlines]
            dr = None
        for r, rr in zip(rcpts, rrs, strict=True):
            results.append(RcptResult(r.address, rr.code in (250, 251), rr.code, rr.secode, rr.first_line))
        accepted = [x for x in results if x.ok]
        if mr.code != 250:
            if dr is not None and dr.code == 354:
                await self._write(b".\r\n")
                await self.reply(DATA_TIMEOUT)
            raise mr.error("MAIL FROM not accepted")
        if not accepted:
            if dr is not None and dr.code == 354:
                # The server accepted DATA without recipients; send an empty message to end it.
                await self._write(b".\r\n")
                await self.reply(DATA_TIMEOUT)
            else:
                await self.cmd("RSET")
            return results
        if chunking:
            self.log.trace("client", line=f"BDAT {len(data)} LAST")
            await self._write(f"BDAT {len(data)} LAST\r\n".encode() + data)
            final = await self.reply(DATA_TIMEOUT)
        else:
            if dr is None:
                dr = await self.cmd("DATA")
            if dr.code != 354:
                err = dr.error("DATA not accepted")
                return [
                    RcptResult(x.address, False, err.code, err.secode, err.line) if x.ok else x
                    for x in results
                ]
            await self._write(dot_stuff(data))
            final = await self.reply(DATA_TIMEOUT)
        ok = final.code == 250
        return [
            RcptResult(x.address, ok, final.code, final.secode, final.first_line) if x.ok else x
            for x in results
        ]

    async def reset(self) -> None:
        """RSET between transactions on a reused connection."""
        r = await self.cmd("RSET")
        if r.code != 250:
            raise r.error("RSET not accepted")

    async def close(self, quit: bool = True) -> None:
        if quit and not self.broken:
            try:
                await asyncio.wait_for(self.cmd("QUIT"), 5)
            except (SMTPClientError, TimeoutError):
                pass
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 3)
        except (TimeoutError, OSError, ConnectionError, ssl.SSLError):
            pass


def unverified_context() -> ssl.SSLContext:
    """For opportunistic STARTTLS without a policy: encrypt, but do not verify (RFC 7435)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def verified_context(cafile: str | None = None) -> ssl.SSLContext:
    """PKIX verification against the system roots (or ``cafile``) with hostname checking."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
