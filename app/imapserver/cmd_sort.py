"""SORT and THREAD (RFC 5256), SORT=DISPLAY (RFC 5957) and ESORT (RFC 5267 return options).

Messages are chosen with the SEARCH machinery, then ordered by the criteria, ties broken by
sequence number. THREAD=ORDEREDSUBJECT groups by base subject; THREAD=REFERENCES follows the
RFC 5256 section 4 references algorithm (in ``threading``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
from dataclasses import dataclass

from app import message, store
from app.imap import Parser, format_numbers
from app.imap.search import SearchKey, parse_key
from app.imapserver import searcheval, threading_refs
from app.imapserver.backend import make_loader, msg_info
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import Bad, No
from app.imapserver.session import Session
from app.runtime import run_blocking

CRITERIA = {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}


@dataclass
class Item:
    seq: int
    uid: int
    arrival: float
    size: int
    sent: float
    subject: str
    from_: str
    to: str
    cc: str
    display_from: str
    display_to: str
    message_id: str
    refs: list[str]
    reply: bool


# Strings compare with i;ascii-casemap (RFC 4790): ASCII letters folded to upper case.


def _fold(s: str) -> str:
    return "".join(c.upper() if "a" <= c <= "z" else c for c in s)


def _first_mailbox(addrs: list[message.EnvAddress]) -> str:
    """addr-mailbox of the first address (a group's name for a group, as in the envelope)."""
    for a in addrs:
        if a.mailbox:
            return _fold(a.mailbox)
    return ""


def _display(addrs: list[message.EnvAddress]) -> str:
    """RFC 5957: the display name of the first address, else its address."""
    for a in addrs:
        if a.mailbox:
            name = a.decoded_name
            if name:
                return _fold(name)
            return _fold(f"{a.mailbox}@{a.host}" if a.host else a.mailbox)
    return ""


def _raw(data: bytes, part: message.Part, name: str) -> str:
    """A header that did not parse as addresses, as text (e.g. "From: d")."""
    v = message.header_value(data, part, name)
    return _fold(message.decode_rfc2047(message.unfold(v)).strip()) if v else ""


def _sent(data: bytes, part: message.Part, fallback: float) -> float:
    v = message.header_value(data, part, "date")
    if v:
        try:
            t = email.utils.parsedate_to_datetime(v)
            if t.tzinfo is None:
                t = t.replace(tzinfo=dt.UTC)
            return t.timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return fallback


def _items(s: Session, matched: list[tuple[int, int, store.MessageMeta]]) -> list[Item]:
    load = make_loader(s.account)
    out = []
    for seq, uid, meta in matched:
        info = msg_info(meta)
        try:
            data, part = load(info)
        except store.MessageGone:
            continue
        env = message.envelope(data, part)
        out.append(
            Item(
                seq=seq, uid=uid, arrival=meta.received, size=meta.size,
                sent=_sent(data, part, meta.received),
                subject=_fold(message.base_subject(env.subject or "")),
                from_=_first_mailbox(env.from_), to=_first_mailbox(env.to), cc=_first_mailbox(env.cc),
                display_from=_display(env.from_) or _raw(data, part, "from"),
                display_to=_display(env.to) or _raw(data, part, "to"),
                message_id=message.message_id(env.message_id or ""),
                refs=message.references(message.header_value(data, part, "references"), env.in_reply_to),
                reply=_is_reply(env.subject_decoded or ""),
            )
        )  # fmt: skip
    return out


def _is_reply(subject: str) -> bool:
    """Whether the subject carried a reply or forward marker (RFC 5256 section 2.1)."""
    plain = " ".join(subject.split()).lower()
    return bool(plain) and message.base_subject(subject).lower() != plain


def _value(it: Item, crit: str) -> object:
    return {
        "ARRIVAL": it.arrival, "CC": it.cc, "DATE": it.sent, "FROM": it.from_, "SIZE": it.size,
        "SUBJECT": it.subject, "TO": it.to, "DISPLAYFROM": it.display_from, "DISPLAYTO": it.display_to,
    }[crit]  # fmt: skip


def sort_items(items: list[Item], criteria: list[tuple[str, bool]]) -> list[Item]:
    def cmp(a: Item, b: Item) -> int:
        for crit, reverse in criteria:
            va, vb = _value(a, crit), _value(b, crit)
            if va != vb:
                r = -1 if va < vb else 1  # type: ignore[operator]
                return -r if reverse else r
        return a.seq - b.seq

    return sorted(items, key=functools.cmp_to_key(cmp))


async def _matching(s: Session, p: Parser) -> list[tuple[int, int, store.MessageMeta]]:
    """Parse charset and search keys (to the end) and return the matching messages."""
    charset = p.astring().upper()
    if charset not in ("US-ASCII", "UTF-8"):
        raise No("unsupported charset", "BADCHARSET (US-ASCII UTF-8)")
    p.sp()
    keys = [parse_key(p)]
    while p.take_sp():
        keys.append(parse_key(p))
    p.end()
    key = keys[0] if len(keys) == 1 else SearchKey("AND", keys)
    v = s.selected
    assert v is not None
    ctx = searcheval.EvalContext(
        largest_seq=v.count, largest_uid=v.last_uid(),
        recent=v.is_recent if not s.rev2 else (lambda _u: False),
        search_result=s.search_result, load=make_loader(s.account),
    )  # fmt: skip

    def run(metas: list[store.MessageMeta]) -> list[tuple[int, int, store.MessageMeta]]:
        out = []
        for m in metas:
            seq = v.seq_of(m.uid)
            if seq and searcheval.matches(key, msg_info(m), seq, ctx):
                out.append((seq, m.uid, m))
        return out

    matched: list[tuple[int, int, store.MessageMeta]] = []
    for i in range(0, v.count, 1000):
        try:
            metas = await run_blocking(s.account.message_meta, v.mailbox_id, v.uids[i : i + 1000])
        except store.StoreError as e:
            raise store_error(e)
        matched.extend(await run_blocking(run, metas))
    return matched


async def _sort(s: Session, p: Parser, tag: str, is_uid: bool) -> str:
    p.sp()
    ret: list[str] | None = None
    if p.take(b"RETURN "):
        ret = [x.upper() for x in p.paren_list()] or ["ALL"]
        for r in ret:
            if r not in ("MIN", "MAX", "ALL", "COUNT"):
                raise Bad(f"unknown sort return option {r}")
        p.sp()
    p.expect(b"(")
    criteria: list[tuple[str, bool]] = []
    while True:
        c = p.atom_upper()
        reverse = c == "REVERSE"
        if reverse:
            p.sp()
            c = p.atom_upper()
        if c not in CRITERIA:
            raise Bad(f"unknown sort criterion {c}")
        criteria.append((c, reverse))
        if p.take(b")"):
            break
        p.sp()
    p.sp()
    matched = await _matching(s, p)
    items = await run_blocking(_items, s, matched)
    ordered = sort_items(items, criteria)
    nums = [it.uid if is_uid else it.seq for it in ordered]
    name = ("UID " if is_uid else "") + "SORT"
    if ret is None:
        s.untagged("SORT" + "".join(f" {n}" for n in nums))
        return f"{name} completed"
    parts = [f'(TAG "{tag}")'] + (["UID"] if is_uid else [])
    if nums:
        if "MIN" in ret:
            parts.append(f"MIN {min(nums)}")
        if "MAX" in ret:
            parts.append(f"MAX {max(nums)}")
        if "ALL" in ret:
            parts.append("ALL " + format_numbers(nums))
    if "COUNT" in ret:
        parts.append(f"COUNT {len(nums)}")
    s.untagged("ESEARCH " + " ".join(parts))
    return f"{name} completed"


async def cmd_sort(s: Session, p: Parser, tag: str) -> str:
    return await _sort(s, p, tag, False)


async def cmd_uid_sort(s: Session, p: Parser, tag: str) -> str:
    return await _sort(s, p, tag, True)


def ordered_subject(items: list[Item]) -> list[threading_refs.Node]:
    """RFC 5256 ORDEREDSUBJECT: one thread per base subject, later messages children of the
    first, threads ordered by their first message's sent date."""
    groups: dict[str, list[Item]] = {}
    for it in sort_items(items, [("SUBJECT", False), ("DATE", False)]):
        groups.setdefault(it.subject, []).append(it)
    roots = []
    for group in groups.values():
        root = threading_refs.Node(group[0])
        root.children = [threading_refs.Node(x) for x in group[1:]]
        roots.append(root)
    roots.sort(key=lambda n: (n.item.sent, n.item.seq) if n.item else (0.0, 0))
    return roots


async def _thread(s: Session, p: Parser, is_uid: bool) -> str:
    p.sp()
    alg = p.atom_upper()
    if alg not in ("ORDEREDSUBJECT", "REFERENCES"):
        raise Bad(f"unknown threading algorithm {alg}")
    p.sp()
    matched = await _matching(s, p)
    items = await run_blocking(_items, s, matched)
    roots = ordered_subject(items) if alg == "ORDEREDSUBJECT" else threading_refs.references(items)
    s.untagged("THREAD " + "".join(threading_refs.render(r, is_uid) for r in roots))
    return ("UID " if is_uid else "") + "THREAD completed"


async def cmd_thread(s: Session, p: Parser, tag: str) -> str:
    return await _thread(s, p, False)


async def cmd_uid_thread(s: Session, p: Parser, tag: str) -> str:
    return await _thread(s, p, True)
