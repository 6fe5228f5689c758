"""SEARCH keys (RFC 9051 section 6.4.4) with the additions of CONDSTORE (RFC 7162 MODSEQ),
WITHIN (RFC 5032 OLDER/YOUNGER), SAVEDATE (RFC 8514), SEARCHRES (RFC 5182 "$") and OBJECTID
(RFC 8474 EMAILID/THREADID), parsed into a tree of ``SearchKey``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.imap.numset import NumSet
from app.imap.parser import Parser

FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "DRAFT": ("\\Draft", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
    "UNDRAFT": ("\\Draft", False),
}
NOARG_KEYS = {"ALL", "NEW", "OLD", "RECENT", "SAVEDATESUPPORTED", *FLAG_KEYS}
TEXT_KEYS = {"BCC", "CC", "FROM", "TO", "SUBJECT", "BODY", "TEXT"}
DATE_KEYS = {
    "BEFORE",
    "ON",
    "SINCE",
    "SENTBEFORE",
    "SENTON",
    "SENTSINCE",
    "SAVEDBEFORE",
    "SAVEDON",
    "SAVEDSINCE",
}
NUMBER_KEYS = {"LARGER", "SMALLER"}
INTERVAL_KEYS = {"OLDER", "YOUNGER"}
OBJECTID_KEYS = {"EMAILID", "THREADID"}


@dataclass
class SearchKey:
    """One search key. ``op`` is the upper-case key; "AND" is a parenthesized list (and the
    whole program), "SEQSET" a bare sequence set."""

    op: str
    keys: list[SearchKey] = field(default_factory=list)
    numset: NumSet | None = None
    text: str = ""
    header: str = ""
    date: dt.date | None = None
    number: int = 0
    flag: str = ""  # KEYWORD/UNKEYWORD, and MODSEQ's entry flag if given

    def walk(self) -> list[SearchKey]:
        """This key and all nested keys, depth first."""
        out = [self]
        for k in self.keys:
            out.extend(k.walk())
        return out


@dataclass
class SearchProgram:
    charset: str
    key: SearchKey


def parse_program(p: Parser) -> SearchProgram:
    """search-program = ["CHARSET" SP charset SP] search-key *(SP search-key), to the end."""
    charset = ""
    if p.take(b"CHARSET "):
        charset = p.astring().upper()
        p.sp()
    keys = [parse_key(p)]
    while p.take_sp():
        keys.append(parse_key(p))
    return SearchProgram(charset, SearchKey("AND", keys) if len(keys) > 1 else keys[0])


def parse_key(p: Parser) -> SearchKey:
    c = p.peek_byte()
    if c == 0x28:  # "("
        p.pos += 1
        keys = [parse_key(p)]
        while not p.take(b")"):
            p.sp()
            keys.append(parse_key(p))
        return SearchKey("AND", keys)
    if c >= 0 and c in b"0123456789*$":
        return SearchKey("SEQSET", numset=p.numset())
    op = p.atom_upper()
    if op in NOARG_KEYS:
        return SearchKey(op)
    p.sp()
    if op == "NOT":
        return SearchKey(op, [parse_key(p)])
    if op == "OR":
        a = parse_key(p)
        p.sp()
        return SearchKey(op, [a, parse_key(p)])
    if op in TEXT_KEYS:
        return SearchKey(op, text=p.astring())
    if op == "HEADER":
        name = p.astring()
        p.sp()
        return SearchKey(op, header=name, text=p.astring())
    if op in ("KEYWORD", "UNKEYWORD"):
        return SearchKey(op, flag=p.flag())
    if op in DATE_KEYS:
        return SearchKey(op, date=p.date())
    if op in NUMBER_KEYS:
        return SearchKey(op, number=p.number64())
    if op in INTERVAL_KEYS:
        return SearchKey(op, number=p.nz_number())
    if op == "UID":
        return SearchKey(op, numset=p.numset())
    if op == "MODSEQ":
        flag = ""
        if p.peek_byte() == 0x22:
            flag = p.quoted_bytes().decode("utf-8", "replace")
            p.sp()
            kind = p.atom_upper()
            if kind not in ("PRIV", "SHARED", "ALL"):
                raise p.error("invalid MODSEQ entry type")
            p.sp()
        return SearchKey(op, number=p.mod_sequence(), flag=flag)
    if op in OBJECTID_KEYS:
        return SearchKey(op, text=p.atom())
    raise p.error(f"unknown search key {op}")
