"""What the queue needs from the rest of the server, given by the composition root.

``LocalDelivery`` is how the queue puts messages into local accounts: DSNs for the sender, and in
localserve mode every outgoing message. app/serve.py passes the store-backed implementation
(``app.queue.localdeliver.StoreDelivery``); tests may pass their own.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class LocalDeliveryError(Exception):
    """A local delivery failed; ``permanent`` decides between a retry and a failure DSN."""

    def __init__(self, permanent: bool, code: int, secode: str, text: str) -> None:
        super().__init__(text)
        self.permanent = permanent
        self.code = code
        self.secode = secode
        self.text = text


class LocalDelivery(Protocol):
    """Synchronous delivery into accounts (called through run_blocking)."""

    def deliver_to_account(self, account: str, mailbox: str, data: bytes, seen: bool = False) -> None:
        """Deliver into a named mailbox of an account (DSNs go to "Inbox")."""
        ...

    def deliver_to_address(self, mail_from: str, rcpt: str, data: bytes) -> None:
        """Deliver to an address as incoming mail would be (localserve: unknown addresses go to the
        localserve account). Raises LocalDeliveryError."""
        ...


@dataclass
class QueueDeps:
    """Dependencies of the queue.

    config: app.config.Config (``.static`` mox.conf with Hostname, Transports; ``.dynamic``
    domains.conf with Routes, Domains[..].Routes, Accounts[..].Routes/KeepRetiredMessagePeriod).
    resolver: app.dns Resolver (async lookups) for direct delivery.
    data_dir: the data directory; the queue keeps ``queue.db`` in it.
    """

    config: Any
    data_dir: Path
    resolver: Any = None
    store: Any = None
    localserve: bool = False
    local_delivery: LocalDelivery | None = None
    hostname: str = ""  # EHLO name; default config.static.Hostname
    smtp_port: int = 25  # destination port of direct (MX) delivery; tests use other ports
    tls_context: ssl.SSLContext | None = None  # for PKIX-verified connections; default: system CAs
    max_concurrent: int = 10
    localserve_account: str = "mox"  # localserve: where mail to unknown addresses goes
    # Called from a pool thread with ("delivered" | "failed" | "delayed", Msg) after each
    # outcome is recorded: the hook for webhooks and metrics.
    on_event: Callable[[str, Any], None] | None = None
