"""CONTEXT=SEARCH (RFC 5267): SEARCH RETURN (UPDATE) keeps a search alive and tells the client
how its result changes (ESEARCH ADDTO / REMOVEFROM) until CANCELUPDATE or the mailbox is
closed; RETURN (PARTIAL m:n) returns a window of the result.

A live search is re-evaluated over the selected mailbox after each command and whenever
changes are delivered; messages about to be expunged are reported as removed before the
EXPUNGE responses, so the sequence numbers in REMOVEFROM are still valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.imap import Parser, format_numbers
from app.imap.search import SearchKey
from app.imapserver.errors import Bad
from app.imapserver.session import Session

MAX_UPDATES = 10


@dataclass
class LiveSearch:
    tag: str
    key: SearchKey
    is_uid: bool
    uids: set[int] = field(default_factory=set)


def parse_partial(p: Parser) -> tuple[int, int]:
    """PARTIAL m:n (RFC 5267 section 4.4): 1-based positions, either order, no "*"."""
    start = p.pos
    lo = p.nz_number()
    if not p.take(b":"):
        p.pos = start
        raise Bad("PARTIAL needs a range m:n")
    hi = p.nz_number()
    return (lo, hi) if lo <= hi else (hi, lo)


def partial_item(nums: list[int], rng: tuple[int, int]) -> str:
    lo, hi = rng
    window = nums[lo - 1 : hi]
    return f"PARTIAL ({lo}:{hi} {format_numbers(window) if window else 'NIL'})"


def register(s: Session, live: LiveSearch) -> None:
    if len(s.live_searches) >= MAX_UPDATES:
        raise Bad("too many searches with UPDATE")
    s.live_searches[live.tag] = live


async def cmd_cancelupdate(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    tags = [p.string()]
    while p.take_sp():
        tags.append(p.string())
    p.end()
    for t in tags:
        if t not in s.live_searches:
            raise Bad(f"no search with UPDATE under tag {t}")
    for t in tags:
        del s.live_searches[t]
    return "CANCELUPDATE completed"


async def refresh(s: Session, removing: set[int] | None = None) -> None:
    """Re-evaluate live searches; report removed (incl. ``removing``, still in the view) and
    added messages."""
    v = s.selected
    if not s.live_searches or v is None:
        return
    from app.imapserver.cmd_search import search_mailbox

    gone = removing or set()
    uids = [u for u in v.uids if u not in gone]
    for live in list(s.live_searches.values()):
        matched = await search_mailbox(
            s, live.tag, v.mailbox_id, uids, live.key, v.is_recent if not s.rev2 else (lambda _u: False)
        )
        now = {u for _, u, _ in matched}
        removed = sorted((live.uids - now) | (live.uids & gone))
        added = sorted(now - live.uids)
        live.uids = now
        head = f'ESEARCH (TAG "{live.tag}")' + (" UID" if live.is_uid else "")
        if removed:
            nums = removed if live.is_uid else [v.seq_of(u) for u in removed if v.seq_of(u)]
            if nums:
                s.untagged(f"{head} REMOVEFROM (0 {format_numbers(sorted(nums))})")
        if added:
            nums = added if live.is_uid else [v.seq_of(u) for u in added if v.seq_of(u)]
            if nums:
                s.untagged(f"{head} ADDTO (0 {format_numbers(sorted(nums))})")
