"""The selected mailbox as this session sees it (RFC 9051 section 2.3.1.2): the UIDs in
sequence-number order, which of them are \\Recent here, and whether it is read-only.

The view changes only when the session tells the client (EXISTS, EXPUNGE/VANISHED), so
sequence numbers always agree with what the client was told.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from app.imap import NumSet, NumSetError
from app.imapserver.errors import Bad


@dataclass
class MailboxView:
    mailbox_id: int
    name: str
    readonly: bool
    uidvalidity: int
    uids: list[int]
    recent_floor: int  # UIDs in (floor, ceiling] were recent when selected
    recent_ceiling: int
    recent_extra: set[int] = field(default_factory=set)
    uidnext: int = 0

    @property
    def count(self) -> int:
        return len(self.uids)

    def last_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def seq_of(self, uid: int) -> int:
        """The sequence number of a UID, 0 when it is not in the view."""
        i = bisect.bisect_left(self.uids, uid)
        return i + 1 if i < len(self.uids) and self.uids[i] == uid else 0

    def is_recent(self, uid: int) -> bool:
        return self.recent_floor < uid <= self.recent_ceiling or uid in self.recent_extra

    def recent_count(self) -> int:
        lo = bisect.bisect_right(self.uids, self.recent_floor)
        hi = bisect.bisect_right(self.uids, self.recent_ceiling)
        return max(0, hi - lo) + len(self.recent_extra)

    def add(self, uid: int, recent: bool) -> bool:
        """Add a new UID at the end; False when it is not newer than what the view has."""
        if self.uids and uid <= self.uids[-1]:
            return False
        self.uids.append(uid)
        if recent:
            self.recent_extra.add(uid)
        self.uidnext = max(self.uidnext, uid + 1)
        return True

    def remove(self, uid: int) -> int:
        """Remove a UID, returning its sequence number before removal (0 if absent)."""
        seq = self.seq_of(uid)
        if seq:
            del self.uids[seq - 1]
            self.recent_extra.discard(uid)
        return seq

    def resolve(self, ns: NumSet, is_uid: bool, search_result: list[int]) -> list[tuple[int, int]]:
        """(seq, uid) pairs for a sequence set, ascending. UID sets ignore absent UIDs (RFC 9051
        section 6.4.8); a message sequence number beyond the mailbox is an error."""
        if ns.search_result:
            out = []
            for uid in sorted(search_result):
                seq = self.seq_of(uid)
                if seq:
                    out.append((seq, uid))
            return out
        if is_uid:
            return [(self.seq_of(u), u) for u in ns.select(self.uids)]
        if not self.uids:
            raise Bad("mailbox is empty, no message sequence numbers")
        ranges = ns.resolved(len(self.uids))
        if len(ranges) == 1 and ranges[0][0] >= 1 and ranges[0][1] <= len(self.uids):
            # One range (m:n, 1:*): slice instead of a set of sequence numbers.
            lo, hi = ranges[0]
            return list(zip(range(lo, hi + 1), self.uids[lo - 1 : hi], strict=True))
        try:
            seqs = ns.seq_indexes(len(self.uids))
        except NumSetError as e:
            raise Bad(str(e))
        return [(q, self.uids[q - 1]) for q in seqs]
