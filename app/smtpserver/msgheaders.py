"""What the SMTP server reads from a received message's header section before delivery: the
number of Received fields (loop detection, RFC 5321 section 6.3), the From addresses (RFC 5322
section 3.6.2; DMARC, submission checks), and fields submission acts on (Message-ID, Date,
``X-Mox-Extra-*``, ``TLS-Required``, RFC 8689 section 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.message.headers import iter_fields, unfold
from app.smtp.address import AddressError, MailboxAddr, parse_address_list


@dataclass
class HeaderFacts:
    header_end: int  # offset of the empty line ending the header section (or len(data))
    received: int = 0
    from_values: list[str] = field(default_factory=list)
    has_message_id: bool = False
    has_date: bool = False
    has_return_path: bool = False
    tls_required_no: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    extra_duplicate: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, unfolded value)


def header_end(data: bytes) -> int:
    """Offset just past the CRLF of the last header line (where the empty line starts)."""
    if data.startswith(b"\r\n"):
        return 0
    i = data.find(b"\r\n\r\n")
    return len(data) if i < 0 else i + 2


def scan(data: bytes) -> HeaderFacts:
    end = header_end(data)
    hf = HeaderFacts(end)
    for name, raw in iter_fields(data, 0, end):
        lname = name.lower()
        value = unfold(raw.decode("utf-8", "replace")).strip()
        hf.fields.append((name, value))
        if lname == "received":
            hf.received += 1
        elif lname == "from":
            hf.from_values.append(value)
        elif lname == "message-id":
            hf.has_message_id = True
        elif lname == "date":
            hf.has_date = True
        elif lname == "return-path":
            hf.has_return_path = True
        elif lname == "tls-required":
            hf.tls_required_no = value.lower() == "no"
        elif lname.startswith("x-mox-extra-"):
            key = name[len("x-mox-extra-") :]
            if key in hf.extra:
                hf.extra_duplicate = key
            hf.extra[key] = value
    return hf


def from_addresses(hf: HeaderFacts) -> list[tuple[str, str]]:
    """(localpart, domain) of each address in the From field(s); [] when unparsable."""
    out: list[tuple[str, str]] = []
    for v in hf.from_values:
        try:
            items = parse_address_list(v)
        except (AddressError, ValueError):
            return []
        for it in items:
            if isinstance(it, MailboxAddr):
                try:
                    a = it.address()
                except (AddressError, ValueError):
                    return []
                out.append((str(a.localpart), a.domain.name(False).lower()))
    return out
