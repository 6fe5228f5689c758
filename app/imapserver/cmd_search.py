"""SEARCH and UID SEARCH (RFC 9051 section 6.4.4) with ESEARCH return options (RFC 4731),
SEARCHRES SAVE (RFC 5182) and CONDSTORE MODSEQ results (RFC 7162 section 3.1.5).

BODY and TEXT match substrings of the decoded text, checked message by message.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app import store
from app.imap import Parser, format_numbers
from app.imap.search import SearchKey, parse_program
from app.imapserver import changes, context, searcheval
from app.imapserver.backend import make_loader, msg_info
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import Bad, No
from app.imapserver.session import Session
from app.runtime import run_blocking

RETURN_OPTS = ("MIN", "MAX", "ALL", "COUNT", "SAVE", "UPDATE", "PARTIAL")
INPROGRESS_INTERVAL = 1.0  # seconds between progress responses of a long search
BATCH = 1000


async def cmd_search(s: Session, p: Parser, tag: str) -> str:
    return await _search(s, p, tag, False)


async def cmd_uid_search(s: Session, p: Parser, tag: str) -> str:
    return await _search(s, p, tag, True)


async def _search(s: Session, p: Parser, tag: str, is_uid: bool) -> str:
    p.sp()
    ret: list[str] | None = None
    partial: tuple[int, int] | None = None
    if p.take(b"RETURN "):
        ret = []
        p.expect(b"(")
        while not p.take(b")"):
            r = p.atom_upper()
            if r not in RETURN_OPTS:
                raise Bad(f"unknown search return option {r}")
            if r == "PARTIAL":
                p.sp()
                partial = context.parse_partial(p)
            ret.append(r)
            p.take_sp()
        if not ret:
            ret = ["ALL"]
        p.sp()
    prog = parse_program(p)
    p.end()
    if ret is None and s.rev2:
        ret = ["ALL"]  # RFC 9051 section 7.3.4: IMAP4rev2 answers SEARCH with ESEARCH
    if prog.charset not in ("", "US-ASCII", "UTF-8"):
        raise No("unsupported charset", "BADCHARSET (US-ASCII UTF-8)")
    v = s.selected
    assert v is not None
    key = prog.key
    if s.uidonly and any(
        k.op == "SEQSET" and k.numset is not None and not k.numset.search_result for k in key.walk()
    ):
        raise Bad("UIDONLY is enabled, message sequence numbers are not allowed", "UIDREQUIRED")
    if searcheval.uses_modseq(key):
        changes.condstore_used(s)
    # The store's full-text index matches words, but IMAP SEARCH matches substrings (RFC 9051
    # section 6.4.4), so it cannot even narrow the candidates: every message is checked.
    matched = await search_mailbox(
        s, tag, v.mailbox_id, list(v.uids), key, v.is_recent if not s.rev2 else (lambda _u: False)
    )
    nums = [u if is_uid else q for q, u, _ in matched]
    if ret is not None and "UPDATE" in ret:
        context.register(s, context.LiveSearch(tag, key, is_uid, {u for _, u, _ in matched}))
    max_modseq = max((m for _, _, m in matched), default=0)
    with_modseq = searcheval.uses_modseq(key) and bool(matched)
    if ret is None:
        line = "SEARCH" + "".join(f" {n}" for n in nums)
        if with_modseq:
            line += f" (MODSEQ {max_modseq})"
        s.untagged(line)
        return ("UID SEARCH" if is_uid else "SEARCH") + " completed"
    if "SAVE" in ret:
        saved = matched
        if ("MIN" in ret or "MAX" in ret) and "ALL" not in ret and "COUNT" not in ret and matched:
            saved = [
                x
                for i, x in enumerate(matched)
                if ("MIN" in ret and i == 0) or ("MAX" in ret and i == len(matched) - 1)
            ]
        s.search_result = [u for _, u, _ in saved]
        if ret == ["SAVE"]:
            return ("UID SEARCH" if is_uid else "SEARCH") + " completed"
    if with_modseq and ("MIN" in ret or "MAX" in ret) and "ALL" not in ret and "COUNT" not in ret:
        # RFC 7162 section 3.1.5: with only MIN/MAX, the MODSEQ of the returned messages.
        shown = [matched[0][2]] if "MIN" in ret else []
        shown += [matched[-1][2]] if "MAX" in ret else []
        max_modseq = max(shown)
    parts = [f'(TAG "{tag}")']
    if is_uid:
        parts.append("UID")
    if nums:
        if "MIN" in ret:
            parts.append(f"MIN {nums[0]}")
        if "MAX" in ret:
            parts.append(f"MAX {nums[-1]}")
        if "ALL" in ret:
            parts.append("ALL " + format_numbers(nums))
    if partial is not None:
        parts.append(context.partial_item(nums, partial))
    if "COUNT" in ret:
        parts.append(f"COUNT {len(nums)}")
    if with_modseq:
        parts.append(f"MODSEQ {max_modseq}")
    s.untagged("ESEARCH " + " ".join(parts))
    return ("UID SEARCH" if is_uid else "SEARCH") + " completed"


async def search_mailbox(
    s: Session, tag: str, mailbox_id: int, uids: list[int], key: SearchKey, recent: Callable[[int], bool]
) -> list[tuple[int, int, int]]:
    """(seq, uid, modseq) of the messages matching key among uids (ascending, seq = index + 1).

    Long searches send INPROGRESS responses about once a second (RFC 9585)."""
    seqs = {u: i + 1 for i, u in enumerate(uids)}
    ctx = searcheval.EvalContext(
        largest_seq=len(uids),
        largest_uid=uids[-1] if uids else 0,
        recent=recent,
        search_result=s.search_result,
        load=make_loader(s.account),
    )
    matched: list[tuple[int, int, int]] = []
    last_report = time.monotonic()
    for i in range(0, len(uids), BATCH):
        chunk = uids[i : i + BATCH]
        try:
            metas = await run_blocking(s.account.message_meta, mailbox_id, chunk)
        except store.StoreError as e:
            raise store_error(e)
        matched.extend(await run_blocking(_eval_batch, seqs, key, metas, ctx))
        if time.monotonic() - last_report >= INPROGRESS_INTERVAL and i + BATCH < len(uids):
            last_report = time.monotonic()
            s.untagged(f'OK [INPROGRESS ("{tag}" {i + BATCH} {len(uids)})] searching')
            await s.flush()
    return matched


def _eval_batch(
    seqs: dict[int, int], key: SearchKey, metas: list[store.MessageMeta], ctx: searcheval.EvalContext
) -> list[tuple[int, int, int]]:
    out = []
    for m in metas:
        seq = seqs.get(m.uid)
        if not seq:
            continue
        info = msg_info(m)
        try:
            if searcheval.matches(key, info, seq, ctx):
                out.append((seq, m.uid, m.modseq))
        except store.MessageGone:
            continue
    return out
