"""LIST (RFC 9051 section 6.3.9, RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819
LIST-STATUS, RFC 3348 CHILDREN) and LSUB (RFC 3501 section 6.3.9), plus STATUS item rendering.
"""

from __future__ import annotations

from app import store
from app.imap import Parser, writer
from app.imapserver import recent
from app.imapserver.backend import mailbox_id
from app.imapserver.errors import Bad, No
from app.imapserver.names import from_client, pattern_regex, to_client
from app.imapserver.session import Session
from app.runtime import run_blocking

STATUS_ITEMS = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT", "HIGHESTMODSEQ",
                "APPENDLIMIT", "MAILBOXID"}  # fmt: skip


def status_items(
    s: Session, st: store.MailboxStatus, items: list[str], mb: store.Mailbox | None = None
) -> bytes:
    out: list[bytes] = []
    for it in items:
        if it not in STATUS_ITEMS:
            raise Bad(f"unknown status item {it}")
        if it == "MAILBOXID":
            if mb is not None:
                out.append(b"MAILBOXID (" + mailbox_id(mb).encode() + b")")
            continue
        if it == "MESSAGES":
            v = st.counts.total
        elif it == "UIDNEXT":
            v = st.uidnext
        elif it == "UIDVALIDITY":
            v = st.uidvalidity
        elif it == "UNSEEN":
            v = st.counts.unseen
        elif it == "DELETED":
            v = st.counts.deleted
        elif it == "SIZE":
            v = st.counts.size
        elif it == "HIGHESTMODSEQ":
            v = st.highest_modseq
        elif it == "APPENDLIMIT":
            v = s.deps.append_limit
        else:  # RECENT: messages above the claimed UID (nobody has seen them yet)
            v = max(0, st.uidnext - 1 - recent.peek(s.account, st.id)) if st.counts.total else 0
            v = min(v, st.counts.total)
        out.append(it.encode() + b" " + writer.number(v))
    return writer.plist(out)


def _parse_patterns(s: Session, p: Parser) -> list[str]:
    if p.take(b"("):
        pats = [p.list_mailbox()]
        while not p.take(b")"):
            p.sp()
            pats.append(p.list_mailbox())
        return pats
    return [p.list_mailbox()]


