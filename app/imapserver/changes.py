"""Telling a session about changes made by others (RFC 9051 section 7: unsolicited EXISTS,
EXPUNGE and FETCH; RFC 7162 section 3.2.10 VANISHED with QRESYNC), fed by the store's change
broadcast.

Changes are taken from the subscription at the end of a command (and during IDLE). After a
FETCH, STORE or SEARCH with sequence numbers nothing is sent, because an EXPUNGE then would
shift numbers under the client (RFC 9051 section 7.5.1); the changes wait for the next command.
"""

from __future__ import annotations

import asyncio

from app.imap import format_numbers, writer
from app.imapserver import recent
from app.imapserver.errors import Bye
from app.imapserver.session import Session
from app.store import (
    ChangeAddUID,
    ChangeFlags,
    ChangeMailboxAdd,
    ChangeMailboxRemove,
    ChangeMailboxRename,
    ChangeRemoveUIDs,
    ChangeSubscription,
)

HOLD_BACK = frozenset({"FETCH", "STORE", "SEARCH", "SORT", "THREAD"})


def subscribe(s: Session) -> None:
    loop = asyncio.get_running_loop()
    s.subscription = s.account.subscribe(notify=s.wake.set, loop=loop)


def unsubscribe(s: Session) -> None:
    sub = s.subscription
    s.subscription = None
    if sub is not None:
        try:
            sub.close()
        except Exception as e:
            s.log.debug("closing subscription", err=e)


def enable_condstore(s: Session) -> None:
    """CONDSTORE enabled while a mailbox is selected: the client now wants HIGHESTMODSEQ."""
    v = s.selected
    if v is not None:
        s.untagged(f"OK [HIGHESTMODSEQ {s.account.highest_modseq()}] modseq now tracked")


def condstore_used(s: Session) -> None:
    """A CONDSTORE-enabling command (RFC 7162 section 3.1): enable it, and with a mailbox
    selected tell the client the HIGHESTMODSEQ it did not get at SELECT."""
    if "CONDSTORE" in s.enabled:
        return
    s.enabled.add("CONDSTORE")
    enable_condstore(s)


def flags_line(s: Session, seq: int, uid: int, flags: frozenset[str] | list[str], modseq: int) -> bytes:
    v = s.selected
    names = sorted(flags, key=_flag_order)
    if v is not None and v.is_recent(uid) and not s.rev2:
        names.insert(0, "\\Recent")
    items = [b"FLAGS " + writer.atoms(names)]
    if s.condstore:
        items.append(b"MODSEQ (%d)" % modseq)
    return s.fetch_line(seq, uid, items)


def _flag_order(f: str) -> tuple[int, str]:
    return (0 if f.startswith("\\") else 1, f.lower())


async def deliver(s: Session, command: str) -> None:
    """Send pending changes for the selected mailbox, unless the command forbids it."""
    sub = s.subscription
    if sub is None or command in HOLD_BACK:
        return
    pending, overflow = sub.take()
    s.wake.clear()
    if overflow:
        raise Bye("too many changes, please reconnect and resynchronize")
    v = s.selected
    if s.notify is not None and pending:
        await _notify_others(s, pending)
    if v is None or not pending:
        return
    if s.live_searches:
        from app.imapserver import context

        gone = {
            u
            for ch in pending
            if isinstance(ch, ChangeRemoveUIDs) and ch.mailbox_id == v.mailbox_id
            for u in ch.uids
        }
        if gone:
            await context.refresh(s, gone)  # before the EXPUNGEs, while sequence numbers hold
    exists_due = False
    vanished: list[int] = []
    claim_recent = not v.readonly and not s.rev2
    for ch in pending:
        if getattr(ch, "mailbox_id", None) != v.mailbox_id:
            continue
        if isinstance(ch, ChangeAddUID):
            is_recent = False
            if claim_recent:
                prev = recent.claim(s.account, v.mailbox_id, ch.uid)
                is_recent = ch.uid > prev
            if v.add(ch.uid, is_recent):
                exists_due = True
        elif isinstance(ch, ChangeRemoveUIDs):
            if exists_due:
                s.untagged(f"{v.count} EXISTS")
                exists_due = False
            for uid in ch.uids:
                seq = v.remove(uid)
                if not seq:
                    continue
                if s.vanished:
                    vanished.append(uid)
                else:
                    s.untagged(f"{seq} EXPUNGE")
        elif isinstance(ch, ChangeFlags):
            seq = v.seq_of(ch.uid)
            if not seq:
                continue
            if exists_due:
                s.untagged(f"{v.count} EXISTS")
                exists_due = False
            s.untagged(flags_line(s, seq, ch.uid, ch.flags, ch.modseq))
    if vanished:
        s.untagged("VANISHED " + format_numbers(sorted(vanished)))
    if exists_due:
        s.untagged(f"{v.count} EXISTS")
        if not s.rev2:
            s.untagged(f"{v.recent_count()} RECENT")


_MESSAGE_EVENTS = {ChangeAddUID: "MESSAGENEW", ChangeRemoveUIDs: "MESSAGEEXPUNGE", ChangeFlags: "FLAGCHANGE"}


async def _notify_others(s: Session, pending: list[object]) -> None:
    """NOTIFY (RFC 5465 section 5): STATUS for other mailboxes, LIST for name changes."""
    from app.imapserver import notify
    from app.imapserver.names import to_client
    from app.runtime import run_blocking

    n = s.notify
    sel = s.selected.mailbox_id if s.selected is not None else None
    names: dict[int, str] | None = None
    subscribed: set[str] = set(await run_blocking(s.account.subscriptions))
    need: dict[int, set[str]] = {}
    for ch in pending:
        ev = _MESSAGE_EVENTS.get(type(ch))
        if ev is not None:
            mbid = ch.mailbox_id  # type: ignore[attr-defined]
            if mbid == sel:
                continue
            if names is None:
                names = {m.id: m.name for m in await run_blocking(s.account.list_mailboxes)}
            name = names.get(mbid)
            if name is not None and ev in n.events_for(name, subscribed, False):
                need.setdefault(mbid, set()).add(ev)
        elif isinstance(ch, ChangeMailboxAdd | ChangeMailboxRemove | ChangeMailboxRename):
            name = ch.new_name if isinstance(ch, ChangeMailboxRename) else ch.name
            if "MAILBOXNAME" not in n.events_for(name, subscribed, False):
                continue
            attrs = b"(\\NonExistent)" if isinstance(ch, ChangeMailboxRemove) else b"()"
            line = b"LIST " + attrs + b' "/" ' + to_client(s, name)
            if isinstance(ch, ChangeMailboxRename):
                line += b' ("OLDNAME" (' + to_client(s, ch.old_name) + b"))"
            s.untagged(line)
        elif isinstance(ch, ChangeSubscription) and "SUBSCRIPTIONCHANGE" in n.events_for(
            ch.name, subscribed | {ch.name}, False
        ):
            attrs = b"(\\Subscribed)" if ch.subscribed else b"()"
            s.untagged(b"LIST " + attrs + b' "/" ' + to_client(s, ch.name))
    for mbid, evs in need.items():
        await notify.send_status(s, mbid, evs)
