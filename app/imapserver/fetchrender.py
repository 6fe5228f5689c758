"""Rendering FETCH response data for one message (RFC 9051 section 7.5.2; RFC 3516 BINARY;
RFC 7162 MODSEQ; RFC 8514 SAVEDATE; RFC 8970 PREVIEW; RFC 8474 EMAILID/THREADID).

Synchronous and free of I/O besides the ``load`` callback that produces the message bytes and
parsed structure, so it runs in the worker pool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from app import message
from app.imap import format_datetime, writer
from app.imap.fetchatt import FetchAtt
from app.imapserver import sections
from app.imapserver.errors import No
from app.imapserver.msginfo import MsgInfo

Loader = Callable[[MsgInfo], tuple[bytes, message.Part]]


class _LRU:
    """A small thread-safe LRU of rendered ENVELOPE/BODYSTRUCTURE data. Message bytes never
    change once stored, so entries keyed by the stored data id stay valid."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[tuple[str, tuple[str, object]], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, tuple[str, object]]) -> bytes | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: tuple[str, tuple[str, object]], value: bytes) -> None:
        with self._lock:
            self._d[key] = value
            if len(self._d) > self.size:
                self._d.popitem(last=False)


_cache = _LRU(20000)


class Rendered:
    """One message's FETCH items, in request order, as encoded bytes."""

    def __init__(self) -> None:
        self.items: list[bytes] = []

    def add(self, name: str, value: bytes) -> None:
        self.items.append(_name_bytes(name) + value)


_names: dict[str, bytes] = {}


def _name_bytes(name: str) -> bytes:
    """``NAME `` as bytes (memoized: the same few names for every message)."""
    b = _names.get(name)
    if b is None:
        b = name.encode() + b" "
        if len(_names) < 10_000:
            _names[name] = b
    return b


_dates: dict[float, bytes] = {}


def internaldate_bytes(m: MsgInfo) -> bytes:
    """The quoted INTERNALDATE (memoized by timestamp: messages are listed again and again)."""
    b = _dates.get(m.received)
    if b is None:
        b = b'"' + format_datetime(m.internal_date).encode() + b'"'
        if len(_dates) >= 200_000:
            _dates.clear()
        _dates[m.received] = b
    return b


