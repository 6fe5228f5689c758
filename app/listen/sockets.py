"""Binding the configured listener sockets (IPv4 and IPv6) before privileges are dropped.

All sockets are bound first so that a port in use is reported, naming the listener, the
service and the address, before anything starts serving.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field


class BindError(Exception):
    """A listener socket could not be bound; the message names listener, service and address."""


@dataclass(frozen=True)
class Endpoint:
    """One service of a listener on one address: ``local`` / ``smtp`` on ``127.0.0.1:1025``."""

    listener: str
    service: str
    ip: str
    port: int

    @property
    def addr(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


@dataclass
class Bound:
    """Bound, listening sockets of one endpoint (one socket per address)."""

    endpoint: Endpoint
    socks: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        for s in self.socks:
            s.close()


def bind(ep: Endpoint, backlog: int = 256) -> Bound:
    """Bind and listen on one endpoint. ``0.0.0.0`` and ``::`` mean all addresses of that family."""
    family = socket.AF_INET6 if ":" in ep.ip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_REUSEADDR") and not hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((ep.ip, ep.port))
        s.listen(backlog)
        s.setblocking(False)
    except OSError as e:
        s.close()
        why = "address already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise BindError(f"listener {ep.listener}: {ep.service} on {ep.addr}: {why}") from None
    return Bound(ep, [s])


def bind_all(endpoints: list[Endpoint]) -> list[Bound]:
    """Bind every endpoint; on the first failure close what was bound and raise BindError."""
    out: list[Bound] = []
    try:
        for ep in endpoints:
            out.append(bind(ep))
    except BindError:
        for b in out:
            b.close()
        raise
    return out
