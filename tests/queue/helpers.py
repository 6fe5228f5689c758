"""Shared pieces of the queue tests: a configuration shaped like app.config's (mox field
names), a LocalDelivery that keeps what it is given, and a polling wait."""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from app.queue import LocalDeliveryError


def make_config(
    transports: dict[str, Any] | None = None,
    routes: list[Any] | None = None,
    account_routes: list[Any] | None = None,
    keep_retired: str = "24h",
    hostname: str = "mail.example.org",
) -> SimpleNamespace:
    static = SimpleNamespace(
        Hostname=hostname,
        Transports=transports or {},
        Postmaster=SimpleNamespace(Account="admin", Mailbox="Postmaster"),
    )
    acc = SimpleNamespace(KeepRetiredMessagePeriod=keep_retired, Routes=account_routes or [])
    dynamic = SimpleNamespace(
        Accounts={"mjl": acc, "other": SimpleNamespace(KeepRetiredMessagePeriod="", Routes=[])},
        Domains={"example.org": SimpleNamespace(Routes=[])},
        Routes=routes or [],
    )
    return SimpleNamespace(static=static, dynamic=dynamic)


@dataclass
class Delivered:
    account: str
    mailbox: str
    data: bytes
    seen: bool = False

    def parsed(self) -> email.message.EmailMessage:
        m = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(m, email.message.EmailMessage)
        return m


@dataclass
class CollectingDelivery:
    """LocalDelivery keeping deliveries in memory; addresses map to accounts by localpart."""

    delivered: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_accounts: set[str] = field(default_factory=set)

    def deliver_to_account(self, account: str, mailbox: str, data: bytes, seen: bool = False) -> None:
        if account in self.fail_accounts:
            raise LocalDeliveryError(False, 451, "4.3.0", "account unavailable")
        with self.lock:
            self.delivered.append(Delivered(account, mailbox, data, seen))

    def deliver_to_address(self, mail_from: str, rcpt: str, data: bytes) -> None:
        if rcpt.startswith("unknown@"):
            raise LocalDeliveryError(True, 550, "5.1.1", "no such user")
        self.deliver_to_account(rcpt.split("@")[0], "Inbox", data)

    def dsns(self) -> list[Delivered]:
        with self.lock:
            return [d for d in self.delivered if b"multipart/report" in d.data]


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def dsn_status(d: Delivered) -> list[dict[str, str]]:
    """The per-recipient fields of a DSN's delivery-status part."""
    m = d.parsed()
    for part in m.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            if part.get_content_type() == "message/delivery-status":
                blocks_ = part.get_payload()
                assert isinstance(blocks_, list)
                return [{k.lower(): str(v) for k, v in b.items()} for b in blocks_[1:]]
            # message/global-delivery-status (RFC 6533): the email package sees one message.
            text = part.as_bytes().decode("utf-8").replace("\r\n", "\n").split("\n\n", 1)[1]
            blocks = [b for b in text.split("\n\n") if b.strip()]
            return [
                {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in b.splitlines())}
                for b in blocks[1:]
            ]
    raise AssertionError("no delivery-status part")


MSG = (
    b"From: mjl@example.org\r\nTo: a@dest.example\r\nSubject: test message\r\n"
    b"Message-ID: <m1@example.org>\r\n\r\nHello.\r\n"
)

ZONE = """
dest.example. MX 10 mx.dest.example.
mx.dest.example. A 127.0.0.1
other.example. MX 10 mx.dest.example.
localhost. A 127.0.0.1
nullmx.example. MX 0 .
"""
