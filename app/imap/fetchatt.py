"""FETCH data items (RFC 9051 section 6.4.5; RFC 3516 BINARY; RFC 7162 MODSEQ; RFC 8514
SAVEDATE; RFC 8970 PREVIEW; RFC 8474 EMAILID/THREADID): parsing and their names in responses.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.imap.parser import Parser

SIMPLE = {
    "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE", "RFC822.TEXT",
    "BODYSTRUCTURE", "UID", "MODSEQ", "SAVEDATE", "EMAILID", "THREADID",
}  # fmt: skip
MACROS = {
    "ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
    "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
    "FULL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
}


@dataclass(frozen=True)
class Section:
    """A body section: part path (1-based numbers) plus "", HEADER, HEADER.FIELDS,
    HEADER.FIELDS.NOT, TEXT or MIME, and the header names for the field forms."""

    parts: tuple[int, ...] = ()
    text: str = ""
    fields: tuple[str, ...] = ()

    def spec(self) -> str:
        out = ".".join(str(n) for n in self.parts)
        if self.text:
            out = f"{out}.{self.text}" if out else self.text
        if self.fields:
            out += " (" + " ".join(self.fields) + ")"
        return out


@dataclass(frozen=True)
class FetchAtt:
    """One data item. ``name`` is BODY/BINARY/BINARY.SIZE for section forms (section set),
    BODY without a section is the non-extensible BODYSTRUCTURE, PREVIEW may be lazy."""

    name: str
    section: Section | None = None
    partial: tuple[int, int] | None = None  # (offset, count)
    peek: bool = False
    lazy: bool = False

    def response_name(self) -> str:
        """The item's name in the FETCH response (PEEK dropped, partial as origin only)."""
        if self.section is None:
            return self.name
        out = f"{self.name}[{self.section.spec()}]"
        if self.partial is not None:
            out += f"<{self.partial[0]}>"
        return out

    def sets_seen(self) -> bool:
        """Whether fetching this sets \\Seen (RFC 9051 section 6.4.5)."""
        if self.peek:
            return False
        if self.name in ("RFC822", "RFC822.TEXT"):
            return True
        return self.section is not None and self.name in ("BODY", "BINARY")


def parse_atts(p: Parser) -> list[FetchAtt]:
    """The argument of FETCH: a macro, one item, or a parenthesized list of items."""
    if p.take(b"("):
        out = [parse_att(p)]
        while not p.take(b")"):
            p.sp()
            out.append(parse_att(p))
        return out
    for macro, items in MACROS.items():
        if p.peek(macro.encode()) and _boundary(p, len(macro)):
            p.pos += len(macro)
            return [FetchAtt(i) for i in items]
    return [parse_att(p)]


def _boundary(p: Parser, n: int) -> bool:
    nxt = p.raw[p.pos + n : p.pos + n + 1]
    return nxt in (b"", b" ", b")")


def _read_name(p: Parser) -> str:
    start = p.pos
    while p.pos < len(p.raw) and p.raw[p.pos] not in b" ()[<":
        p.pos += 1
    if start == p.pos:
        raise p.error("expected fetch attribute")
    return p.raw[start : p.pos].decode("ascii", "replace").upper()


def parse_att(p: Parser) -> FetchAtt:
    name = _read_name(p)
    if name in SIMPLE:
        return FetchAtt(name)
    if name == "PREVIEW":
        lazy = False
        if p.take(b" (LAZY)"):
            lazy = True
        return FetchAtt(name, lazy=lazy)
    if name in ("BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"):
        peek = name.endswith(".PEEK")
        base = name.removesuffix(".PEEK")
        if base == "BODY" and not peek and p.peek_byte() != 0x5B:
            return FetchAtt("BODY")
        p.expect(b"[")
        section = _parse_section(p, binary=base != "BODY")
        p.expect(b"]")
        partial = None
        if base != "BINARY.SIZE" and p.take(b"<"):
            offset = p.number()
            p.expect(b".")
            count = p.nz_number()
            p.expect(b">")
            partial = (offset, count)
        return FetchAtt(base, section, partial, peek)
    raise p.error(f"unknown fetch attribute {name}")


def _parse_section(p: Parser, binary: bool) -> Section:
    parts: list[int] = []
    while 0x31 <= p.peek_byte() <= 0x39:
        parts.append(p.nz_number())
        if not p.take(b"."):
            return Section(tuple(parts))
    if binary:
        if parts or p.peek_byte() != 0x5D:
            raise p.error("binary section must be part numbers only")
        return Section()
    if p.peek_byte() == 0x5D:
        if parts:
            raise p.error("section ends with a dot")
        return Section()
    start = p.pos
    while p.pos < len(p.raw) and p.raw[p.pos] not in b" ]":
        p.pos += 1
    text = p.raw[start : p.pos].decode("ascii", "replace").upper()
    if text == "MIME":
        if not parts:
            raise p.error("MIME needs a part number")
        return Section(tuple(parts), text)
    if text in ("HEADER", "TEXT"):
        return Section(tuple(parts), text)
    if text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        p.sp()
        fields = p.paren_list("astring")
        if not fields:
            raise p.error("empty header field list")
        return Section(tuple(parts), text, tuple(f.upper() for f in fields))
    raise p.error(f"unknown section {text!r}")
