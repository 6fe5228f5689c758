"""Mailbox names on the wire (RFC 9051 section 5.1): INBOX is case-insensitive and stored as
"Inbox", the hierarchy separator is "/", and names are modified UTF-7 (RFC 3501 section
5.1.3) until the client enables UTF8=ACCEPT or IMAP4rev2 (RFC 6855, RFC 9051).
"""

from __future__ import annotations

import re

from app.imap import Parser, utf7, writer
from app.imapserver.errors import No
from app.imapserver.session import Session

SEP = "/"


def normalize(name: str) -> str:
    """INBOX in any case (also as the first component) becomes "Inbox"."""
    if name.upper() == "INBOX":
        return "Inbox"
    if name[:6].upper() == "INBOX/":
        return "Inbox/" + name[6:]
    return name


def from_client(s: Session, raw: str) -> str:
    if not s.utf8:
        try:
            raw = utf7.decode(raw)
        except utf7.UTF7Error as e:
            raise No(f"invalid mailbox name: {e}", "CANNOT")
    return normalize(raw)


def parse_mailbox(s: Session, p: Parser) -> str:
    return from_client(s, p.astring())


def check_new_name(name: str) -> str:
    """Validate a name for CREATE/RENAME targets (trailing separator dropped, RFC 9051 6.3.4)."""
    name = name.rstrip(SEP) if name != SEP else name
    if not name or name.startswith(SEP) or SEP + SEP in name:
        raise No("invalid mailbox name", "CANNOT")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name) or "*" in name or "%" in name:
        raise No("invalid characters in mailbox name", "CANNOT")
    return name


def to_client(s: Session, name: str) -> bytes:
    shown = "INBOX" if name == "Inbox" else name
    if not s.utf8:
        shown = utf7.encode(shown)
    return writer.astring(shown, s.utf8)


def pattern_regex(reference: str, pattern: str) -> re.Pattern[str]:
    """LIST matching (RFC 9051 section 6.3.9): "*" matches anything, "%" anything but "/"."""
    full = (
        reference + pattern
        if not pattern.startswith(SEP) or not reference
        else reference.rstrip(SEP) + pattern
    )
    out = []
    for ch in full:
        if ch == "*":
            out.append(".*")
        elif ch == "%":
            out.append("[^/]*")
        else:
            out.append(re.escape(ch))
    rx = "".join(out)
    # INBOX matches case-insensitively (as a whole first component).
    if full[:5].upper() == "INBOX" and (len(full) == 5 or full[5] in "/*%"):
        rx = "(?i:inbox)" + "".join(out[5:]) if all(len(x) <= 2 for x in out[:5]) else rx
    return re.compile(rx + r"\Z", re.S)
