"""STORE and UID STORE (RFC 9051 section 6.4.6) with CONDSTORE UNCHANGEDSINCE and MODIFIED
(RFC 7162 section 3.1.3)."""

from __future__ import annotations

from app import store
from app.imap import Parser, format_numbers
from app.imapserver import changes
from app.imapserver.backend import store_read
from app.imapserver.changes import flags_line
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import Bad, No
from app.imapserver.session import Session
from app.runtime import run_blocking
from app.store import reads
from app.store.model import normalize_flags

BATCH = 5000


async def cmd_store(s: Session, p: Parser, tag: str) -> str:
    return await _store(s, p, False)


async def cmd_uid_store(s: Session, p: Parser, tag: str) -> str:
    return await _store(s, p, True)


async def _store(s: Session, p: Parser, is_uid: bool) -> str:
    p.sp()
    ns = p.numset()
    p.sp()
    unchanged_since: int | None = None
    if p.take(b"("):
        mod = p.atom_upper()
        if mod != "UNCHANGEDSINCE":
            raise Bad(f"unknown store modifier {mod}")
        p.sp()
        unchanged_since = p.mod_sequence()
        p.expect(b")")
        p.sp()
        changes.condstore_used(s)
    item = p.atom_upper()
    mode = {"FLAGS": "replace", "+FLAGS": "add", "-FLAGS": "remove"}
    silent = item.endswith(".SILENT")
    base = item.removesuffix(".SILENT")
    if base not in mode:
        raise Bad(f"unknown store item {item}")
    p.sp()
    if p.peek_byte() == 0x28:
        flags = p.flag_list()
    else:
        flags = [p.flag()]
        while p.take_sp():
            flags.append(p.flag())
    p.end()
    v = s.selected
    assert v is not None
    if v.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    pairs = v.resolve(ns, is_uid, s.search_result)
    seq_of = dict((u, q) for q, u in pairs)
    modified: list[int] = []
    for i in range(0, len(pairs), BATCH):
        uids = [u for _, u in pairs[i : i + BATCH]]
        try:
            res = await run_blocking(_set_flags, s, v.mailbox_id, uids, mode[base], flags, unchanged_since)
        except store.StoreError as e:
            raise store_error(e)
        report = list(res.changed) if silent else sorted([*res.changed, *res.unchanged], key=lambda c: c.uid)
        for fc in report:
            seq = seq_of.get(fc.uid) or v.seq_of(fc.uid)
            if not seq:
                continue
            if silent:
                if s.condstore:
                    s.untagged(s.fetch_line(seq, fc.uid, [b"MODSEQ (%d)" % fc.modseq]))
                continue
            s.untagged(flags_line(s, seq, fc.uid, fc.flags, fc.modseq))
        modified.extend(res.modified)
        await s.maybe_flush()
    name = "UID STORE" if is_uid else "STORE"
    if modified:
        nums = sorted(modified) if is_uid else sorted(seq_of[u] for u in modified if u in seq_of)
        return f"[MODIFIED {format_numbers(nums)}] conditional {name} completed"
    return f"{name} completed"


def _set_flags(
    s: Session, mailbox_id: int, uids: list[int], mode: str, flags: list[str], unchanged_since: int | None
) -> store.SetFlagsResult:
    """Change flags through the store's writer, unless a read shows nothing would change (a
    repeated +FLAGS): then report the current flags and modseqs as the store does for
    unchanged messages, without a write transaction. The read is a snapshot, so the STORE
    takes effect at that point, as if it had run then."""
    if unchanged_since is None:
        fl = normalize_flags(flags)
        same = store_read(s.account, lambda c: reads.flags_unchanged(c, mailbox_id, uids, mode, fl))
        if same is not None:
            return store.SetFlagsResult((), (), tuple(same))
    res: store.SetFlagsResult = s.account.set_flags(
        mailbox_id, uids, mode, flags, unchanged_since=unchanged_since, origin=s.subscription
    )
    return res
