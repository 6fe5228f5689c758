"""Junk flags from the destination mailbox (mox's AutomaticJunkFlags): a message copied or
moved into a mailbox matching JunkMailboxRegexp gets $Junk (and loses $NotJunk); one matching
NeutralMailboxRegexp is left alone; any other (or, when NotJunkMailboxRegexp is set, one
matching it) gets $NotJunk and loses $Junk. Names are matched lower-cased."""

from __future__ import annotations

import re
from typing import Any


def _match(rx: str, name: str) -> bool:
    if not rx:
        return False
    try:
        return re.search(rx, name) is not None
    except re.error:
        return False


def desired(settings: Any, mailbox: str) -> tuple[list[str], list[str]] | None:
    """(flags to add, flags to remove) for messages arriving in mailbox, None for no change."""
    if settings is None or not getattr(settings, "Enabled", False):
        return None
    name = mailbox.lower()
    if _match(settings.JunkMailboxRegexp, name):
        return ["$Junk"], ["$NotJunk"]
    if _match(settings.NeutralMailboxRegexp, name):
        return None
    if not settings.NotJunkMailboxRegexp or _match(settings.NotJunkMailboxRegexp, name):
        return ["$NotJunk"], ["$Junk"]
    return None


def for_account(config: Any, account: str) -> Any:
    """The account's AutomaticJunkFlags section from the config, or None."""
    if config is None:
        return None
    try:
        acc = config.account(account)
    except Exception:
        return None
    return getattr(acc, "AutomaticJunkFlags", None) if acc is not None else None
