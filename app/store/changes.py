"""Change broadcast: typed changes published to an account's subscribers after each commit.

The writer thread calls ``Broadcaster.publish`` after a transaction commits. Each subscriber has
a bounded queue; when it would grow past its limit the pending changes are dropped and the
subscription is marked overflowed, so a stuck IMAP session or SSE stream costs bounded memory
and learns it must resynchronize (IMAP: close the mailbox / BYE, webmail: reload the view).

Wake-up: a subscriber passes a ``notify`` callable and optionally an event loop; the writer calls
``loop.call_soon_threadsafe(notify)`` (asyncio) or ``notify()`` directly (threads). Waiting
threads can also block on ``Subscription.wait``. No asyncio is imported here (DESIGN: the store
is synchronous).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class LoopLike(Protocol):
    """The part of an asyncio event loop the broadcaster uses."""

    def call_soon_threadsafe(self, callback: Callable[[], object], /) -> object: ...


@dataclass(frozen=True)
class ChangeAddUID:
    """A message was added to a mailbox (delivery, append, copy, move)."""

    mailbox_id: int
    uid: int
    modseq: int
    flags: frozenset[str]
    message_id: int  # store id of the message row
    thread_id: int


@dataclass(frozen=True)
class ChangeRemoveUIDs:
    """Messages were expunged (or moved out) from a mailbox."""

    mailbox_id: int
    uids: tuple[int, ...]
    modseq: int


@dataclass(frozen=True)
class ChangeFlags:
    """A message's flags changed."""

    mailbox_id: int
    uid: int
    modseq: int
    flags: frozenset[str]


@dataclass(frozen=True)
class ChangeThread:
    """Messages had their thread mute/collapse state changed."""

    message_ids: tuple[int, ...]
    muted: bool
    collapsed: bool


@dataclass(frozen=True)
class ChangeMailboxAdd:
    mailbox_id: int
    name: str
    special_use: str


@dataclass(frozen=True)
class ChangeMailboxRemove:
    mailbox_id: int
    name: str


@dataclass(frozen=True)
class ChangeMailboxRename:
    mailbox_id: int
    old_name: str
    new_name: str


@dataclass(frozen=True)
class ChangeMailboxCounts:
    mailbox_id: int
    name: str
    total: int
    deleted: int
    unread: int
    unseen: int
    size: int


@dataclass(frozen=True)
class ChangeMailboxSpecialUse:
    mailbox_id: int
    name: str
    special_use: str


@dataclass(frozen=True)
class ChangeMailboxKeywords:
    mailbox_id: int
    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class ChangeSubscription:
    name: str
    subscribed: bool


@dataclass(frozen=True)
class ChangeAnnotation:
    mailbox_id: int | None
    mailbox_name: str
    key: str
    modseq: int


Change = (
    ChangeAddUID
    | ChangeRemoveUIDs
    | ChangeFlags
    | ChangeThread
    | ChangeMailboxAdd
    | ChangeMailboxRemove
    | ChangeMailboxRename
    | ChangeMailboxCounts
    | ChangeMailboxSpecialUse
    | ChangeMailboxKeywords
    | ChangeSubscription
    | ChangeAnnotation
)

DEFAULT_LIMIT = 10_000


class Subscription:
    """One subscriber's queue of changes. Create with ``Account.subscribe``."""

    def __init__(
        self,
        broadcaster: Broadcaster,
        notify: Callable[[], object] | None,
        loop: LoopLike | None,
        limit: int,
    ) -> None:
        self._b = broadcaster
        self._notify = notify
        self._loop = loop
        self._limit = max(1, limit)
        self._lock = threading.Lock()
        self._pending: list[Change] = []
        self._overflow = False
        self._event = threading.Event()
        self.closed = False

    def _push(self, changes: Sequence[Change]) -> None:
        with self._lock:
            if self.closed:
                return
            if self._overflow:
                pass
            elif len(self._pending) + len(changes) > self._limit:
                self._pending.clear()
                self._overflow = True
            else:
                self._pending.extend(changes)
            self._event.set()
        self._wake()

    def _wake(self) -> None:
        n = self._notify
        if n is None:
            return
        if self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(n)
            except RuntimeError:
                # The loop was closed; the subscriber is gone, it will never read.
                self.close()
        else:
            n()

    def take(self) -> tuple[list[Change], bool]:
        """Return and clear the pending changes, plus whether an overflow happened since the
        last take (then the list is empty and the subscriber must resynchronize)."""
        with self._lock:
            out, over = self._pending, self._overflow
            self._pending = []
            self._overflow = False
            self._event.clear()
        return out, over

    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending) or self._overflow

    def wait(self, timeout: float | None = None) -> bool:
        """Block (a thread, never the event loop) until changes are pending; False on timeout."""
        return self._event.wait(timeout)

    def close(self) -> None:
        """Stop receiving changes."""
        with self._lock:
            self.closed = True
            self._pending = []
        self._b._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Broadcaster:
    """The subscribers of one account; publish is called by the writer after a commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []

    def subscribe(
        self,
        notify: Callable[[], object] | None = None,
        loop: LoopLike | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Subscription:
        s = Subscription(self, notify, loop, limit)
        with self._lock:
            self._subs = [*self._subs, s]
        return s

    def _remove(self, s: Subscription) -> None:
        with self._lock:
            self._subs = [x for x in self._subs if x is not s]

    def publish(self, changes: Sequence[Change], origin: object | None = None) -> None:
        """Give ``changes`` to every subscriber except ``origin`` (the session that made them)."""
        if not changes:
            return
        for s in self._subs:
            if s is not origin:
                s._push(changes)

    def count(self) -> int:
        return len(self._subs)
