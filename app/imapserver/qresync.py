"""Quick resynchronization on SELECT (RFC 7162 section 3.2.5): report what was expunged
(VANISHED (EARLIER)) and which flags changed since the client's last known modseq.
"""

from __future__ import annotations

from typing import Any

from app.imap import NumSet, format_numbers
from app.imapserver.changes import flags_line
from app.imapserver.selected import MailboxView
from app.imapserver.session import Session
from app.runtime import run_blocking


async def qresync_select(
    s: Session,
    view: MailboxView,
    arg: tuple[int, int, NumSet | None, tuple[NumSet, NumSet] | None],
    rows: dict[int, Any],
) -> None:
    uidvalidity, modseq, known, _match = arg
    if uidvalidity != view.uidvalidity:
        return
    vanished: list[int] = await run_blocking(s.account.expunged_since, view.mailbox_id, modseq)
    if known is not None:
        largest = max(vanished[-1] if vanished else 0, view.last_uid())
        vanished = [u for u in vanished if known.contains(u, largest)]
    if vanished:
        s.untagged("VANISHED (EARLIER) " + format_numbers(sorted(vanished)))
    for seq, uid in enumerate(view.uids, 1):
        r = rows.get(uid)
        if r is None or r[1] <= modseq:
            continue
        if known is not None and not known.contains(uid, view.last_uid()):
            continue
        s.untagged(flags_line(s, seq, uid, r[2], r[1]))
        await s.maybe_flush()
