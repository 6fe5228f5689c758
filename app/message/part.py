"""The parsed MIME tree: one ``Part`` per entity, with byte offsets into the raw message.

Offsets are absolute positions in the message bytes (RFC 5322 message, RFC 2045/2046 entities).
``data[header_start:body_start]`` is the header section including the empty line that ends it;
``data[body_start:body_end]`` is the body. For a multipart part the body includes preamble,
delimiters and epilogue; for the children of a multipart, the CRLF before a delimiter belongs to
the delimiter (RFC 2046 section 5.1.1), not to the child.

Trees can be 10,000 levels deep, so nothing here recurses: walking, equality and repr are
iterative.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field

Buffer = bytes | bytearray | memoryview | mmap.mmap
"""What the library accepts as message data."""

Searchable = bytes | bytearray | mmap.mmap
"""A buffer with ``find``; ``parser.as_buffer`` makes one (a memoryview of part of an object is copied).

The other functions slice and regex-search any Buffer directly, so they copy only what they return."""


class ParseError(ValueError):
    """Raised by ``parse(..., pedantic=True)`` when the message has defects."""

    def __init__(self, defects: list[str]) -> None:
        super().__init__("; ".join(defects[:10]) + (" ..." if len(defects) > 10 else ""))
        self.defects = defects


@dataclass(eq=False, repr=False, slots=True)
class Part:
    """One MIME entity (the message itself, a multipart child, or a nested message)."""

    header_start: int
    body_start: int
    body_end: int
    media_type: str = "text"
    media_subtype: str = "plain"
    params: dict[str, str] = field(default_factory=dict)
    disposition: str | None = None
    disposition_params: dict[str, str] = field(default_factory=dict)
    language: list[str] = field(default_factory=list)
    location: str | None = None
    content_id: str | None = None
    description: str | None = None
    cte: str = ""
    md5: str | None = None
    lines: int = 0
    parts: list[Part] = field(default_factory=list)
    message: Part | None = None
    defects: list[str] = field(default_factory=list)
    has_content_type: bool = False

    @property
    def size(self) -> int:
        """Body size in bytes (as IMAP reports it: the encoded, raw body)."""
        return self.body_end - self.body_start

    @property
    def header_size(self) -> int:
        return self.body_start - self.header_start

    @property
    def is_multipart(self) -> bool:
        return self.media_type == "multipart"

    @property
    def is_message(self) -> bool:
        """Whether this part is an encapsulated message parsed into ``message``."""
        return self.message is not None

    @property
    def mime_type(self) -> str:
        return f"{self.media_type}/{self.media_subtype}"

    @property
    def charset(self) -> str:
        """The charset parameter in lower case, "us-ascii" when absent."""
        return (self.params.get("charset") or "us-ascii").strip().lower()

    @property
    def filename(self) -> str | None:
        """Attachment file name from Content-Disposition, else Content-Type name."""
        return self.disposition_params.get("filename") or self.params.get("name") or None

    def walk(self) -> Iterator[Part]:
        """All parts in depth-first pre-order, this one first; nested messages included."""
        stack: list[Part] = [self]
        while stack:
            p = stack.pop()
            yield p
            if p.message is not None:
                stack.append(p.message)
            stack.extend(reversed(p.parts))

    def all_defects(self) -> list[str]:
        out: list[str] = []
        for p in self.walk():
            out.extend(p.defects)
        return out

    def find(self, path: list[int]) -> Part | None:
        """The part at an IMAP section path (1-based), or None.

        As IMAP (RFC 9051 section 6.4.5): numbers index multipart children; a number after a
        message/rfc822 part indexes the encapsulated message; a message that is not multipart
        has only part 1, which is the message's own body (its Part).
        """
        p: Part | None = None  # the part selected so far
        for n in path:
            if p is None:
                msg = self
            elif p.parts:
                msg = p
            elif p.message is not None:
                msg = p.message
            else:
                return None
            if msg.parts:
                if n < 1 or n > len(msg.parts):
                    return None
                p = msg.parts[n - 1]
            elif n == 1 and (msg is self or (p is not None and msg is p.message)):
                p = msg
            else:
                return None
        return self if p is None else p

    def to_bytes(self) -> bytes:
        """Compact, versioned serialization (see ``app.message.serial``)."""
        from app.message.serial import dump

        return dump(self)

    @staticmethod
    def from_bytes(b: bytes) -> Part:
        from app.message.serial import load

        return load(b)

    def _fields(self) -> tuple[object, ...]:
        return (
            self.header_start,
            self.body_start,
            self.body_end,
            self.media_type,
            self.media_subtype,
            self.params,
            self.disposition,
            self.disposition_params,
            self.language,
            self.location,
            self.content_id,
            self.description,
            self.cte,
            self.md5,
            self.lines,
            self.defects,
            self.has_content_type,
            len(self.parts),
            self.message is not None,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Part):
            return NotImplemented
        a, b = list(self.walk()), list(other.walk())
        return len(a) == len(b) and all(x._fields() == y._fields() for x, y in zip(a, b, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Part({self.mime_type} header={self.header_start} body={self.body_start}..{self.body_end}"
            f" parts={len(self.parts)} message={self.message is not None})"
        )
