"""APPEND (RFC 9051 section 6.3.12) with MULTIAPPEND (RFC 3502), UIDPLUS APPENDUID
(RFC 4315), BINARY literal8 (RFC 3516), UTF8 (RFC 6855) and APPENDLIMIT (RFC 7889).
All messages of one command are stored atomically.
"""

from __future__ import annotations

from app import store
from app.imap import NumSet, Parser, format_numbers
from app.imapserver import recent
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import Bad, No
from app.imapserver.names import parse_mailbox
from app.imapserver.session import Session
from app.runtime import run_blocking


def _parse_one(p: Parser) -> store.AppendItem:
    flags: tuple[str, ...] = ()
    received: float | None = None
    if p.peek_byte() == 0x28:
        flags = tuple(f for f in p.flag_list() if f.lower() != "\\recent")
        p.sp()
    if p.peek_byte() == 0x22:
        received = p.datetime().timestamp()
        p.sp()
    if p.take(b"UTF8 ("):
        data, _ = p.literal(allow_binary=True)
        p.expect(b")")
    else:
        data, _ = p.literal(allow_binary=True)
    return store.AppendItem(data, flags, received)


async def _append_items(s: Session, name: str, items: list[store.AppendItem]) -> tuple[int, int, list[int]]:
    """Store the messages atomically in mailbox name: (mailbox id, uidvalidity, uids)."""
    for it in items:
        if len(it.data) > s.deps.append_limit:
            raise No("message too large", "TOOBIG")
        if not it.data:
            raise Bad("empty message")
        if any(f.startswith("\\") and f.lower() not in {"\\seen", "\\answered", "\\flagged", "\\deleted", "\\draft"}
               for f in it.flags):  # fmt: skip
            raise Bad("invalid system flag")
    try:
        mb = await run_blocking(s.account.mailbox, name)
    except store.MailboxNotFound:
        raise No("mailbox does not exist", "TRYCREATE")
    except store.StoreError as e:
        raise store_error(e)
    try:
        uidvalidity, uids = await run_blocking(s.account.append, mb.id, items, origin=s.subscription)
    except store.StoreError as e:
        raise store_error(e)
    v = s.selected
    if v is not None and v.mailbox_id == mb.id:
        claim = not v.readonly and not s.rev2
        grew = False
        for uid in uids:
            is_recent = claim and uid > recent.claim(s.account, mb.id, uid)
            grew = v.add(uid, is_recent) or grew
        if grew:
            s.untagged(f"{v.count} EXISTS")
            if not s.rev2:
                s.untagged(f"{v.recent_count()} RECENT")
    return mb.id, uidvalidity, list(uids)


async def cmd_replace(s: Session, p: Parser, tag: str) -> str:
    return await _replace(s, p, False)


async def cmd_uid_replace(s: Session, p: Parser, tag: str) -> str:
    return await _replace(s, p, True)


async def _replace(s: Session, p: Parser, is_uid: bool) -> str:
    """REPLACE (RFC 8508): append the new version, then expunge the old one, as MOVE reports."""
    p.sp()
    num = p.nz_number()
    p.sp()
    name = parse_mailbox(s, p)
    p.sp()
    item = _parse_one(p)
    p.end()
    v = s.selected
    assert v is not None
    if v.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    old = v.resolve(NumSet(((num, num),)), is_uid, [])
    if not old:
        raise No("no such message", "NONEXISTENT" if is_uid else "")
    old_uid = old[0][1]
    _mbid, uidvalidity, uids = await _append_items(s, name, [item])
    s.untagged(f"OK [APPENDUID {uidvalidity} {uids[0]}] replacement stored")
    try:
        res = await run_blocking(
            s.account.expunge, v.mailbox_id, [old_uid], only_deleted=False, origin=s.subscription
        )
    except store.StoreError as e:
        raise store_error(e)
    from app.imapserver.cmd_copy import report_expunged

    await report_expunged(s, res.uids)
    return ("UID " if is_uid else "") + "REPLACE completed"


async def cmd_append(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    name = parse_mailbox(s, p)
    p.sp()
    items = [_parse_one(p)]
    while p.take_sp():
        items.append(_parse_one(p))
    p.end()
    _mbid, uidvalidity, uids = await _append_items(s, name, items)
    return f"[APPENDUID {uidvalidity} {format_numbers(list(uids))}] APPEND completed"
