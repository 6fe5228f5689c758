"""Mailbox commands: SELECT/EXAMINE (RFC 9051 6.3.2-3, RFC 7162 CONDSTORE/QRESYNC), CREATE
(RFC 6154 USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, NAMESPACE (RFC 2342) and STATUS
(RFC 9051 6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ). LIST and LSUB are in cmd_list.
"""

from __future__ import annotations

import apsw

from app import store
from app.imap import NumSet, Parser
from app.imapserver import recent, uidcache
from app.imapserver.backend import mailbox_id, store_read
from app.imapserver.cmd_list import cmd_list, cmd_lsub, status_items
from app.imapserver.errors import Bad, IMAPError, No
from app.imapserver.names import check_new_name, parse_mailbox, to_client
from app.imapserver.qresync import qresync_select
from app.imapserver.selected import MailboxView
from app.imapserver.session import Session, State
from app.runtime import run_blocking
from app.store import reads

__all__ = ["cmd_list", "cmd_lsub"]

BASE_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Forwarded", "$Junk", "$NotJunk",
              "$Phishing", "$MDNSent"]  # fmt: skip


def store_error(e: store.StoreError) -> IMAPError:
    """The NO response for a store error (RFC 5530 response codes)."""
    if isinstance(e, store.MailboxNotFound):
        return No("no such mailbox", "NONEXISTENT")
    if isinstance(e, store.MailboxExists):
        return No("mailbox already exists", "ALREADYEXISTS")
    if isinstance(e, store.QuotaExceeded):
        return No("over quota", "OVERQUOTA")
    if isinstance(e, store.InvalidMailboxName):
        return No(f"invalid mailbox name: {e}", "CANNOT")
    if isinstance(e, store.MailboxNotEmpty):
        return No("mailbox has children", "HASCHILDREN")
    if isinstance(e, store.InvalidFlag):
        return Bad(str(e))
    if isinstance(e, store.MessageGone):
        return No("message was expunged", "EXPUNGEISSUED")
    if isinstance(e, store.AnnotationLimit):
        return No("metadata limit reached", "METADATA TOOMANY" if e.kind == "toomany" else "METADATA MAXSIZE")
    return No("temporary store failure", "UNAVAILABLE")


async def _select(s: Session, p: Parser, readonly: bool) -> str:
    p.sp()
    name = parse_mailbox(s, p)
    qresync_arg: tuple[int, int, NumSet | None, tuple[NumSet, NumSet] | None] | None = None
    if p.take_sp():
        p.expect(b"(")
        while not p.take(b")"):
            param = p.atom_upper()
            if param == "CONDSTORE":
                s.enabled.add("CONDSTORE")
            elif param == "QRESYNC":
                if not s.qresync:
                    raise Bad("QRESYNC must be enabled first")
                qresync_arg = _parse_qresync(p)
            else:
                raise Bad(f"unknown select parameter {param}")
            p.take_sp()
    p.end()
    s.live_searches.clear()
    if s.selected is not None:
        s.selected = None
        s.state = State.AUTH
        s.untagged("OK [CLOSED] previous mailbox closed")
    acct = s.account
    want_unseen = not s.rev2 and not s.uidonly
    with_qresync = qresync_arg is not None

    db = str(getattr(acct, "path", ""))

    def read(
        c: apsw.Connection,
    ) -> tuple[store.MailboxStatus, store.Mailbox, list[tuple[int, int, frozenset[str]]], list[int]]:
        # One trip to the worker pool and one read snapshot for everything SELECT needs.
        # Flags are needed only for IMAP4rev1's first-unseen and for QRESYNC; UIDs alone are
        # much cheaper, and usually cached.
        with c:
            mbx, st = reads.mailbox_and_status(c, name)
            # All unseen: the first unseen is message 1, no need to look at flags.
            partly_seen = 0 < st.counts.unseen < st.counts.total
            rows: list[tuple[int, int, frozenset[str]]] = []
            if with_qresync or (want_unseen and partly_seen):
                rows = reads.uids_flags(c, st.id)
                uids = [r[0] for r in rows]
            else:
                key = (db, st.id, st.uidvalidity, st.uidnext, st.counts.total)
                cached = uidcache.get(key)
                uids = reads.uid_list(c, st.id) if cached is None else cached
                if cached is None:
                    uidcache.put(key, uids)
        return st, mbx, rows, uids

    try:
        st, mbx, rows, uids = await run_blocking(store_read, acct, read)
    except store.StoreError as e:
        raise store_error(e)
    last = uids[-1] if uids else 0
    floor = recent.peek(s.account, st.id) if readonly or s.rev2 else recent.claim(s.account, st.id, last)
    view = MailboxView(st.id, st.name, readonly, st.uidvalidity, uids, floor, last, uidnext=st.uidnext)
    flags = BASE_FLAGS + [k for k in st.keywords if k.lower() not in {f.lower() for f in BASE_FLAGS}]
    s.untagged("FLAGS (" + " ".join(flags) + ")")
    if readonly:
        s.untagged("OK [PERMANENTFLAGS ()] read-only")
    else:
        s.untagged("OK [PERMANENTFLAGS (" + " ".join([*flags, "\\*"]) + ")] flags can be changed")
    s.untagged(f"{len(uids)} EXISTS")
    if not s.rev2:
        s.untagged(f"{view.recent_count()} RECENT")
    if not s.rev2 and not s.uidonly:
        if uids and st.counts.unseen == st.counts.total:
            s.untagged("OK [UNSEEN 1] first unseen")
        for i, r in enumerate(rows if st.counts.unseen != st.counts.total else []):
            if not any(f.lower() == "\\seen" for f in r[2]):
                s.untagged(f"OK [UNSEEN {i + 1}] first unseen")
                break
    s.untagged(f"OK [UIDVALIDITY {st.uidvalidity}] uidvalidity")
    s.untagged(f"OK [MAILBOXID ({mailbox_id(mbx)})] mailbox id")
    s.untagged(f"OK [UIDNEXT {st.uidnext}] predicted next uid")
    if s.rev2:
        s.untagged(b'LIST () "/" ' + to_client(s, st.name))
    if s.condstore:
        s.untagged(f"OK [HIGHESTMODSEQ {st.highest_modseq}] highest modseq")
    s.selected = view
    s.state = State.SELECTED
    s.search_result = []
    if qresync_arg is not None:
        await qresync_select(s, view, qresync_arg, {r[0]: r for r in rows})
    return "[READ-ONLY] EXAMINE completed" if readonly else "[READ-WRITE] SELECT completed"


