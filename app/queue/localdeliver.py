"""Local delivery through the configuration and the store: DSNs into the sender account's
mailbox, and in localserve mode every queued message into the account of its recipient (unknown
recipients go to the localserve account, as mox's localserve)."""

from __future__ import annotations

from typing import Any

from app.queue.deps import LocalDeliveryError
from app.queue.model import split_address


class StoreDelivery:
    """LocalDelivery on ``config.lookup_address`` and ``store.account(name).deliver``."""

    def __init__(self, config: Any, store: Any, localserve: bool, localserve_account: str = "mox") -> None:
        self.config = config
        self.store = store
        self.localserve = localserve
        self.localserve_account = localserve_account

    def deliver_to_account(self, account: str, mailbox: str, data: bytes, seen: bool = False) -> None:
        if self.store is None:
            raise LocalDeliveryError(False, 451, "4.3.0", "no message store available")
        from app.store.errors import MailboxNotFound, QuotaExceeded, StoreError

        flags = ("\\Seen",) if seen else ()
        try:
            acc = self.store.account(account)
            try:
                acc.deliver(mailbox, data, flags=flags)
            except MailboxNotFound:
                # As mox: a destination mailbox that does not exist is created on delivery.
                acc.create_mailbox(mailbox)
                acc.deliver(mailbox, data, flags=flags)
        except QuotaExceeded:
            raise LocalDeliveryError(False, 452, "4.2.2", "mailbox full") from None
        except StoreError as e:
            raise LocalDeliveryError(False, 451, "4.3.0", f"account {account}: {e}") from None

    def deliver_to_address(self, mail_from: str, rcpt: str, data: bytes) -> None:
        try:
            local, domain = split_address(rcpt)
        except ValueError:
            raise LocalDeliveryError(True, 550, "5.1.3", f"invalid recipient address {rcpt!r}") from None
        match = None
        lookup = getattr(self.config, "lookup_address", None)
        if lookup is not None:
            match = lookup(local, domain)
        if match is None:
            if not self.localserve:
                raise LocalDeliveryError(True, 550, "5.1.1", "no such user")
            account, mailbox = self.localserve_account, "Inbox"
        else:
            account = str(getattr(match, "account", "") or getattr(match, "AccountName", ""))
            dest = getattr(match, "destination", None)
            mailbox = str(getattr(dest, "Mailbox", "") or "Inbox")
        received = f"Received: from localserve queue; for <{rcpt}>\r\n".encode()
        self.deliver_to_account(account, mailbox, received + data)
