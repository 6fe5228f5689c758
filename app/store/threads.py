"""Thread assignment at delivery, and the thread mute/collapse state.

Like mox: a message joins the thread of the newest message it references (References, else
In-Reply-To) that is in the account; if it references ids of which only older ones are present,
``thread_missing_link`` is set. Without a match, a reply or forward (its subject had a Re:/Fwd:
marker) joins the newest message with the same base subject (RFC 5256) received within four
weeks, also marked as a missing link. DSNs are not threaded by subject. Otherwise the message
starts its own thread: its thread id is its own id. A message joining a muted thread is muted
(and delivered as read by the caller); collapse is inherited too.
"""

from __future__ import annotations

from dataclasses import dataclass

import apsw

from app.store.analysis import Analyzed
from app.store.sqlq import q

SUBJECT_WINDOW = 28 * 24 * 3600.0


@dataclass(frozen=True)
class ThreadInfo:
    thread_id: int
    parent_ids: tuple[int, ...]
    missing_link: bool
    muted: bool
    collapsed: bool


def parent_ids_to_db(ids: tuple[int, ...]) -> str:
    return " ".join(str(i) for i in ids)


def parent_ids_from_db(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in s.split()) if s else ()


_Q = "SELECT id, thread_id, thread_parent_ids, thread_muted, thread_collapsed FROM message"


def assign(conn: apsw.Connection, own_id: int, an: Analyzed, received: float, is_dsn: bool) -> ThreadInfo:
    refs = [r for r in an.references if r and r != an.message_id]
    for i, ref in enumerate(reversed(refs)):
        rows = q(
            conn,
            _Q + " WHERE message_id = ? AND id != ? AND thread_id != 0 ORDER BY id DESC LIMIT 1",
            (ref, own_id),
        )
        if rows:
            return _child(rows[0], missing=i > 0)
    if an.subject_base and an.is_reply and not is_dsn:
        rows = q(
            conn,
            _Q
            + " WHERE subject_base = ? AND received >= ? AND id != ? AND thread_id != 0 ORDER BY received DESC LIMIT 1",
            (an.subject_base, received - SUBJECT_WINDOW, own_id),
        )
        if rows:
            return _child(rows[0], missing=True)
    return ThreadInfo(own_id, (), bool(refs), False, False)


def _child(r: tuple[int, int, str, int, int], missing: bool) -> ThreadInfo:
    pid, tid, pids, muted, collapsed = r
    return ThreadInfo(tid, (pid, *parent_ids_from_db(pids)), missing, bool(muted), bool(collapsed))
