"""The state of one IMAP connection (RFC 9051 section 3: not authenticated, authenticated,
selected, logout) and its buffered output. Complete from accept time on.
"""

from __future__ import annotations

import asyncio
import enum
import ssl
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app import mlog
from app.imap import CommandReader, Fatal
from app.imapserver.errors import Bye
from app.listen.conn import Conn

if TYPE_CHECKING:
    from app.imapserver.deps import IMAPDeps
    from app.imapserver.selected import MailboxView

FLUSH_AT = 64 * 1024
DRAIN_AT = 256 * 1024


class State(enum.Enum):
    NOTAUTH = "notauth"
    AUTH = "auth"
    SELECTED = "selected"
    LOGOUT = "logout"


@dataclass
class Session:
    conn: Conn
    deps: IMAPDeps
    log: mlog.Log
    reader: CommandReader
    state: State = State.NOTAUTH
    username: str = ""
    account_name: str = ""
    account: Any = None  # app.store.Account once authenticated
    subscription: Any = None  # the account's change subscription
    enabled: set[str] = field(default_factory=set)
    disabled_caps: list[str] = field(default_factory=list)
    selected: MailboxView | None = None
    search_result: list[int] = field(default_factory=list)  # SEARCHRES "$", as UIDs
    commands_seen: int = 0
    auth_failures: int = 0
    preauth: bool = False
    client_cert_account: str = ""  # account of a recognized TLS client certificate
    client_cert_login: str = ""
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # set when changes arrive
    out: bytearray = field(default_factory=bytearray)
    after_ok: Callable[[], Awaitable[None]] | None = None  # runs once the tagged OK is sent
    notify: Any = None  # notify.Notify while NOTIFY SET is active
    live_searches: dict[str, Any] = field(default_factory=dict)  # CONTEXT=SEARCH UPDATE, by tag
    _compress: Any = None
    _decompress: Any = None

    # State

    @property
    def utf8(self) -> bool:
        """Whether UTF-8 may be used in strings and mailbox names (RFC 9051, RFC 6855)."""
        return "IMAP4REV2" in self.enabled or "UTF8=ACCEPT" in self.enabled

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled or "QRESYNC" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    @property
    def uidonly(self) -> bool:
        """RFC 9586: no message sequence numbers in either direction."""
        return "UIDONLY" in self.enabled

    @property
    def vanished(self) -> bool:
        """Expunges are reported as VANISHED (QRESYNC, UIDONLY) instead of EXPUNGE."""
        return "QRESYNC" in self.enabled or "UIDONLY" in self.enabled

    def fetch_line(self, seq: int, uid: int, items: list[bytes]) -> bytes:
        """A FETCH response (without "* "): ``n FETCH (UID u ...)``, or with UIDONLY
        ``u UIDFETCH (...)`` (RFC 9586 section 3.3)."""
        if "UIDONLY" in self.enabled:
            return b"%d UIDFETCH (" % uid + b" ".join(items) + b")"
        return b"%d FETCH (" % seq + b" ".join([b"UID %d" % uid, *items]) + b")"

    @property
    def rev2(self) -> bool:
        return "IMAP4REV2" in self.enabled

    # Output

    def send(self, line: bytes) -> None:
        """Queue one response line (without CRLF)."""
        self.out += line
        self.out += b"\r\n"

    def untagged(self, text: str | bytes) -> None:
        self.send(b"* " + (text.encode() if isinstance(text, str) else text))

    async def flush(self) -> None:
        if not self.out:
            return
        data = bytes(self.out)
        self.out.clear()
        if self._compress is not None:
            data = self._compress.compress(data) + self._compress.flush(zlib.Z_SYNC_FLUSH)
        self.log.trace("write", n=len(data))
        w = self.conn.writer
        try:
            w.write(data)
            # Wait only when the transport holds back much (a slow reader); the common case of
            # a drained socket costs no task or timer.
            if w.transport.get_write_buffer_size() > DRAIN_AT:
                async with asyncio.timeout(self.deps.write_timeout):
                    await w.drain()
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError, RuntimeError) as e:
            raise ConnectionClosed(str(e)) from None

    def write_now(self) -> None:
        """Hand queued output to the transport without yielding to the event loop.

        Used before STARTTLS: between the tagged OK and the TLS upgrade the loop must not
        run, or the client's TLS hello would be read as plaintext (and taken for injection).
        """
        data = bytes(self.out)
        self.out.clear()
        if self._compress is not None:
            data = self._compress.compress(data) + self._compress.flush(zlib.Z_SYNC_FLUSH)
        try:
            self.conn.writer.write(data)
        except (OSError, ssl.SSLError, ConnectionError, RuntimeError) as e:
            raise ConnectionClosed(str(e)) from None

    async def maybe_flush(self) -> None:
        """Flush when much output is queued (FETCH of many messages streams this way)."""
        if len(self.out) >= FLUSH_AT:
            await self.flush()

    def start_compress(self) -> None:
        """Switch to DEFLATE in both directions (RFC 4978), after the tagged OK went out."""
        self._compress = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._decompress = zlib.decompressobj(-15)
        rest = self.reader.take_pending()
        if rest:
            self.reader.feed(self._decompress.decompress(rest))

    @property
    def compressing(self) -> bool:
        return self._compress is not None

    # Input

    async def read_more(self, timeout: float) -> bool:
        """Read more bytes into the reader; False at end of stream."""
        await self.flush()
        try:
            async with asyncio.timeout(timeout):
                data = await self.conn.reader.read(65536)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError):
            return False
        if not data:
            return False
        return self.feed_raw(data)

    def feed_raw(self, data: bytes) -> bool:
        """Feed bytes as received (decompressing when COMPRESS is active); False if corrupt."""
        if self._decompress is not None:
            try:
                data = self._decompress.decompress(data)
            except zlib.error:
                return False
        self.reader.feed(data)
        return True

    async def read_line(self, timeout: float) -> bytes:
        """One raw line (IDLE's DONE, an AUTHENTICATE response)."""
        while True:
            line = self.reader.next_line()
            if isinstance(line, Fatal):
                raise Bye(line.message)
            if line is not None:
                return line
            if not await self.read_more(timeout):
                raise ConnectionClosed("connection closed")


class ConnectionClosed(Exception):
    """The peer went away or stopped reading; nothing more can be written."""