def needs_body(atts: list[FetchAtt]) -> bool:
    cheap = {"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "MODSEQ", "SAVEDATE", "EMAILID", "THREADID"}
    return any(a.name not in cheap for a in atts)


_flag_lists: dict[tuple[tuple[str, ...], bool], bytes] = {}


def flags_bytes(m: MsgInfo, recent: bool) -> bytes:
    """The parenthesized flag list (memoized: a mailbox has few distinct flag sets)."""
    key = (tuple(m.flags), recent)
    b = _flag_lists.get(key)
    if b is None:
        flags = list(m.flags)
        if recent:
            flags.insert(0, "\\Recent")
        b = writer.atoms(flags)
        if len(_flag_lists) < 100_000:
            _flag_lists[key] = b
    return b


def _partial(data: bytes, att: FetchAtt) -> bytes:
    if att.partial is None:
        return data
    off, count = att.partial
    return data[off : off + count]


def render(
    m: MsgInfo,
    atts: list[FetchAtt],
    load: Loader,
    *,
    recent: bool,
    utf8: bool,
    with_modseq: bool,
    cache_ns: str = "",
) -> bytes:
    """The parenthesized data of ``* n FETCH (...)`` for this message."""
    items = render_items(m, atts, load, recent=recent, utf8=utf8, with_modseq=with_modseq, cache_ns=cache_ns)
    return b"(" + b" ".join(items) + b")"


def render_items(
    m: MsgInfo,
    atts: list[FetchAtt],
    load: Loader,
    *,
    recent: bool,
    utf8: bool,
    with_modseq: bool,
    cache_ns: str = "",
) -> list[bytes]:
    """The encoded data items of this message, in request order. ``cache_ns`` names the
    account database: with it, ENVELOPE and BODYSTRUCTURE are cached per stored message data
    (``m.data_id``)."""
    out = Rendered()
    loaded: tuple[bytes, message.Part] | None = None

    def get() -> tuple[bytes, message.Part]:
        nonlocal loaded
        if loaded is None:
            loaded = load(m)
        return loaded

    seen_names: set[str] = set()
    for att in atts:
        name = att.response_name()
        if name in seen_names:
            continue
        seen_names.add(name)
        n = att.name
        if n == "UID":
            out.add(n, writer.number(m.uid))
        elif n == "FLAGS":
            out.add(n, flags_bytes(m, recent))
        elif n == "INTERNALDATE":
            out.add(n, internaldate_bytes(m))
        elif n == "SAVEDATE":
            out.add(n, b'"' + format_datetime(m.save_date).encode() + b'"' if m.save_date else b"NIL")
        elif n == "RFC822.SIZE":
            out.add(n, writer.number(m.size))
        elif n == "MODSEQ":
            out.add(n, b"(" + writer.number(m.modseq) + b")")
        elif n == "EMAILID":
            out.add(n, b"(" + m.email_id.encode() + b")")
        elif n == "THREADID":
            out.add(n, b"(" + m.thread_id.encode() + b")" if m.thread_id else b"NIL")
        elif n in ("ENVELOPE", "BODYSTRUCTURE"):
            data_id = m.data_id
            key = (n, (cache_ns, data_id))
            cached = _cache.get(key) if cache_ns and data_id else None
            if cached is None:
                data, part = get()
                value = (
                    message.envelope(data, part).imap()
                    if n == "ENVELOPE"
                    else message.bodystructure(data, part)
                )
                cached = message.imap_string(value).encode()
                if cache_ns and data_id:
                    _cache.put(key, cached)
            out.add(n, cached)
        elif n == "BODY" and att.section is None:
            data, part = get()
            out.add(n, message.imap_string(message.body(data, part)).encode())
        elif n == "RFC822":
            data, _ = get()
            out.add(n, writer.literal(data))
        elif n == "RFC822.HEADER":
            data, part = get()
            out.add(n, writer.literal(data[part.header_start : part.body_start]))
        elif n == "RFC822.TEXT":
            data, part = get()
            out.add(n, writer.literal(data[part.body_start : part.body_end]))
        elif n == "BODY":
            ranged = _ranged(m, att, load) if loaded is None else None
            if ranged is not None:
                out.add(name, writer.literal(ranged))
            else:
                data, part = get()
                out.add(name, _body_section(data, part, att))
        elif n in ("BINARY", "BINARY.SIZE"):
            data, part = get()
            out.add(name, _binary(data, part, att))
        elif n == "PREVIEW":
            data, part = get()
            out.add(n, writer.string(message.preview(data, part), utf8))
    if with_modseq and "MODSEQ" not in seen_names:
        out.add("MODSEQ", b"(" + writer.number(m.modseq) + b")")
    return out.items


RANGE_MIN = 256 * 1024  # messages from this size are read by range for partial FETCH


def _ranged(m: MsgInfo, att: FetchAtt, load: Loader) -> bytes | None:
    """A partial section of a large message read without loading the whole message."""
    if att.partial is None or att.section is None or m.size < RANGE_MIN:
        return None
    part_of = getattr(load, "part", None)
    read_range = getattr(load, "read_range", None)
    if part_of is None or read_range is None:
        return None
    rng = sections.section_range(part_of(m), att.section)
    if rng is None:
        return None
    start, end = rng
    off, count = att.partial
    begin = min(start + off, end)
    data: bytes = read_range(m, begin, max(0, min(count, end - begin)))
    return data


def _body_section(data: bytes, part: message.Part, att: FetchAtt) -> bytes:
    assert att.section is not None
    content = sections.section_bytes(data, part, att.section)
    if content is None:
        # A section that does not exist is empty (RFC 9051 section 6.4.5 leaves this to the
        # server; an empty string keeps clients going).
        content = b""
    return writer.literal(_partial(content, att))


def _binary(data: bytes, part: message.Part, att: FetchAtt) -> bytes:
    assert att.section is not None
    if not att.section.parts:
        content = data[part.header_start : part.body_end]
    else:
        p = sections.find(part, att.section.parts)
        if p is None:
            raise No("no such part", "NONEXISTENT")
        if p.parts or p.message is not None:
            content = data[p.body_start : p.body_end]
        else:
            try:
                content = sections.decode_part(data, p)
            except message.UnknownCTE:
                raise No("unknown content-transfer-encoding", "UNKNOWN-CTE")
    if att.name == "BINARY.SIZE":
        return writer.number(len(content))
    content = _partial(content, att)
    return writer.literal(content, binary=b"\x00" in content)
