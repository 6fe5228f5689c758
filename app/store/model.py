"""Value types of the store API: flags, mailboxes, message metadata, delivery facts, results.

Flags are given and returned as one set of IMAP names (RFC 9051 section 2.3.2): the system flags
``\\Seen \\Answered \\Flagged \\Deleted \\Draft``, the well-known keywords ``$Forwarded $Junk
$NotJunk $Phishing $MDNSent`` (stored as columns, returned with that spelling) and any other
keyword, matched case-insensitively and stored and returned in lower case (as mox does).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.store.errors import InvalidFlag

# Column name for each flag stored as a boolean, keyed by the lower-case IMAP name.
FLAG_COLUMNS: dict[str, str] = {
    "\\seen": "seen",
    "\\answered": "answered",
    "\\flagged": "flagged",
    "\\deleted": "deleted",
    "\\draft": "draft",
    "$forwarded": "forwarded",
    "$junk": "junk",
    "$notjunk": "notjunk",
    "$phishing": "phishing",
    "$mdnsent": "mdnsent",
}
CANONICAL: dict[str, str] = {
    "\\seen": "\\Seen",
    "\\answered": "\\Answered",
    "\\flagged": "\\Flagged",
    "\\deleted": "\\Deleted",
    "\\draft": "\\Draft",
    "$forwarded": "$Forwarded",
    "$junk": "$Junk",
    "$notjunk": "$NotJunk",
    "$phishing": "$Phishing",
    "$mdnsent": "$MDNSent",
}
COLUMN_FLAG: dict[str, str] = {col: CANONICAL[k] for k, col in FLAG_COLUMNS.items()}
FLAG_COLUMN_NAMES: tuple[str, ...] = tuple(FLAG_COLUMNS.values())

# RFC 9051 atom-specials plus "\" (only allowed as the first character of system flags).
_ATOM_SPECIALS = set('(){ %*"\\]')

SPECIAL_USES = ("\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash")


@dataclass(frozen=True)
class FlagSet:
    """Normalized flags: boolean columns plus the other keywords (lower case, sorted)."""

    columns: frozenset[str]
    keywords: tuple[str, ...]

    def names(self) -> frozenset[str]:
        """The IMAP names of all flags in this set."""
        return frozenset([COLUMN_FLAG[c] for c in self.columns] + list(self.keywords))


def normalize_flags(flags: Iterable[str]) -> FlagSet:
    """Split IMAP flag names into columns and keywords, raising InvalidFlag on a bad one.

    ``\\Recent`` is accepted and ignored (it is session state, RFC 3501; gone in RFC 9051).
    """
    cols: set[str] = set()
    kws: set[str] = set()
    for f in flags:
        lf = f.lower()
        if lf in FLAG_COLUMNS:
            cols.add(FLAG_COLUMNS[lf])
            continue
        if lf == "\\recent":
            continue
        if not f or lf.startswith("\\"):
            raise InvalidFlag(f"unknown system flag {f!r}")
        if any(c in _ATOM_SPECIALS or ord(c) <= 0x20 or ord(c) >= 0x7F for c in f):
            raise InvalidFlag(f"invalid keyword {f!r}")
        kws.add(lf)
    return FlagSet(frozenset(cols), tuple(sorted(kws)))


def keywords_from_db(s: str) -> tuple[str, ...]:
    """Keywords as stored in a row: space separated, sorted."""
    return tuple(s.split()) if s else ()


def keywords_to_db(kws: Iterable[str]) -> str:
    return " ".join(sorted(set(kws)))


@dataclass(frozen=True)
class InitialMailboxes:
    """Mailboxes created for a new account besides Inbox (mox's InitialMailboxes).

    ``special_use`` maps a role (``\\Sent``, ``\\Archive``, ``\\Trash``, ``\\Drafts``,
    ``\\Junk``) to a mailbox name.
    """

    special_use: dict[str, str] = field(
        default_factory=lambda: {
            "\\Sent": "Sent",
            "\\Archive": "Archive",
            "\\Trash": "Trash",
            "\\Drafts": "Drafts",
            "\\Junk": "Junk",
        }
    )
    regular: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: object) -> InitialMailboxes:
        """Build from a config ``InitialMailboxes`` section (fields SpecialUse.{Sent,...}, Regular).

        An entirely empty section means mox's defaults.
        """
        su = getattr(cfg, "SpecialUse", None)
        m: dict[str, str] = {}
        for attr, role in (
            ("Sent", "\\Sent"),
            ("Archive", "\\Archive"),
            ("Trash", "\\Trash"),
            ("Draft", "\\Drafts"),
            ("Junk", "\\Junk"),
        ):
            v = getattr(su, attr, "") if su is not None else ""
            if v:
                m[role] = str(v)
        regular = tuple(str(x) for x in (getattr(cfg, "Regular", None) or []))
        if not m and not regular:
            return cls()
        return cls(m, regular)


@dataclass(frozen=True)
class MailboxCounts:
    total: int = 0
    deleted: int = 0
    unread: int = 0  # messages without \Seen
    unseen: int = 0  # same as unread; kept separately like mox for IMAP STATUS UNSEEN
    size: int = 0


@dataclass(frozen=True)
class Mailbox:
    """A mailbox as stored: ``name`` is the full path with ``/`` separators, Inbox is "Inbox"."""

    id: int
    name: str
    parent_id: int | None
    uidvalidity: int
    uidnext: int
    special_use: str  # "" or one of SPECIAL_USES
    keywords: tuple[str, ...]  # keywords in use by messages in the mailbox (lower case, sorted)
    counts: MailboxCounts
    modseq: int
    createseq: int
    subscribed: bool = False


@dataclass(frozen=True)
class MailboxStatus:
    """What SELECT/STATUS need, read in one cheap query."""

    id: int
    name: str
    uidvalidity: int
    uidnext: int
    counts: MailboxCounts
    highest_modseq: int  # account-wide modseq (RFC 7162 HIGHESTMODSEQ)
    keywords: tuple[str, ...]
    special_use: str


@dataclass
class DeliveryFacts:
    """Facts about an incoming delivery kept for the junk filter and reputation analysis."""

    remote_ip: str = ""
    ehlo_domain: str = ""
    mail_from: str = ""
    mail_from_localpart: str = ""
    mail_from_domain: str = ""
    rcpt_to_localpart: str = ""
    rcpt_to_domain: str = ""
    msg_from_localpart: str = ""
    msg_from_domain: str = ""
    msg_from_org_domain: str = ""
    ehlo_validated: bool = False
    mail_from_validated: bool = False
    msg_from_validated: bool = False
    ehlo_validation: str = ""  # strict/dmarc/relaxed/pass/neutral/temperror/permerror/fail/softfail/none
    mail_from_validation: str = ""
    msg_from_validation: str = ""
    dkim_domains: tuple[str, ...] = ()
    orig_ehlo_domain: str = ""
    orig_dkim_domains: tuple[str, ...] = ()
    is_reject: bool = False
    is_forward: bool = False
    is_mailing_list: bool = False
    is_dsn: bool = False
    mailbox_destined: str = ""  # mailbox the rules chose, when delivered elsewhere (Rejects, Introbox)
    received_tls_version: int = 0
    received_tls_cipher_suite: int = 0
    received_require_tls: bool = False


@functools.lru_cache(maxsize=4096)
def masked_ips(ip: str) -> tuple[str, str, str]:
    """The masked forms of an IP kept for reputation: IPv4 /32 /26 /21, IPv6 /64 /48 /32."""
    if not ip:
        return ("", "", "")
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return ("", "", "")
    bits = (32, 26, 21) if a.version == 4 else (64, 48, 32)
    out = []
    for b in bits:
        net = ipaddress.ip_network(f"{a}/{b}", strict=False)
        out.append(str(net.network_address))
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class MessageMeta:
    """One stored message's metadata (not its bytes or parsed structure)."""

    id: int
    mailbox_id: int
    uid: int
    modseq: int
    createseq: int
    flags: frozenset[str]
    size: int
    received: float  # INTERNALDATE, seconds since epoch
    savedate: float
    data_id: int  # identifies the bytes (shared by copies)
    preview: str
    message_id: str
    subject_base: str
    thread_id: int
    thread_parent_ids: tuple[int, ...]
    thread_missing_link: bool
    thread_muted: bool
    thread_collapsed: bool


@dataclass(frozen=True)
class DeliveredMessage:
    """Result of deliver(): where the message went and its identity."""

    id: int
    mailbox_id: int
    mailbox_name: str
    uid: int
    modseq: int
    size: int
    thread_id: int


@dataclass(frozen=True)
class AppendItem:
    """One message for append(): bytes, flags and INTERNALDATE (None = now)."""

    data: bytes
    flags: tuple[str, ...] = ()
    received: float | None = None


@dataclass(frozen=True)
class FlagsChanged:
    """One message whose flags changed: new flags and new modseq."""

    uid: int
    flags: frozenset[str]
    modseq: int


@dataclass(frozen=True)
class SetFlagsResult:
    """Result of set_flags: changed messages, and UIDs refused by UNCHANGEDSINCE (RFC 7162 3.1.3)."""

    changed: tuple[FlagsChanged, ...]
    modified: tuple[int, ...]  # UIDs whose modseq > unchanged_since: not changed
    unchanged: tuple[FlagsChanged, ...]  # matched but flags already as requested (modseq kept)


@dataclass(frozen=True)
class CopyResult:
    """Result of copy/move: source UIDs and the new UIDs, pairwise, and the target UIDVALIDITY."""

    uidvalidity: int
    src_uids: tuple[int, ...]
    dst_uids: tuple[int, ...]
    modseq: int


@dataclass(frozen=True)
class ExpungeResult:
    uids: tuple[int, ...]
    modseq: int


@dataclass(frozen=True)
class Annotation:
    """An IMAP METADATA entry (RFC 5464); mailbox_id None means server (account) level."""

    mailbox_id: int | None
    key: str  # lower case, "/private/..." or "/shared/..."
    value: bytes
    is_string: bool
    modseq: int
