"""Evaluating a SEARCH key tree against messages (RFC 9051 section 6.4.4, with RFC 7162 MODSEQ,
RFC 5032 OLDER/YOUNGER, RFC 8514 SAVED*, RFC 5182 "$", RFC 8474 EMAILID/THREADID).

Text keys match case-insensitively on decoded text, as substrings (RFC 9051: "contains").
Synchronous: runs in the worker pool, loading message bytes only when a key needs them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable
from dataclasses import dataclass, field

from app import message
from app.imap.numset import NumSet
from app.imap.search import FLAG_KEYS, SearchKey
from app.imapserver.fetchrender import Loader
from app.imapserver.msginfo import MsgInfo

_CHEAP = {
    "ALL", "NEW", "OLD", "RECENT", "SAVEDATESUPPORTED", "KEYWORD", "UNKEYWORD", "BEFORE", "ON", "SINCE",
    "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE", "LARGER", "SMALLER", "OLDER", "YOUNGER", "UID", "MODSEQ",
    "SEQSET", "AND", "OR", "NOT", "EMAILID", "THREADID", *FLAG_KEYS,
}  # fmt: skip


@dataclass
class EvalContext:
    """What evaluation needs besides the message: sequence numbers, recent UIDs, "$", now."""

    largest_seq: int
    largest_uid: int
    recent: Callable[[int], bool]
    search_result: list[int]
    load: Loader
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    text_cache: dict[int, tuple[str, str]] = field(default_factory=dict)


def needs_body(key: SearchKey) -> bool:
    return any(k.op not in _CHEAP for k in key.walk())


def uses_modseq(key: SearchKey) -> bool:
    return any(k.op == "MODSEQ" for k in key.walk())


def _has_flag(m: MsgInfo, flag: str) -> bool:
    f = flag.lower()
    return any(x.lower() == f for x in m.flags)


def _in_set(ns: NumSet | None, n: int, largest: int) -> bool:
    return ns is not None and ns.contains(n, largest)


def _sent_date(data: bytes, part: message.Part) -> dt.date | None:
    value = message.header_value(data, part, "date")
    if not value:
        return None
    try:
        t = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return t.date() if t is not None else None


class _Loaded:
    def __init__(self, ctx: EvalContext, m: MsgInfo) -> None:
        self.ctx = ctx
        self.m = m
        self._data: tuple[bytes, message.Part] | None = None

    def get(self) -> tuple[bytes, message.Part]:
        if self._data is None:
            self._data = self.ctx.load(self.m)
        return self._data

    def header(self, name: str) -> list[str]:
        data, part = self.get()
        return [message.decode_rfc2047(message.unfold(v)) for v in message.header_values(data, part, name)]

    def addresses(self, name: str) -> list[str]:
        """Header values plus each parsed address as "Name <local@domain>" (comments and
        routes gone), so "user@domain" finds ``<user (c)@ (c) domain>`` too."""
        data, part = self.get()
        out = self.header(name)
        env = message.envelope(data, part)
        field = {"from": env.from_, "to": env.to, "cc": env.cc, "bcc": env.bcc}.get(name, [])
        if name == "from" and not message.header_values(data, part, "from"):
            field = []
        for a in field:
            if a.mailbox and a.host:
                out.append(f"{a.decoded_name or ''} <{a.mailbox}@{a.host}>")
        return out

    def texts(self) -> tuple[str, str]:
        """(decoded header text, decoded body text), lower-cased; cached per UID."""
        cached = self.ctx.text_cache.get(self.m.uid)
        if cached is not None:
            return cached
        data, part = self.get()
        header = _header_text(data, part)
        body: list[str] = []
        for p in part.walk():
            if p.message is not None:
                body.append(_header_text(data, p.message))
            elif not p.parts and (p.media_type == "text" or not p.has_content_type):
                body.append(message.decoded_text(data, p))
        res = (header.lower(), "\n".join(body).lower())
        if len(self.ctx.text_cache) > 64:
            self.ctx.text_cache.clear()
        self.ctx.text_cache[self.m.uid] = res
        return res


def _header_text(data: bytes, part: message.Part) -> str:
    return "\n".join(
        n + ": " + message.decode_rfc2047(message.unfold(v.decode("utf-8", "replace")))
        for n, v in message.iter_fields(data, part.header_start, part.body_start)
    )


def matches(key: SearchKey, m: MsgInfo, seq: int, ctx: EvalContext) -> bool:
    return _eval(key, m, seq, ctx, _Loaded(ctx, m))


def _eval(k: SearchKey, m: MsgInfo, seq: int, ctx: EvalContext, ld: _Loaded) -> bool:
    op = k.op
    if op == "AND":
        return all(_eval(x, m, seq, ctx, ld) for x in k.keys)
    if op == "OR":
        return _eval(k.keys[0], m, seq, ctx, ld) or _eval(k.keys[1], m, seq, ctx, ld)
    if op == "NOT":
        return not _eval(k.keys[0], m, seq, ctx, ld)
    if op in ("ALL", "SAVEDATESUPPORTED"):
        return True
    if op in FLAG_KEYS:
        flag, want = FLAG_KEYS[op]
        return _has_flag(m, flag) == want
    if op == "KEYWORD":
        return _has_flag(m, k.flag)
    if op == "UNKEYWORD":
        return not _has_flag(m, k.flag)
    if op == "RECENT":
        return ctx.recent(m.uid)
    if op == "NEW":
        return ctx.recent(m.uid) and not _has_flag(m, "\\Seen")
    if op == "OLD":
        return not ctx.recent(m.uid)
    if op == "SEQSET":
        if k.numset is not None and k.numset.search_result:
            return m.uid in ctx.search_result
        return _in_set(k.numset, seq, ctx.largest_seq)
    if op == "UID":
        if k.numset is not None and k.numset.search_result:
            return m.uid in ctx.search_result
        return _in_set(k.numset, m.uid, ctx.largest_uid)
    if op == "LARGER":
        return m.size > k.number
    if op == "SMALLER":
        return m.size < k.number
    if op == "MODSEQ":
        return m.modseq >= k.number
    if op in ("OLDER", "YOUNGER"):
        age = (ctx.now - m.internal_date).total_seconds()
        return age >= k.number if op == "OLDER" else age <= k.number
    if op in ("BEFORE", "ON", "SINCE"):
        return _cmp_date(op, m.internal_date.date(), k.date)
    if op in ("SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"):
        d = (m.save_date or m.internal_date).date()
        return _cmp_date(op.removeprefix("SAVED"), d, k.date)
    if op in ("SENTBEFORE", "SENTON", "SENTSINCE"):
        data, part = ld.get()
        sent = _sent_date(data, part) or m.internal_date.date()
        return _cmp_date(op.removeprefix("SENT"), sent, k.date)
    if op == "EMAILID":
        return m.email_id == k.text
    if op == "THREADID":
        return m.thread_id == k.text
    needle = k.text.lower()
    if op in ("FROM", "TO", "CC", "BCC"):
        return any(needle in v.lower() for v in ld.addresses(op.lower()))
    if op == "SUBJECT":
        return any(needle in v.lower() for v in ld.header("subject"))
    if op == "HEADER":
        values = ld.header(k.header)
        if not needle:
            return bool(values)
        return any(needle in v.lower() for v in values)
    if op == "BODY":
        return needle in ld.texts()[1]
    if op == "TEXT":
        h, b = ld.texts()
        return needle in h or needle in b
    return False


def _cmp_date(op: str, have: dt.date, want: dt.date | None) -> bool:
    if want is None:
        return False
    if op == "BEFORE":
        return have < want
    if op == "ON":
        return have == want
    return have >= want
