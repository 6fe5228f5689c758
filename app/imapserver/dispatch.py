"""The commands allowed in each connection state (RFC 9051 section 6), as one explicit table.
Client input only ever selects an entry of this table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.imap import Parser
from app.imapserver import (
    cmd_any,
    cmd_append,
    cmd_auth,
    cmd_copy,
    cmd_fetch,
    cmd_mailbox,
    cmd_search,
    cmd_sort,
    cmd_store,
    context,
    idle,
    metadata,
    multisearch,
    notify,
    quota,
)
from app.imapserver.session import Session, State

Handler = Callable[[Session, Parser, str], Awaitable[str | None]]

ANY: dict[str, Handler] = {
    "CAPABILITY": cmd_any.cmd_capability,
    "NOOP": cmd_any.cmd_noop,
    "LOGOUT": cmd_any.cmd_logout,
    "ID": cmd_any.cmd_id,
}

NOTAUTH: dict[str, Handler] = {
    "STARTTLS": cmd_auth.cmd_starttls,
    "LOGIN": cmd_auth.cmd_login,
    "AUTHENTICATE": cmd_auth.cmd_authenticate,
}

AUTH: dict[str, Handler] = {
    "ENABLE": cmd_auth.cmd_enable,
    "UNAUTHENTICATE": cmd_auth.cmd_unauthenticate,
    "COMPRESS": cmd_auth.cmd_compress,
    "SELECT": cmd_mailbox.cmd_select,
    "EXAMINE": cmd_mailbox.cmd_examine,
    "CREATE": cmd_mailbox.cmd_create,
    "DELETE": cmd_mailbox.cmd_delete,
    "RENAME": cmd_mailbox.cmd_rename,
    "SUBSCRIBE": cmd_mailbox.cmd_subscribe,
    "UNSUBSCRIBE": cmd_mailbox.cmd_unsubscribe,
    "LIST": cmd_mailbox.cmd_list,
    "LSUB": cmd_mailbox.cmd_lsub,
    "NAMESPACE": cmd_mailbox.cmd_namespace,
    "STATUS": cmd_mailbox.cmd_status,
    "APPEND": cmd_append.cmd_append,
    "IDLE": idle.cmd_idle,
    "GETQUOTA": quota.cmd_getquota,
    "GETQUOTAROOT": quota.cmd_getquotaroot,
    "GETMETADATA": metadata.cmd_getmetadata,
    "SETMETADATA": metadata.cmd_setmetadata,
    "ESEARCH": multisearch.cmd_esearch,
    "NOTIFY": notify.cmd_notify,
}

SELECTED: dict[str, Handler] = {
    "CHECK": cmd_copy.cmd_check,
    "CLOSE": cmd_copy.cmd_close,
    "UNSELECT": cmd_copy.cmd_unselect,
    "EXPUNGE": cmd_copy.cmd_expunge,
    "UID EXPUNGE": cmd_copy.cmd_uid_expunge,
    "SEARCH": cmd_search.cmd_search,
    "UID SEARCH": cmd_search.cmd_uid_search,
    "FETCH": cmd_fetch.cmd_fetch,
    "UID FETCH": cmd_fetch.cmd_uid_fetch,
    "STORE": cmd_store.cmd_store,
    "UID STORE": cmd_store.cmd_uid_store,
    "COPY": cmd_copy.cmd_copy,
    "UID COPY": cmd_copy.cmd_uid_copy,
    "MOVE": cmd_copy.cmd_move,
    "UID MOVE": cmd_copy.cmd_uid_move,
    "REPLACE": cmd_append.cmd_replace,
    "UID REPLACE": cmd_append.cmd_uid_replace,
    "CANCELUPDATE": context.cmd_cancelupdate,
    "SORT": cmd_sort.cmd_sort,
    "UID SORT": cmd_sort.cmd_uid_sort,
    "THREAD": cmd_sort.cmd_thread,
    "UID THREAD": cmd_sort.cmd_uid_thread,
}

TABLE: dict[State, dict[str, Handler]] = {
    State.NOTAUTH: {**ANY, **NOTAUTH},
    State.AUTH: {**ANY, **AUTH},
    State.SELECTED: {**ANY, **AUTH, **SELECTED},
    State.LOGOUT: {},
}


def lookup(state: State, name: str) -> Handler | None:
    return TABLE[state].get(name)