def _parse_qresync(p: Parser) -> tuple[int, int, NumSet | None, tuple[NumSet, NumSet] | None]:
    """QRESYNC (uidvalidity mod-sequence [known-uids [(seq-match-data)]]), RFC 7162 3.2.5."""
    p.sp()
    p.expect(b"(")
    uidvalidity = p.nz_number()
    p.sp()
    modseq = p.mod_sequence()
    known: NumSet | None = None
    match: tuple[NumSet, NumSet] | None = None
    if p.take_sp():
        if p.peek_byte() != 0x28:
            known = p.numset(allow_search_result=False)
            p.take_sp()
        if p.take(b"("):
            seqs = p.numset(allow_search_result=False)
            p.sp()
            uids = p.numset(allow_search_result=False)
            p.expect(b")")
            match = (seqs, uids)
    p.expect(b")")
    return uidvalidity, modseq, known, match


async def cmd_select(s: Session, p: Parser, tag: str) -> str:
    return await _select(s, p, False)


async def cmd_examine(s: Session, p: Parser, tag: str) -> str:
    return await _select(s, p, True)


async def cmd_create(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    name = check_new_name(parse_mailbox(s, p))
    special = ""
    if p.take_sp():
        # RFC 6154 section 3: CREATE name (USE (\Sent ...)).
        p.expect(b"(")
        kind = p.atom_upper()
        if kind != "USE":
            raise Bad(f"unknown create parameter {kind}")
        p.sp()
        uses = p.flag_list()
        p.expect(b")")
        valid = {u.lower(): u for u in store.model.SPECIAL_USES}
        for u in uses:
            if u.lower() not in valid:
                raise No(f"unsupported special-use {u}", "USEATTR")
        if len(uses) > 1:
            raise No("only one special-use attribute per mailbox", "USEATTR")
        special = valid[uses[0].lower()] if uses else ""
    p.end()
    if name == "Inbox":
        raise No("INBOX always exists", "ALREADYEXISTS")
    try:
        # Not subscribed automatically: RFC 9051 section 6.3.4 leaves subscribing to the client.
        mb = await run_blocking(s.account.create_mailbox, name, special, False, s.subscription)
    except store.StoreError as e:
        raise store_error(e)
    return f"[MAILBOXID ({mailbox_id(mb)})] CREATE completed"


async def cmd_delete(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    name = parse_mailbox(s, p)
    p.end()
    if name == "Inbox":
        raise No("cannot delete INBOX", "CANNOT")
    try:
        mb = await run_blocking(s.account.mailbox, name)
        await run_blocking(s.account.delete_mailbox, name, s.subscription)
    except store.StoreError as e:
        raise store_error(e)
    recent.forget(s.account, mb.id)
    if s.selected is not None and s.selected.mailbox_id == mb.id:
        s.selected = None
        s.state = State.AUTH
    return "DELETE completed"


async def cmd_rename(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    old = parse_mailbox(s, p)
    p.sp()
    new = check_new_name(parse_mailbox(s, p))
    p.end()
    if new == "Inbox":
        raise No("cannot rename to INBOX", "ALREADYEXISTS")
    try:
        await run_blocking(s.account.rename_mailbox, old, new, s.subscription)
    except store.StoreError as e:
        raise store_error(e)
    if s.selected is not None and s.selected.name == old:
        s.selected.name = new
    return "RENAME completed"


async def _subscribe(s: Session, p: Parser, on: bool) -> str:
    p.sp()
    name = parse_mailbox(s, p)
    p.end()
    try:
        await run_blocking(s.account.set_subscribed, name, on, s.subscription)
    except store.StoreError as e:
        raise store_error(e)
    return "SUBSCRIBE completed" if on else "UNSUBSCRIBE completed"


async def cmd_subscribe(s: Session, p: Parser, tag: str) -> str:
    return await _subscribe(s, p, True)


async def cmd_unsubscribe(s: Session, p: Parser, tag: str) -> str:
    return await _subscribe(s, p, False)


async def cmd_namespace(s: Session, p: Parser, tag: str) -> str:
    p.end()
    s.untagged('NAMESPACE (("" "/")) NIL NIL')
    return "NAMESPACE completed"


async def cmd_status(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    name = parse_mailbox(s, p)
    p.sp()
    items = [x.upper() for x in p.paren_list()]
    p.end()
    if not items:
        raise Bad("no status items")
    try:
        st = await run_blocking(s.account.mailbox_status, name)
        mb = await run_blocking(s.account.mailbox, st.id) if "MAILBOXID" in items else None
    except store.StoreError as e:
        raise store_error(e)
    s.untagged(b"STATUS " + to_client(s, st.name) + b" " + status_items(s, st, items, mb))
    return "STATUS completed"
