"""FETCH and UID FETCH (RFC 9051 section 6.4.5, RFC 7162 CHANGEDSINCE and VANISHED).

Messages are rendered in batches in the worker pool and written as they are ready, so memory
stays bounded however many messages are fetched.
"""

from __future__ import annotations

import apsw

from app import store
from app.imap import NumSet, Parser, format_numbers
from app.imap.fetchatt import FetchAtt, parse_atts
from app.imapserver import changes, fetchrender
from app.imapserver.backend import flags_of_row, make_loader, msg_info_row, sorted_flags, store_read
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import Bad
from app.imapserver.msginfo import MsgInfo
from app.imapserver.session import Session
from app.runtime import run_blocking
from app.store import reads

BATCH = 200


async def cmd_fetch(s: Session, p: Parser, tag: str) -> str:
    return await _fetch(s, p, False)


async def cmd_uid_fetch(s: Session, p: Parser, tag: str) -> str:
    return await _fetch(s, p, True)


async def _fetch(s: Session, p: Parser, is_uid: bool) -> str:
    p.sp()
    ns = p.numset()
    p.sp()
    atts = parse_atts(p)
    changedsince: int | None = None
    vanished = False
    if p.take_sp():
        p.expect(b"(")
        while not p.take(b")"):
            mod = p.atom_upper()
            if mod == "CHANGEDSINCE":
                p.sp()
                changedsince = p.mod_sequence()
            elif mod == "VANISHED":
                vanished = True
            else:
                raise Bad(f"unknown fetch modifier {mod}")
            p.take_sp()
    p.end()
    if vanished and (not is_uid or not s.qresync or changedsince is None):
        raise Bad("VANISHED needs UID FETCH, QRESYNC enabled and CHANGEDSINCE")
    if changedsince is not None or any(a.name == "MODSEQ" for a in atts):
        changes.condstore_used(s)
    v = s.selected
    assert v is not None
    # The UID goes in every response head; the other items follow in request order.
    atts = [a for a in atts if a.name != "UID"]
    with_modseq = changedsince is not None or (s.condstore and any(a.name == "MODSEQ" for a in atts))
    pairs = v.resolve(ns, is_uid, s.search_result)
    if vanished and changedsince is not None:
        await _vanished(s, ns, changedsince)
    if len(pairs) > BATCH and {a.name for a in atts} <= {"UID", "FLAGS", "MODSEQ"}:
        await _fetch_flags_only(s, pairs, atts, changedsince, with_modseq)
        return ("UID FETCH" if is_uid else "FETCH") + " completed"
    set_seen = not v.readonly and any(a.sets_seen() for a in atts)
    loader = make_loader(s.account)
    need_body = fetchrender.needs_body(atts)
    for i in range(0, len(pairs), BATCH):
        batch = pairs[i : i + BATCH]
        if set_seen:
            try:
                infos = await run_blocking(_read_infos, s, v.mailbox_id, batch, changedsince)
            except store.StoreError as e:
                raise store_error(e)
            seen_added = await _mark_seen(s, v.mailbox_id, infos)
            lines = await run_blocking(
                _render_batch, s, batch, infos, atts, loader, with_modseq, seen_added, need_body
            )
        else:
            # Read and render in one trip to the worker pool.
            try:
                lines = await run_blocking(
                    _read_render, s, v.mailbox_id, batch, atts, loader, with_modseq, changedsince
                )
            except store.StoreError as e:
                raise store_error(e)
        for line in lines:
            s.send(line)
        await s.maybe_flush()
    return ("UID FETCH" if is_uid else "FETCH") + " completed"


async def _fetch_flags_only(
    s: Session,
    pairs: list[tuple[int, int]],
    atts: list[FetchAtt],
    changedsince: int | None,
    with_modseq: bool,
) -> None:
    """FETCH of only UID/FLAGS/MODSEQ over many messages: one query for the whole mailbox,
    merged with the requested (ascending) UIDs, written in chunks as it goes."""
    v = s.selected
    assert v is not None
    want_flags = any(a.name == "FLAGS" for a in atts)
    want_modseq = with_modseq or any(a.name == "MODSEQ" for a in atts)
    simple = want_flags and not want_modseq and changedsince is None and not s.uidonly
    if simple and (s.rev2 or v.recent_count() == 0):
        await _fetch_flags_grouped(s, pairs)
        return
    try:
        rows = await run_blocking(s.account.uids_flags, v.mailbox_id)
    except store.StoreError as e:
        raise store_error(e)
    rev1 = not s.rev2
    rendered: dict[frozenset[str], bytes] = {}  # flag sets repeat: render each once
    uidonly = s.uidonly
    j = 0
    n = len(rows)
    for i, (seq, uid) in enumerate(pairs):
        while j < n and rows[j][0] < uid:
            j += 1
        if j >= n or rows[j][0] != uid:
            continue
        _uid, modseq, flags = rows[j]
        if changedsince is not None and modseq <= changedsince:
            continue
        items: list[bytes] = []
        if want_flags:
            fl = rendered.get(flags)
            if fl is None:
                fl = rendered[flags] = b"FLAGS (" + " ".join(sorted_flags(flags)).encode() + b")"
            if rev1 and v.is_recent(uid):
                fl = fl.replace(b"FLAGS (", b"FLAGS (\\Recent" + (b" " if flags else b""), 1)
            items.append(fl)
        if want_modseq:
            items.append(b"MODSEQ (%d)" % modseq)
        s.out += (
            b"* " + s.fetch_line(seq, uid, items) + b"\r\n"
            if uidonly
            else (b"* %d FETCH (UID %d" % (seq, uid) + b"".join(b" " + x for x in items) + b")\r\n")
        )
        if i % 2000 == 0:
            await s.maybe_flush()
    del rows


