"""The state of one SMTP connection and of its current mail transaction (RFC 5321 section 3.3).

A ``Session`` is complete from accept time on. Handlers change it; the connection loop in
``conn.py`` owns reading and writing. Replies are buffered in ``out`` and flushed when no
further command line is already buffered, so pipelined commands (RFC 2920) are answered with
one write.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from app import mlog
from app.listen.conn import Conn
from app.smtp.command import Path
from app.smtp.reply import SMTPError, reply_bytes
from app.smtp.wire import NEED_DATA, Event, ServerWire

if TYPE_CHECKING:
    from app.smtpserver.server import ListenerSettings, ServerContext

Kind = Literal["smtp", "submission", "submissions"]


class ConnectionClosed(Exception):
    """The client went away (EOF, reset) or a read/write deadline passed."""


@dataclass
class Rcpt:
    """One accepted recipient with what RCPT TO learned about it."""

    path: Path
    notify: tuple[str, ...] | None = None  # RFC 3461 NOTIFY
    orcpt: str = ""  # RFC 3461 ORCPT, "addr-type;xtext-decoded address"
    account: str = ""  # incoming: destination account ("" when unknown or alias)
    destination: Any = None  # incoming: the config Destination
    alias: Any = None  # incoming: the config Alias when the address is an alias
    alias_members: list[tuple[str, Any, str]] = field(default_factory=list)  # (account, dest, address)
    unknown: bool = False  # incoming: no such user; rejected after DATA
    postmaster: bool = False


@dataclass
class Transaction:
    """A mail transaction from MAIL FROM until the message is handled or RSET."""

    mail_from: Path
    size: int | None = None
    body_8bit: bool = False
    smtputf8: bool = False
    requiretls: bool = False
    hold_until: float | None = None
    future_release: str = ""
    dsn_ret: str = ""
    dsn_envid: str = ""
    rcpts: list[Rcpt] = field(default_factory=list)
    spf: Any = None  # SPF verdict for MAIL FROM, computed when needed
    bdat: bytearray | None = None  # message being received with BDAT
    bdat_error: SMTPError | None = None  # error to answer at BDAT LAST
    started: float = field(default_factory=time.monotonic)


@dataclass
class Session:
    """One SMTP connection."""

    ctx: ServerContext
    conn: Conn
    kind: Kind
    log: mlog.Log
    wire: ServerWire
    settings: ListenerSettings  # the listener's settings when the connection was accepted
    hostname: str
    max_size: int
    read_timeout: float = 30.0
    out: bytearray = field(default_factory=bytearray)
    hello: str = ""  # EHLO/HELO argument, "" until given
    ehlo: bool = False  # EHLO (not HELO) was used
    txn: Transaction | None = None
    account: str = ""  # authenticated account (submission)
    login_address: str = ""
    auth_failures: int = 0
    client_cert_account: str = ""  # account of a registered TLS client public key
    client_cert_login: str = ""
    ncommands: int = 0
    bad_txns: int = 0  # failed DATA/BDAT transactions
    good_txns: int = 0  # delivered or queued transactions
    recvid: str = ""  # the connection id as in Received headers, appended to error replies
    slow: bool = False  # slow mode for spammy or failing clients (mox "keep them busy")
    # Facts that hold for the whole connection, reused by its later messages: mail-auth results
    # (iprev of the client IP, SPF of its HELO name and of a MAIL FROM, their Received-SPF
    # field) and MAIL FROM domains found to accept mail.
    auth_cache: dict[tuple[str, ...], Any] = field(default_factory=dict)
    closing: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def tls(self) -> bool:
        return self.conn.tls

    @property
    def submission(self) -> bool:
        return self.kind != "smtp"

    @property
    def state(self) -> str:
        """Dispatch state: ``init`` before a greeting, ``ready`` between transactions, ``mail`` inside one."""
        if not self.hello:
            return "init"
        return "mail" if self.txn is not None else "ready"

    def reply(self, code: int, secode: str, *lines: str) -> None:
        self.out += reply_bytes(code, secode, lines or ("",))

    def reply_error(self, e: SMTPError) -> None:
        """An error reply; as mox, the last line carries the Received id so a user can quote it
        and the administrator can find the log lines (``moxpy cid``)."""
        lines = e.text.split("\n")
        if self.recvid:
            lines[-1] = f"{lines[-1]} ({self.recvid})"
        self.out += reply_bytes(e.code, e.secode, tuple(lines))

    async def flush(self) -> None:
        if not self.out:
            return
        data = bytes(self.out)
        self.out.clear()
        if self.log.enabled(mlog.TRACE):
            self.log.trace("write", data=data.decode("utf-8", "replace"))
        if self.slow:
            await asyncio.sleep(1)
        writer = self.conn.writer
        try:
            writer.write(data)
            if writer.transport.get_write_buffer_size() == 0 and not writer.transport.is_closing():
                # All handed to the socket: nothing to wait for, so no deadline to arm (a broken
                # connection shows at the next read).
                return
            async with asyncio.timeout(self.read_timeout):
                await writer.drain()
        except (OSError, TimeoutError, ssl.SSLError) as e:
            raise ConnectionClosed(str(e)) from None

    async def receive(self) -> None:
        """Read more bytes into the wire (flushing pending replies first)."""
        await self.flush()
        if self.slow:
            await asyncio.sleep(1)
        try:
            if self.conn.pending_plaintext():
                data = await self.conn.reader.read(65536)  # buffered already: returns at once
            else:
                # asyncio.timeout, not wait_for: no task per read, and cancellation at shutdown
                # is delivered directly to the read.
                async with asyncio.timeout(self.read_timeout):
                    data = await self.conn.reader.read(65536)
        except (OSError, TimeoutError, ssl.SSLError) as e:
            raise ConnectionClosed(str(e) or type(e).__name__) from None
        if not data:
            raise ConnectionClosed("eof")
        self.wire.receive(data)

    async def next_event(self) -> Event:
        """The next wire event, reading from the connection as needed."""
        while True:
            ev = self.wire.next_event()
            if ev is not NEED_DATA:
                return ev  # type: ignore[return-value]
            await self.receive()

    def reset_transaction(self) -> None:
        self.txn = None
