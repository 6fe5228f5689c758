"""One accepted connection as protocol servers see it: asyncio streams plus the facts of the
connection (listener, addresses, TLS state, connection id) and a STARTTLS upgrade that refuses
plaintext pipelined after the STARTTLS command (the STARTTLS injection attack, CVE-2011-0411
and its many successors; RFC 3207 section 4.2, RFC 9051 section 6.2.1).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from dataclasses import dataclass, field

from app import mlog


class StartTLSInjection(Exception):
    """The client sent bytes after STARTTLS before the TLS handshake: they must be discarded."""


@dataclass
class Conn:
    """A client connection. Complete from accept time on; ``tls`` changes only through starttls()."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    listener: str
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    implicit_tls: bool
    cid: int = field(default_factory=mlog.new_cid)
    tls: bool = False

    def __post_init__(self) -> None:
        self.tls = self.implicit_tls

    @classmethod
    def from_streams(
        cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener: str, implicit_tls: bool
    ) -> Conn:
        peer = writer.get_extra_info("peername") or ("", 0)
        sock = writer.get_extra_info("sockname") or ("", 0)
        return cls(
            reader=reader,
            writer=writer,
            listener=listener,
            local_ip=str(sock[0]),
            local_port=int(sock[1]) if len(sock) > 1 else 0,
            remote_ip=str(peer[0]),
            remote_port=int(peer[1]) if len(peer) > 1 else 0,
            implicit_tls=implicit_tls,
        )

    @functools.cached_property
    def remote_addr(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The client's address (IPv4-mapped IPv6 as IPv4), None when it is not an IP address."""
        try:
            ip = ipaddress.ip_address(self.remote_ip.split("%")[0])
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        return ip

    @property
    def ssl_object(self) -> ssl.SSLObject | None:
        """The TLS state (version, cipher, peer certificate, channel binding) or None."""
        obj = self.writer.get_extra_info("ssl_object")
        return obj if isinstance(obj, ssl.SSLObject) else None

    def pending_plaintext(self) -> int:
        """Bytes already received but not yet consumed by the protocol reader."""
        buf = getattr(self.reader, "_buffer", b"")
        return len(buf)

    def pause_reading(self) -> None:
        """Stop reading from the socket, before sending a STARTTLS go-ahead: the client's TLS
        hello may follow at once and must reach the TLS layer, not the plaintext buffer."""
        transport = self.writer.transport
        if hasattr(transport, "pause_reading"):
            transport.pause_reading()

    async def starttls(self, ctx: ssl.SSLContext, timeout: float = 30.0) -> None:
        """Upgrade to TLS after the protocol sent its go-ahead reply (after pause_reading()).

        Raises StartTLSInjection when plaintext was pipelined after the command; the caller
        must then close the connection without processing those bytes.
        """
        if self.pending_plaintext():
            raise StartTLSInjection("data pipelined after STARTTLS")
        # start_tls is awaited directly, not through wait_for: wrapping it in a task lets the
        # loop read the client's hello as plaintext before the upgrade begins.
        await self.writer.start_tls(ctx, ssl_handshake_timeout=timeout)
        self.tls = True

    async def close(self) -> None:
        """Close, ignoring errors of an already broken connection."""
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 3)
        except (TimeoutError, OSError, ssl.SSLError):
            pass