async def _fetch_flags_grouped(s: Session, pairs: list[tuple[int, int]]) -> None:
    """FETCH (UID FLAGS) over many messages without \\Recent to report: the store groups the
    UIDs by flag combination, so each distinct FLAGS list is rendered once and the lines are
    joined in chunks."""
    v = s.selected
    assert v is not None
    mailbox_id = v.mailbox_id

    def read(c: apsw.Connection) -> dict[int, bytes]:
        fl_of: dict[int, bytes] = {}
        for mask, kw, uids in reads.uids_by_flags(c, mailbox_id):
            fl = b"FLAGS (" + " ".join(flags_of_row(mask, kw)).encode() + b")"
            fl_of.update(dict.fromkeys(uids, fl))
        return fl_of

    try:
        fl_of = await run_blocking(store_read, s.account, read)
    except store.StoreError as e:
        raise store_error(e)
    get = fl_of.get
    for i in range(0, len(pairs), 2000):
        s.out += b"".join(
            [
                b"* %d FETCH (UID %d %s)\r\n" % (seq, uid, fl)
                for seq, uid in pairs[i : i + 2000]
                if (fl := get(uid))
            ]
        )
        await s.maybe_flush()
    del fl_of


def _read_infos(
    s: Session, mailbox_id: int, batch: list[tuple[int, int]], changedsince: int | None
) -> dict[int, MsgInfo]:
    """What FETCH needs of each message of the batch, in one query."""
    uids = [u for _, u in batch]
    rows = store_read(s.account, lambda c: reads.fetch_rows(c, mailbox_id, uids))
    infos = {r[0]: msg_info_row(r) for r in rows}
    if changedsince is not None:
        infos = {u: m for u, m in infos.items() if m.modseq > changedsince}
    return infos


def _read_render(
    s: Session,
    mailbox_id: int,
    batch: list[tuple[int, int]],
    atts: list[FetchAtt],
    loader: fetchrender.Loader,
    with_modseq: bool,
    changedsince: int | None,
) -> list[bytes]:
    infos = _read_infos(s, mailbox_id, batch, changedsince)
    return _render_batch(s, batch, infos, atts, loader, with_modseq, set(), True)


def _render_batch(
    s: Session,
    batch: list[tuple[int, int]],
    infos: dict[int, MsgInfo],
    atts: list[FetchAtt],
    loader: fetchrender.Loader,
    with_modseq: bool,
    seen_added: set[int],
    need_body: bool,
) -> list[bytes]:
    v = s.selected
    assert v is not None
    out: list[bytes] = []
    cache_ns = str(getattr(s.account, "path", ""))
    recent_ok = not s.rev2
    utf8 = s.utf8
    has_flags = any(a.name == "FLAGS" for a in atts)
    for seq, uid in batch:
        m = infos.get(uid)
        if m is None:
            continue
        my_atts = atts
        if uid in seen_added and not has_flags:
            my_atts = [*atts, FetchAtt("FLAGS")]
        try:
            items = fetchrender.render_items(
                m, my_atts, loader, recent=recent_ok and v.is_recent(uid), utf8=utf8, with_modseq=with_modseq,
                cache_ns=cache_ns,
            )  # fmt: skip
        except store.MessageGone:
            continue
        out.append(b"* " + s.fetch_line(seq, uid, items))
    return out


async def _mark_seen(s: Session, mailbox_id: int, infos: dict[int, MsgInfo]) -> set[int]:
    todo = [u for u, m in infos.items() if not any(f.lower() == "\\seen" for f in m.flags)]
    if not todo:
        return set()
    try:
        res = await run_blocking(
            s.account.set_flags, mailbox_id, todo, "add", ["\\Seen"], origin=s.subscription
        )
    except store.StoreError as e:
        raise store_error(e)
    for fc in res.changed:
        m = infos.get(fc.uid)
        if m is not None:
            m.flags = sorted_flags(fc.flags)
            m.modseq = fc.modseq
    return {fc.uid for fc in res.changed}


async def _vanished(s: Session, ns: NumSet, changedsince: int) -> None:
    v = s.selected
    assert v is not None
    gone: list[int] = await run_blocking(s.account.expunged_since, v.mailbox_id, changedsince)
    largest = max([*gone, v.last_uid()]) if gone or v.uids else 0
    gone = [u for u in gone if ns.contains(u, largest)] if not ns.search_result else []
    if gone:
        s.untagged("VANISHED (EARLIER) " + format_numbers(sorted(gone)))
