"""Errors raised by the message store.

Every error the store raises derives from ``StoreError``; protocol servers map them to replies
(``QuotaExceeded`` to SMTP 452 4.2.2 / IMAP ``[OVERQUOTA]``, ``MailboxNotFound`` to IMAP
``[NONEXISTENT]``, ``MailboxExists`` to ``[ALREADYEXISTS]``, ``AccountUnavailable`` to a temporary
failure for that account only).
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every store error; the message is safe to show to an administrator."""


class AccountUnavailable(StoreError):
    """The account database is missing, corrupt, or written by a newer moxpy.

    ``path`` names the database file so the administrator knows which one to look at.
    """

    def __init__(self, account: str, path: str, reason: str) -> None:
        super().__init__(f"account {account!r} unavailable: {path}: {reason}")
        self.account = account
        self.path = path
        self.reason = reason


class NewerSchema(AccountUnavailable):
    """The database has a schema version newer than this code understands."""


class AccountExists(StoreError):
    """Creating an account whose database already exists."""


class StorageFailure(StoreError):
    """The database failed (disk full, I/O error, ...): a temporary failure for the caller."""


class StoreClosed(StoreError):
    """The store or account was closed while the operation was pending."""


class MailboxNotFound(StoreError):
    """No mailbox with that name or id."""


class MailboxExists(StoreError):
    """A mailbox with that name already exists."""


class InvalidMailboxName(StoreError):
    """The mailbox name is not acceptable (empty, bad hierarchy, control characters...)."""


class MailboxNotEmpty(StoreError):
    """An operation refused because the mailbox still has children (delete of a parent)."""


class MessageGone(StoreError):
    """The message (or its bytes) no longer exists: it was expunged."""


class QuotaExceeded(StoreError):
    """Storing would take the account over its quota; nothing was stored."""

    def __init__(self, usage: int, size: int, limit: int) -> None:
        super().__init__(f"quota exceeded: usage {usage} + {size} bytes > limit {limit}")
        self.usage = usage
        self.size = size
        self.limit = limit


class AnnotationLimit(StoreError):
    """Too many annotations or too large in total (IMAP METADATA TOOMANY / MAXSIZE)."""

    def __init__(self, kind: str, limit: int) -> None:
        super().__init__(f"annotation limit: {kind} (limit {limit})")
        self.kind = kind  # "toomany" or "maxsize"
        self.limit = limit


class InvalidFlag(StoreError):
    """A flag or keyword that is not a valid IMAP atom, or an unknown system flag."""


class ImportAborted(Exception):
    """An import was aborted (by the caller's abort event); nothing of it remains."""


class SourceError(Exception):
    """An import's source cannot be read; raised before anything was added, or after cleanup."""
