"""The IMAP ENVELOPE of a message (RFC 9051 section 7.5.2): date, subject, addresses, ids.

Values are the unfolded header text (``subject`` raw with encoded words kept, ``subject_decoded``
decoded). Address lists are parsed with ``app.smtp.address``; when a list does not parse as a
whole, each comma-separated item is tried alone and unparsable items are left out rather than
guessed. Groups become the IMAP group markers (start: mailbox = group name, host None; end: all
None). As RFC 9051 requires, Sender and Reply-To default to From when absent or empty.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.message.encoded import decode_rfc2047
from app.message.headers import first_values, header_values
from app.message.part import Buffer, Part
from app.smtp.address import Address, AddressError, Group, MailboxAddr, parse_address_list


class Run(list[object]):
    """IMAP data items written back to back, without parentheses or spaces (``1*address``,
    ``1*body``); see ``app.message.bodystructure.imap_string``."""


@dataclass(frozen=True)
class EnvAddress:
    """One IMAP address structure: (name adl mailbox host); name raw, encoded words kept."""

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None

    @property
    def decoded_name(self) -> str | None:
        return decode_rfc2047(self.name) if self.name else self.name

    def email(self) -> str:
        return f"{self.mailbox}@{self.host}" if self.mailbox and self.host else (self.mailbox or "")


MAX_FIELD = 256 * 1024
_NAMES = {"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id"}


@dataclass
class Envelope:
    date: str | None = None
    subject: str | None = None
    from_: list[EnvAddress] = field(default_factory=list)
    sender: list[EnvAddress] = field(default_factory=list)
    reply_to: list[EnvAddress] = field(default_factory=list)
    to: list[EnvAddress] = field(default_factory=list)
    cc: list[EnvAddress] = field(default_factory=list)
    bcc: list[EnvAddress] = field(default_factory=list)
    in_reply_to: str | None = None
    message_id: str | None = None

    @property
    def parsed_date(self) -> datetime | None:
        """The Date field as an aware datetime (RFC 5322 section 3.3, obsolete forms too), or None."""
        if not self.date:
            return None
        try:
            d = email.utils.parsedate_to_datetime(self.date)
        except (ValueError, TypeError, IndexError, OverflowError):
            return None
        return d if d.tzinfo is not None else d.replace(tzinfo=UTC)

    @property
    def subject_decoded(self) -> str | None:
        return decode_rfc2047(self.subject) if self.subject is not None else None

    def imap(self) -> list[object]:
        """As nested lists for ``app.message.bodystructure.imap_string``."""

        def al(lst: list[EnvAddress]) -> list[object] | None:
            if not lst:
                return None
            return [Run([a.name, a.adl, a.mailbox, a.host] for a in lst)]

        return [
            self.date,
            self.subject,
            al(self.from_),
            al(self.sender),
            al(self.reply_to),
            al(self.to),
            al(self.cc),
            al(self.bcc),
            self.in_reply_to,
            self.message_id,
        ]


def _mb(m: MailboxAddr) -> EnvAddress:
    return EnvAddress(m.name or None, m.route or None, m.localpart, m.domain)


def env_addresses(value: str | None) -> list[EnvAddress]:
    """IMAP address structures for a header value (lenient, see module docstring)."""
    if not value:
        return []
    # A hostile multi-megabyte address field is cut; an IMAP client cannot use it anyway.
    value = value[:MAX_FIELD]
    try:
        items = parse_address_list(value)
    except AddressError:
        items = []
        for chunk in value.split(","):
            try:
                items.extend(parse_address_list(chunk))
            except AddressError:
                continue
    out: list[EnvAddress] = []
    for it in items:
        if isinstance(it, Group):
            out.append(EnvAddress(None, None, it.name, None))
            out.extend(_mb(m) for m in it.members)
            out.append(EnvAddress(None, None, None, None))
        else:
            out.append(_mb(it))
    return out


def envelope(data: Buffer, part: Part) -> Envelope:
    """The envelope of the message whose header is ``part``'s header."""
    vals = first_values(data, part, _NAMES)

    def h(name: str) -> str | None:
        return vals.get(name)

    frm = env_addresses(h("from"))
    sender = env_addresses(h("sender")) or frm
    reply_to = env_addresses(h("reply-to")) or frm
    return Envelope(
        date=h("date"),
        subject=h("subject"),
        from_=frm,
        sender=sender,
        reply_to=reply_to,
        to=env_addresses(h("to")),
        cc=env_addresses(h("cc")),
        bcc=env_addresses(h("bcc")),
        in_reply_to=h("in-reply-to"),
        message_id=h("message-id"),
    )


def from_address(data: Buffer, part: Part) -> Address:
    """The one address of the From field (RFC 5322 section 3.6.2), IDNA-checked; raises AddressError.

    DMARC (RFC 7489 section 6.6.1) and submission checks need exactly one From field with
    exactly one mailbox; anything else (none, several, a group, unparsable) is an error.
    """
    vals = header_values(data, part, "from")
    if len(vals) != 1:
        raise AddressError(f"message has {len(vals)} From fields, need exactly one")
    items = parse_address_list(vals[0][:MAX_FIELD])
    if len(items) != 1 or not isinstance(items[0], MailboxAddr):
        raise AddressError("From field must hold exactly one address")
    return items[0].address()
