"""COPY and MOVE (RFC 9051 sections 6.4.7, 6.4.8; RFC 6851 MOVE; RFC 4315 COPYUID), EXPUNGE and
UID EXPUNGE (RFC 9051 6.4.3, RFC 4315), CLOSE, UNSELECT (RFC 3691) and CHECK (RFC 3501 6.4.1).
"""

from __future__ import annotations

from app import store
from app.imap import Parser, format_numbers
from app.imapserver import context, junkflags, recent
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import No
from app.imapserver.names import parse_mailbox
from app.imapserver.session import Session, State
from app.runtime import run_blocking


async def cmd_check(s: Session, p: Parser, tag: str) -> str:
    p.end()
    return "CHECK completed"


async def report_expunged(s: Session, uids: list[int] | tuple[int, ...]) -> None:
    v = s.selected
    assert v is not None
    if s.live_searches:
        await context.refresh(s, set(uids))  # REMOVEFROM while the sequence numbers still hold
    if s.vanished:
        gone = [u for u in uids if v.remove(u)]
        if gone:
            s.untagged("VANISHED " + format_numbers(sorted(gone)))
        return
    for uid in sorted(uids, reverse=True):
        seq = v.remove(uid)
        if seq:
            s.untagged(f"{seq} EXPUNGE")


async def _expunge(s: Session, uids: list[int] | None) -> store.ExpungeResult:
    v = s.selected
    assert v is not None
    try:
        return await run_blocking(
            s.account.expunge, v.mailbox_id, uids, only_deleted=True, origin=s.subscription
        )
    except store.StoreError as e:
        raise store_error(e)


async def cmd_expunge(s: Session, p: Parser, tag: str) -> str:
    p.end()
    v = s.selected
    assert v is not None
    if v.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    res = await _expunge(s, None)
    await report_expunged(s, res.uids)
    if s.qresync and res.uids:
        return f"[HIGHESTMODSEQ {res.modseq}] EXPUNGE completed"  # RFC 7162 section 3.2.10
    return "EXPUNGE completed"


async def cmd_uid_expunge(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    ns = p.numset()
    p.end()
    v = s.selected
    assert v is not None
    if v.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    uids = [u for _, u in v.resolve(ns, True, s.search_result)]
    if uids:
        res = await _expunge(s, uids)
        await report_expunged(s, res.uids)
        if s.qresync and res.uids:
            return f"[HIGHESTMODSEQ {res.modseq}] UID EXPUNGE completed"
    return "UID EXPUNGE completed"


async def cmd_close(s: Session, p: Parser, tag: str) -> str:
    p.end()
    v = s.selected
    assert v is not None
    if not v.readonly:
        await _expunge(s, None)  # silently: no EXPUNGE responses on CLOSE (RFC 9051 6.4.1)
    s.selected = None
    s.live_searches.clear()
    s.state = State.AUTH
    return "CLOSE completed"


async def cmd_unselect(s: Session, p: Parser, tag: str) -> str:
    p.end()
    s.selected = None
    s.live_searches.clear()
    s.state = State.AUTH
    return "UNSELECT completed"


async def _copy(s: Session, p: Parser, is_uid: bool, move: bool) -> str:
    p.sp()
    ns = p.numset()
    p.sp()
    dest = parse_mailbox(s, p)
    p.end()
    v = s.selected
    assert v is not None
    if move and v.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    pairs = v.resolve(ns, is_uid, s.search_result)
    try:
        dst = await run_blocking(s.account.mailbox, dest)
    except store.MailboxNotFound:
        raise No("destination mailbox does not exist", "TRYCREATE")
    except store.StoreError as e:
        raise store_error(e)
    name = ("UID " if is_uid else "") + ("MOVE" if move else "COPY")
    if not pairs:
        return f"{name} completed (no messages)"
    uids = [u for _, u in pairs]
    same = dst.id == v.mailbox_id
    # The store moves between different mailboxes only; a MOVE within one mailbox (new UIDs,
    # old ones expunged) is a copy followed by an expunge.
    fn = s.account.move if move and not same else s.account.copy
    try:
        res: store.CopyResult = await run_blocking(fn, v.mailbox_id, uids, dst.id, origin=s.subscription)
        if move and same:
            await run_blocking(
                s.account.expunge, v.mailbox_id, list(res.src_uids), only_deleted=False, origin=s.subscription
            )
    except store.StoreError as e:
        raise store_error(e)
    await _junk_flags(s, dst.id, dst.name, list(res.dst_uids))
    code = (
        f"COPYUID {res.uidvalidity} {format_numbers(list(res.src_uids))} {format_numbers(list(res.dst_uids))}"
    )
    if move:
        # RFC 6851 section 3.3: COPYUID goes in an untagged OK before the expunges.
        s.untagged(f"OK [{code}] moved")
        await report_expunged(s, res.src_uids)
    if same:
        claim = not v.readonly and not s.rev2
        grew = False
        for uid in res.dst_uids:
            is_recent = claim and uid > recent.claim(s.account, dst.id, uid)
            grew = v.add(uid, is_recent) or grew
        if grew:
            s.untagged(f"{v.count} EXISTS")
            if not s.rev2:
                s.untagged(f"{v.recent_count()} RECENT")
    if move:
        return f"{name} completed"
    return f"[{code}] {name} completed"


async def _junk_flags(s: Session, mailbox_id: int, mailbox_name: str, uids: list[int]) -> None:
    want = junkflags.desired(junkflags.for_account(s.deps.config, s.account_name), mailbox_name)
    if want is None or not uids:
        return
    add, remove = want
    try:
        await run_blocking(s.account.set_flags, mailbox_id, uids, "remove", remove, origin=None)
        await run_blocking(s.account.set_flags, mailbox_id, uids, "add", add, origin=None)
    except store.StoreError as e:
        s.log.error("setting junk flags", err=e)


async def cmd_copy(s: Session, p: Parser, tag: str) -> str:
    return await _copy(s, p, False, False)


async def cmd_uid_copy(s: Session, p: Parser, tag: str) -> str:
    return await _copy(s, p, True, False)


async def cmd_move(s: Session, p: Parser, tag: str) -> str:
    return await _copy(s, p, False, True)


async def cmd_uid_move(s: Session, p: Parser, tag: str) -> str:
    return await _copy(s, p, True, True)
