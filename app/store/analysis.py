"""What the store derives from a message's bytes before storing it (runs in the producer thread).

This is the store's one call site into the message library (``app.message``): the parsed MIME
structure to keep, the preview (RFC 8970), the text for the full-text index, and the threading
fields (Message-ID, referenced ids, base subject per RFC 5256). Message parsing never raises on
bad input; anything unexpected from a helper degrades to an empty field, never a failed delivery.
"""

from __future__ import annotations

from dataclasses import dataclass

from app import message, mlog
from app.message import Part

log = mlog.get("store")

MAX_FTS_CHARS = 1 << 20  # index at most 1 M characters of text per message


@dataclass(frozen=True)
class Analyzed:
    parsed: bytes  # Part.to_bytes()
    preview: str
    text: str
    message_id: str  # canonical, lower case, without <>
    references: tuple[str, ...]  # canonical ids, oldest first
    subject_base: str
    is_reply: bool  # subject carried a reply/forward marker


def _header(data: bytes, part: Part, name: str) -> str:
    try:
        v = message.header_value(data, part, name)
    except Exception as e:
        log.debug("reading header", header=name, err=e)
        return ""
    return v or ""


def analyze(data: bytes) -> Analyzed:
    """Parse and derive every stored field of a message."""
    part = message.parse(data)
    try:
        prev = message.preview(data, part)
    except Exception as e:
        log.debug("making preview", err=e)
        prev = ""
    try:
        text = message.text_for_search(data, part)[:MAX_FTS_CHARS]
    except Exception as e:
        log.debug("extracting text for search", err=e)
        text = data[:MAX_FTS_CHARS].decode("utf-8", "replace")
    th = _threading(data, part)
    return Analyzed(part.to_bytes(), prev, text, th.message_id, th.references, th.subject_base, th.is_reply)


def _threading(data: bytes, part: Part) -> Analyzed:
    subject = _header(data, part, "Subject")
    try:
        base = message.base_subject(subject)
    except Exception:
        base = subject.strip()
    msgid = message.message_id(_header(data, part, "Message-ID")).lower()
    refs = message.references(
        _header(data, part, "References") or None, _header(data, part, "In-Reply-To") or None
    )
    try:
        norm_subject = " ".join(message.decode_rfc2047(subject).split())
    except Exception:
        norm_subject = " ".join(subject.split())
    return Analyzed(
        parsed=b"",
        preview="",
        text="",
        message_id=msgid,
        references=tuple(r.lower() for r in refs),
        subject_base=base.lower(),
        is_reply=bool(base) and base.lower() != norm_subject.lower(),
    )


def analyze_threading(data: bytes) -> Analyzed:
    """Only the threading fields (for reassigning threads of stored messages)."""
    return _threading(data, message.parse(data))


def load_parsed(b: bytes) -> Part:
    return Part.from_bytes(b)
