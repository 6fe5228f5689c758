"""What the IMAP server knows about one message of a selected mailbox, independent of how the
store represents it (``backend`` converts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass
class MsgInfo:
    uid: int
    flags: list[str]  # system flags with backslash, then keywords
    modseq: int
    received: float  # INTERNALDATE as seconds since the epoch
    savedate: float  # 0 when unknown
    size: int
    ref: Any = None  # the store's handle for reading bytes and structure
    email_id: str = ""
    thread_id: str = ""
    data_id: int = 0  # the stored bytes (shared by copies, never changed); 0 when unknown

    @property
    def internal_date(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.received, dt.UTC).replace(microsecond=0)

    @property
    def save_date(self) -> dt.datetime | None:
        if not self.savedate:
            return None
        return dt.datetime.fromtimestamp(self.savedate, dt.UTC).replace(microsecond=0)
