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


_THREAD_HEADERS = {"subject", "message-id", "references", "in-reply-to"}


def _headers(data: bytes, part: Part) -> dict[str, str]:
    """First values of the threading headers, lower-case names, in one pass when possible."""
    try:
        from app.message import headers

        fv = getattr(headers, "first_values", None)
        if fv is not None:
            return dict(fv(data, part, _THREAD_HEADERS))
        out: dict[str, str] = {}
        for name in _THREAD_HEADERS:
            v = message.header_value(data, part, name)
            if v is not None:
                out[name] = v
        return out
    except Exception as e:
        log.debug("reading headers", err=e)
        return {}


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
    h = _headers(data, part)
    subject = h.get("subject", "")
    try:
        base = message.base_subject(subject)
    except Exception:
        base = subject.strip()
    msgid = message.message_id(h.get("message-id", "")).lower()
    refs = message.references(h.get("references"), h.get("in-reply-to"))
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