async def cmd_list(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    select_opts: list[str] = []
    if p.peek_byte() == 0x28:
        select_opts = [x.upper() for x in p.paren_list()]
        p.sp()
    ref = p.astring()
    p.sp()
    raw_patterns = _parse_patterns(s, p)
    return_opts: list[str] = []
    status_req: list[str] = []
    meta_req: list[str] = []
    if p.take_sp():
        p.expect(b"RETURN ")
        p.expect(b"(")
        while not p.take(b")"):
            opt = p.atom_upper()
            if opt == "STATUS":
                p.sp()
                status_req = [x.upper() for x in p.paren_list()]
            elif opt == "METADATA":
                # RFC 9590: METADATA (entry ...) returns those entries after each LIST.
                p.sp()
                meta_req = [e.lower() for e in p.paren_list("astring")]
            return_opts.append(opt)
            p.take_sp()
    p.end()
    for o in select_opts:
        if o not in ("SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"):
            raise Bad(f"unknown list selection option {o}")
    if "RECURSIVEMATCH" in select_opts and not {"SUBSCRIBED", "SPECIAL-USE"} & set(select_opts):
        raise Bad("RECURSIVEMATCH needs another selection option (RFC 5258 section 3.1)")
    for o in return_opts:
        if o not in ("SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS", "MYRIGHTS", "METADATA"):
            raise Bad(f"unknown list return option {o}")
    if len(raw_patterns) == 1 and raw_patterns[0] == "" and not select_opts:
        s.untagged('LIST (\\Noselect) "/" ""')
        return "LIST completed"
    ref = _pattern(s, ref) if ref else ""
    patterns = [_pattern(s, x) if x not in ("*", "%") else x for x in raw_patterns]
    await _list(s, ref, patterns, select_opts, return_opts, status_req, lsub=False, meta_req=meta_req)
    return "LIST completed"


def _pattern(s: Session, raw: str) -> str:
    """A LIST reference or pattern; one that is not valid modified UTF-7 just matches nothing."""
    try:
        return from_client(s, raw)
    except No:
        return raw


async def cmd_lsub(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    ref = p.astring()
    p.sp()
    pattern = p.list_mailbox()
    p.end()
    if pattern == "":
        s.untagged('LSUB (\\Noselect) "/" ""')
        return "LSUB completed"
    await _list(s, _pattern(s, ref) if ref else "", [_pattern(s, pattern)], ["SUBSCRIBED"], [], [], lsub=True)
    return "LSUB completed"


async def _list(
    s: Session,
    ref: str,
    patterns: list[str],
    select_opts: list[str],
    return_opts: list[str],
    status_req: list[str],
    lsub: bool,
    meta_req: list[str] | None = None,
) -> None:
    acct = s.account
    mailboxes: list[store.Mailbox] = await run_blocking(acct.list_mailboxes)
    subscribed: set[str] = set(await run_blocking(acct.subscriptions))
    by_name = {m.name: m for m in mailboxes}
    names = set(by_name)
    want_subscribed = "SUBSCRIBED" in select_opts
    if want_subscribed:
        names |= subscribed
    lsub_parents: set[str] = set()
    if lsub and any("%" in pat for pat in patterns):
        # RFC 3501 section 6.3.9: a "%" match on an unsubscribed parent of a subscribed
        # mailbox is listed with \Noselect.
        for n in subscribed:
            parts = n.split("/")
            lsub_parents.update("/".join(parts[:i]) for i in range(1, len(parts)))
        lsub_parents -= subscribed
        names |= lsub_parents
    rxs = [pattern_regex(ref, pat) for pat in patterns]
    has_children = {n.rsplit("/", 1)[0] for n in by_name if "/" in n}
    for n in list(by_name):
        parts = n.split("/")
        for i in range(1, len(parts)):
            has_children.add("/".join(parts[:i]))
    sub_children: set[str] = set()  # parents of a subscribed mailbox the patterns do not match
    for n in subscribed:
        if any(rx.match(n) for rx in rxs):
            continue
        parts = n.split("/")
        for i in range(1, len(parts)):
            sub_children.add("/".join(parts[:i]))
    recursive = "RECURSIVEMATCH" in select_opts
    for name in sorted(names, key=lambda x: (x != "Inbox", x)):
        if not any(rx.match(name) for rx in rxs):
            continue
        mb = by_name.get(name)
        is_sub = name in subscribed
        attrs: list[str] = []
        extra = b""
        if want_subscribed and not is_sub:
            if name in lsub_parents:
                attrs.append("\\Noselect")
            elif not (recursive and name in sub_children):
                continue
            else:
                extra = b' ("CHILDINFO" ("SUBSCRIBED"))'
        if "SPECIAL-USE" in select_opts and (mb is None or not mb.special_use):
            continue
        if mb is None and name not in lsub_parents:
            attrs.append("\\NonExistent")
        if not lsub:
            attrs.append("\\HasChildren" if name in has_children else "\\HasNoChildren")
        if is_sub and (want_subscribed or "SUBSCRIBED" in return_opts) and not lsub:
            attrs.append("\\Subscribed")
        if (
            mb is not None
            and mb.special_use
            and (
                (not select_opts and not return_opts)
                or "SPECIAL-USE" in select_opts
                or "SPECIAL-USE" in return_opts
            )
        ):
            attrs.append(mb.special_use)
        verb = "LSUB" if lsub else "LIST"
        s.untagged(f'{verb} ({" ".join(attrs)}) "/" '.encode() + to_client(s, name) + extra)
        if status_req and mb is not None:
            st = await run_blocking(acct.mailbox_status, mb.id)
            s.untagged(b"STATUS " + to_client(s, name) + b" " + status_items(s, st, status_req, mb))
        if meta_req and mb is not None:
            anns = {a.key: a for a in await run_blocking(acct.annotations, mb.id)}
            items: list[bytes] = []
            for key in meta_req:
                a = anns.get(key)
                value = (
                    b"NIL"
                    if a is None
                    else writer.string(a.value, s.utf8)
                    if a.is_string
                    else writer.literal(a.value, b"\x00" in a.value)
                )
                items.append(writer.astring(key) + b" " + value)
            s.untagged(b"METADATA " + to_client(s, name) + b" " + writer.plist(items))
        await s.maybe_flush()
