"""The message store: one apsw SQLite database per account (DESIGN.md "Storage").

Layout: ``<data_dir>/accounts/<name>.db`` in WAL mode with ``synchronous=FULL``; message bytes in
a separate ``chunk`` table (128 KB chunks), metadata in ``message``, the parsed MIME structure
(``app.message.Part.to_bytes``) stored per message, an FTS5 word index (unicode61, case and
diacritics folded) of decoded text and headers, expunge tombstones, one account-wide modseq
(RFC 7162). Schema migrations are numbered
and applied at open; a database from a newer moxpy is refused (``NewerSchema``).

Concurrency: each account has ONE writer thread doing group commit: callers queue a write, the
writer runs everything queued in one transaction (each write in its own savepoint so one failing
write, e.g. over quota, does not affect the others), commits, publishes the changes, then wakes
the callers. A write method returns only after the commit, so "returned" means "on disk".
Deliveries to one mailbox queued together run as one batch (one counter, mailbox and count
update for all; a failing batch is undone and its deliveries run one by one), and after a group
the writer waits a moment for its callers' next writes so concurrent deliverers share commits
(``groupcommit``).
Reads check a connection out of a small per-account pool for their duration, so they never wait
for the writer (WAL) and open files stay bounded. The API is synchronous: asyncio code calls it
with ``await app.runtime.run_blocking(account.deliver, ...)``. Database failures (disk full, I/O
errors) surface as ``StorageFailure``, a ``StoreError``: answer with a temporary error.

Public API
----------
``Store(data_dir, initial_mailboxes=None, quota=0)``
    ``quota`` is bytes (0 or negative: unlimited) or a callable ``account_name -> int``
    (the composition root maps mox's per-account QuotaMessageSize over the global default).
    ``store.account(name, create=False) -> Account`` (cached; ``AccountUnavailable`` naming the
    file when missing/corrupt/newer; the server refuses that account and serves the others),
    ``store.create_account(name)`` (``AccountExists`` when the db exists),
    ``store.remove_account(name)``, ``store.account_names()``, ``store.db_path(name)``,
    ``store.close()``.

``Account`` (all mailbox arguments are a mailbox id or name; "INBOX" in any case is "Inbox")
    Writes (block until committed; ``origin`` is the caller's own ``Subscription`` so it is not
    told about its own changes):
    ``deliver(mailbox, data, flags=(), received=None, facts=None, origin=None) -> DeliveredMessage``
        parse, thread, FTS-index and store in one transaction; quota-checked (``QuotaExceeded``,
        nothing stored).
    ``append(mailbox, items: Sequence[AppendItem], origin=None) -> (uidvalidity, [uid])`` atomic.
    ``create_mailbox(name, special_use="", subscribe=True, origin=None) -> Mailbox`` (creates
        missing parents), ``rename_mailbox(old, new, origin=None) -> Mailbox`` (children move;
        renaming Inbox moves its messages to the new mailbox and leaves Inbox empty),
        ``delete_mailbox(name, origin=None)`` (not Inbox, not with children; removes messages and
        annotations), ``set_subscribed(name, on, origin=None)``,
        ``set_special_use(mailbox, use, origin=None)``.
    ``set_flags(mailbox, uids, mode, flags, unchanged_since=None, origin=None) -> SetFlagsResult``
        mode "add" | "remove" | "replace"; flags are IMAP names (see ``model``).
    ``copy(src, uids, dst, origin=None) -> CopyResult``, ``move(...) -> CopyResult``.
    ``expunge(mailbox, uids=None, only_deleted=True, origin=None) -> ExpungeResult``.
    ``set_thread(message_ids, muted=None, collapsed=None, origin=None)``.
    ``tidy_rejects(mailbox, max_age=14 days, max_messages=1000)``,
    ``remove_by_message_id(mailbox, message_id)`` (mox's Rejects mailbox housekeeping).
    ``set_annotation(mailbox_or_None, key, value_or_None, is_string=True, origin=None)``.
    ``set_setting(key, value)`` / ``setting(key) -> str | None`` (account key/value settings).
    Reads:
    ``mailbox(m) -> Mailbox``, ``list_mailboxes() -> list[Mailbox]``, ``subscriptions()``,
    ``mailbox_status(m) -> MailboxStatus``, ``uids_flags(m) -> list[(uid, modseq, flags)]``,
    ``message_meta(m, uids) -> list[MessageMeta]``, ``message_by_id(id)``, ``facts(msg)``,
    ``list_messages(m, limit=100, before=None)`` (newest first, paged by (received, id)),
    ``changed_since(m, modseq)``, ``expunged_since(m, modseq) -> list[uid]``,
    ``highest_modseq()``, ``read(msg) -> bytes``, ``read_range(msg, offset, length)``,
    ``open_reader(msg) -> BinaryIO``, ``parsed(msg) -> Part``,
    ``search_text(m, needle) -> set[uid] | None`` (FTS5 word search, the words of ``needle`` as a
        phrase, the last one as a prefix; None when the needle has no words; not RFC 9051
        substring semantics, which need a scan),
    ``thread_messages(thread_id)``, ``annotations(m_or_None)``, ``quota_usage() -> (used, limit)``,
    ``reputation(m, facts) -> Reputation(junk, conclusive, method)`` (mox's history-based sender
    reputation), ``add_recipients([(localpart, domain, org_domain)])`` (submission records
    who the account wrote to; such senders count as wanted).
    Broadcast: ``subscribe(notify=None, loop=None, limit=10000) -> Subscription``;
    ``sub.take() -> (changes, overflowed)``, ``sub.wait(timeout)``, ``sub.close()``. Changes
    are published after the commit (readers already see them); ``notify`` runs on the writer
    thread, or on ``loop`` via ``call_soon_threadsafe``, so it must be quick and never write.
    Past ``limit`` pending changes the queue is dropped and ``take`` reports the overflow: the
    subscriber resynchronizes (IMAP: BYE or re-select; webmail: reload the view).
    Consistency (``maintenance``): ``verify() -> list[str]`` (empty: all invariants hold),
    ``recalculate_counts()``, ``bump_uidvalidity(m=None)``, ``reassign_uids(m=None)``,
    ``fix_uid_meta()``, ``reassign_threads()``.

Change types (``changes``): ChangeAddUID, ChangeRemoveUIDs, ChangeFlags, ChangeThread,
ChangeMailboxAdd, ChangeMailboxRemove, ChangeMailboxRename, ChangeMailboxCounts,
ChangeMailboxSpecialUse, ChangeMailboxKeywords, ChangeSubscription, ChangeAnnotation.

The auth database, credentials, import/export and backup modules of this package belong to
the store-admin part (``authdb``, ``credentials``, ``importer``, ``exporter``, ``backup``).
"""

