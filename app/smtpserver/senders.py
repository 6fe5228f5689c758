"""Which correspondents an account already knows, for mox's first-time-sender delay: the
first message from an unknown address is answered only after a delay (default 15 s,
``SMTP.FirstTimeSenderDelay``), which costs legitimate senders nothing but slows down bulk
senders. Addresses become known when a message from them is accepted, and when the account
sends a message to them. Kept in the account's key/value settings, so it survives restarts.
Synchronous (store calls): run through the worker pool.

Addresses found known are also remembered in memory per open account (nothing ever makes an
address unknown again, and a removed account is a new account object), so the common case, a
correspondent seen before, costs no database read.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

_PREFIX = "smtpserver.known:"

# account object -> setting keys known to be stored
_known: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()


def _key(address: str) -> str:
    return _PREFIX + address.strip().lower()


def _cached(acc: Any) -> set[str]:
    with _known_lock:
        known = _known.get(acc)
        if known is None:
            known = _known[acc] = set()
        return known


def _stored(acc: Any, key: str) -> bool:
    known = _cached(acc)
    if key in known:
        return True
    if acc.setting(key) is None:
        return False
    known.add(key)
    return True


def is_known(store: Any, account: str, address: str) -> bool:
    return _stored(store.account(account), _key(address))


def remember(store: Any, account: str, addresses: list[str]) -> None:
    acc = store.account(account)
    for a in addresses:
        if a and not _stored(acc, _key(a)):
            acc.set_setting(_key(a), str(int(time.time())))
            _cached(acc).add(_key(a))
