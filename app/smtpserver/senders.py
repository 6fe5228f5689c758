"""Which correspondents an account already knows, for mox's first-time-sender delay: the
first message from an unknown address is answered only after a delay (default 15 s,
``SMTP.FirstTimeSenderDelay``), which costs legitimate senders nothing but slows down bulk
senders. Addresses become known when a message from them is accepted, and when the account
sends a message to them. Kept in the account's key/value settings, so it survives restarts.
Synchronous (store calls): run through the worker pool.
"""

from __future__ import annotations

import time
from typing import Any

_PREFIX = "smtpserver.known:"


def _key(address: str) -> str:
    return _PREFIX + address.strip().lower()


def is_known(store: Any, account: str, address: str) -> bool:
    return bool(store.account(account).setting(_key(address)) is not None)


def remember(store: Any, account: str, addresses: list[str]) -> None:
    acc = store.account(account)
    for a in addresses:
        if a and acc.setting(_key(a)) is None:
            acc.set_setting(_key(a), str(int(time.time())))
