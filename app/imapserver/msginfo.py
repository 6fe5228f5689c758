"""What the IMAP server knows about one message of a selected mailbox, independent of how the
store represents it (``backend`` converts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")


@dataclass
class MsgInfo:
    uid: int
    flags: list[str]  # system flags with backslash, then keywords
    modseq: int
    internal_date: dt.datetime
    save_date: dt.datetime | None
    size: int
    ref: Any = None  # the store's handle for reading bytes and structure
    email_id: str = ""
    thread_id: str = ""