from __future__ import annotations

from app.store.changes import (
    Change,
    ChangeAddUID,
    ChangeAnnotation,
    ChangeFlags,
    ChangeMailboxAdd,
    ChangeMailboxCounts,
    ChangeMailboxKeywords,
    ChangeMailboxRemove,
    ChangeMailboxRename,
    ChangeMailboxSpecialUse,
    ChangeRemoveUIDs,
    ChangeSubscription,
    ChangeThread,
    Subscription,
)
from app.store.errors import (
    AccountExists,
    AccountUnavailable,
    AnnotationLimit,
    InvalidFlag,
    InvalidMailboxName,
    MailboxExists,
    MailboxNotEmpty,
    MailboxNotFound,
    MessageGone,
    NewerSchema,
    QuotaExceeded,
    StorageFailure,
    StoreClosed,
    StoreError,
)
from app.store.model import (
    Annotation,
    AppendItem,
    CopyResult,
    DeliveredMessage,
    DeliveryFacts,
    ExpungeResult,
    FlagsChanged,
    InitialMailboxes,
    Mailbox,
    MailboxCounts,
    MailboxStatus,
    MessageMeta,
    SetFlagsResult,
)

__all__ = [
    "AccountExists",
    "AccountUnavailable",
    "Annotation",
    "AnnotationLimit",
    "AppendItem",
    "Change",
    "ChangeAddUID",
    "ChangeAnnotation",
    "ChangeFlags",
    "ChangeMailboxAdd",
    "ChangeMailboxCounts",
    "ChangeMailboxKeywords",
    "ChangeMailboxRemove",
    "ChangeMailboxRename",
    "ChangeMailboxSpecialUse",
    "ChangeRemoveUIDs",
    "ChangeSubscription",
    "ChangeThread",
    "CopyResult",
    "DeliveredMessage",
    "DeliveryFacts",
    "ExpungeResult",
    "FlagsChanged",
    "InitialMailboxes",
    "InvalidFlag",
    "InvalidMailboxName",
    "Mailbox",
    "MailboxCounts",
    "MailboxExists",
    "MailboxNotEmpty",
    "MailboxNotFound",
    "MailboxStatus",
    "MessageGone",
    "MessageMeta",
    "NewerSchema",
    "QuotaExceeded",
    "SetFlagsResult",
    "StorageFailure",
    "StoreClosed",
    "StoreError",
    "Subscription",
]

from app.store.account import Account
from app.store.store import Store

__all__ += ["Account", "Reputation", "Store"]
