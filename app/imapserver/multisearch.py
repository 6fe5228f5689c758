"""ESEARCH across mailboxes (RFC 7377 MULTISEARCH): ``ESEARCH IN (sources) [RETURN (...)]
criteria``, one ESEARCH response (with MAILBOX and UIDVALIDITY) per mailbox with matches, UIDs
always. Sources: selected, selected-delayed, inboxes, personal, subscribed, subtree,
subtree-one, mailboxes."""

from __future__ import annotations

from app import store
from app.imap import Parser, format_numbers
from app.imap.search import parse_program
from app.imapserver import changes, searcheval
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.cmd_search import RETURN_OPTS, search_mailbox
from app.imapserver.errors import Bad, No
from app.imapserver.names import from_client, to_client
from app.imapserver.session import Session
from app.runtime import run_blocking

FILTERS = {
    "SELECTED",
    "SELECTED-DELAYED",
    "INBOXES",
    "PERSONAL",
    "SUBSCRIBED",
    "SUBTREE",
    "SUBTREE-ONE",
    "MAILBOXES",
}


def _mailbox_list(s: Session, p: Parser) -> list[str]:
    if p.take(b"("):
        out = [from_client(s, p.astring())]
        while not p.take(b")"):
            p.sp()
            out.append(from_client(s, p.astring()))
        return out
    return [from_client(s, p.astring())]


async def cmd_esearch(s: Session, p: Parser, tag: str) -> str:
    sources: list[tuple[str, list[str]]] = [("SELECTED", [])]
    ret: list[str] = ["ALL"]
    p.sp()
    if p.take(b"IN ("):
        sources = []
        while not p.take(b")"):
            f = p.atom_upper()
            if f not in FILTERS:
                raise Bad(f"unknown mailbox filter {f}")
            names: list[str] = []
            if f in ("SUBTREE", "SUBTREE-ONE", "MAILBOXES"):
                p.sp()
                names = _mailbox_list(s, p)
            sources.append((f, names))
            p.take_sp()
        p.sp()
    if p.take(b"RETURN "):
        ret = [x.upper() for x in p.paren_list()] or ["ALL"]
        for r in ret:
            if r not in RETURN_OPTS or r == "SAVE":
                raise Bad(f"return option {r} not allowed in multi-mailbox search")
        p.sp()
    prog = parse_program(p)
    p.end()
    if prog.charset not in ("", "US-ASCII", "UTF-8"):
        raise No("unsupported charset", "BADCHARSET (US-ASCII UTF-8)")
    if any(k.numset is not None and k.numset.search_result for k in prog.key.walk()):
        raise Bad('"$" not allowed in multi-mailbox search')
    if searcheval.uses_modseq(prog.key):
        changes.condstore_used(s)
    mailboxes: list[store.Mailbox] = await run_blocking(s.account.list_mailboxes)
    subscribed = set(await run_blocking(s.account.subscriptions))
    chosen: dict[int, store.Mailbox] = {}
    for f, names in sources:
        for mb in mailboxes:
            if (
                (
                    f in ("SELECTED", "SELECTED-DELAYED")
                    and s.selected is not None
                    and mb.id == s.selected.mailbox_id
                )
                or (f == "INBOXES" and mb.name == "Inbox")
                or f == "PERSONAL"
                or (f == "SUBSCRIBED" and mb.name in subscribed)
                or (f == "MAILBOXES" and mb.name in names)
                or (f == "SUBTREE" and any(mb.name == n or mb.name.startswith(n + "/") for n in names))
                or (f == "SUBTREE-ONE" and any(mb.name == n or mb.name.rsplit("/", 1)[0] == n for n in names))
            ):
                chosen[mb.id] = mb
    for mb in sorted(chosen.values(), key=lambda m: m.name):
        try:
            uids: list[int] = await run_blocking(s.account.uids, mb.id)
        except store.StoreError as e:
            raise store_error(e)
        sel = s.selected if s.selected is not None and s.selected.mailbox_id == mb.id else None
        if sel is not None:
            uids = list(sel.uids)
        matched = await search_mailbox(
            s, tag, mb.id, uids, prog.key, sel.is_recent if sel else (lambda _u: False)
        )
        if not matched:
            continue
        nums = [u for _, u, _ in matched]
        parts = [
            b'(TAG "'
            + tag.encode()
            + b'" MAILBOX '
            + to_client(s, mb.name)
            + b" UIDVALIDITY %d) UID" % mb.uidvalidity
        ]
        if "MIN" in ret:
            parts.append(b"MIN %d" % nums[0])
        if "MAX" in ret:
            parts.append(b"MAX %d" % nums[-1])
        if "ALL" in ret:
            parts.append(b"ALL " + format_numbers(nums).encode())
        if "COUNT" in ret:
            parts.append(b"COUNT %d" % len(nums))
        if searcheval.uses_modseq(prog.key):
            parts.append(b"MODSEQ %d" % max(m for _, _, m in matched))
        s.untagged(b"ESEARCH " + b" ".join(parts))
        await s.maybe_flush()
    return "ESEARCH completed"
