"""The MIME parser: raw message bytes → ``Part`` tree with offsets (RFC 5322, RFC 2045-2049).

One forward pass over the message, without recursion. Open multiparts are kept on a stack of
frames; the scan jumps from one possible delimiter line to the next with ``bytes.find``, so a
base64 attachment is skipped at memory-search speed and never copied. A delimiter of an outer
multipart also ends every inner part still open (a missing closing boundary, as real mail needs).
Boundaries that prefix each other are told apart by checking the rest of the delimiter line
(RFC 2046 section 5.1.1: only transport padding may follow). message/rfc822 and message/global
bodies (not base64/quoted-printable encoded) are parsed as nested messages.

Time is linear in the input: with few open multiparts each boundary is searched with its own long
needle (cached until passed); with many, lines starting with ``--`` are looked up in a dict.
Line counts (IMAP needs them for text and message parts) come from a running newline counter
that only counts while such a part is open.
"""

from __future__ import annotations

import itertools
import re

from app.message.encoded import header_text
from app.message.params import parse_content_type, parse_disposition
from app.message.part import Buffer, ParseError, Part, Searchable

_HBLOCK = re.compile(rb"(?:[!-9;-~]++[ \t]*+:[^\n]*+(?:\n|\Z)(?:[ \t][^\n]*+(?:\n|\Z))*+)*+")
# Continuation lines before the first field (broken mail): kept in the header, as a defect.
_LEADING_CONT = re.compile(rb"(?:[ \t][^\n]*+\n)++(?=[!-9;-~]++[ \t]*+:)")
# MIME fields: at the start of the header (_CFIELD_AT), and after a newline (_CFIELD, whose
# literal "\n" prefix lets the regex engine skip quickly through long headers).
_CFIELD_BODY = rb"((?i:content-)[!-9;-~]*|(?i:mime-version))[ \t]*:([^\n]*+(?:\n[ \t][^\n]*+)*+)"
_CFIELD_AT = re.compile(_CFIELD_BODY)
_CFIELD = re.compile(rb"\n" + _CFIELD_BODY)
_UNFOLD = re.compile(rb"\r?\n(?=[ \t])")
_MAX_FIELD = 64 * 1024
_FEW_FRAMES = 8
_MAX_PAD = 256  # transport padding accepted after a boundary


def as_buffer(data: Buffer) -> Searchable:
    """A buffer with ``find`` and slicing to bytes; memoryviews of bytes unwrap without copying."""
    if isinstance(data, memoryview):
        if isinstance(data.obj, bytes | bytearray) and data.contiguous and data.nbytes == len(data.obj):
            return data.obj
        return data.tobytes()
    return data


def count_newlines(buf: Buffer, start: int, end: int) -> int:
    if end <= start:
        return 0
    if isinstance(buf, bytes | bytearray):
        return buf.count(b"\n", start, end)
    n = 0
    for i in range(start, end, 1 << 20):
        n += bytes(buf[i : min(end, i + (1 << 20))]).count(b"\n")
    return n


def _field_text(raw: bytes) -> str:
    return header_text(_UNFOLD.sub(b"", raw)).strip()


def read_part(buf: Searchable, hs: int, n: int, default_digest: bool = False) -> Part:
    """Parse the header section starting at ``hs`` into a Part whose body starts after it."""
    lead = _LEADING_CONT.match(buf, hs, n)
    m = _HBLOCK.match(buf, lead.end() if lead else hs, n)
    he = m.end() if m else hs
    part = Part(hs, he, he)
    if lead:
        part.defects.append("header starts with a continuation line")
    two = bytes(buf[he : he + 2])
    if two == b"\r\n":
        bs = he + 2
    elif two[:1] == b"\n":
        bs = he + 1
    elif he >= n:
        bs = n
    else:
        bs = he
        part.defects.append(f"header at offset {hs} not ended by an empty line")
    part.body_start = part.body_end = bs
    if default_digest:
        part.media_type, part.media_subtype = "message", "rfc822"
    seen: set[bytes] = set()
    first = _CFIELD_AT.match(buf, hs, he)
    for fm in itertools.chain([first] if first else [], _CFIELD.finditer(buf, hs, he)):
        name = fm.group(1).lower()
        raw = fm.group(2)
        if len(raw) > _MAX_FIELD:
            part.defects.append(f"{name.decode()} field too long, truncated")
            raw = raw[:_MAX_FIELD]
        if name in seen and name != b"mime-version":
            part.defects.append(f"duplicate {name.decode()} field")
            continue
        seen.add(name)
        _apply_field(part, name, _field_text(raw))
    return part


_CT_CACHE: dict[str, tuple[str, str, dict[str, str], list[str]]] = {}


def _content_type(v: str) -> tuple[str, str, dict[str, str], list[str]]:
    # Most parts of a message (and of a mailbox) repeat a few Content-Type values.
    r = _CT_CACHE.get(v)
    if r is None:
        r = parse_content_type(v)
        if len(_CT_CACHE) >= 512:
            _CT_CACHE.clear()
        if len(v) < 200:
            _CT_CACHE[v] = r
    return r[0], r[1], dict(r[2]), list(r[3])


def _apply_field(part: Part, name: bytes, v: str) -> None:
    if name == b"content-type":
        t, st, params, defects = _content_type(v)
        part.defects.extend(defects)
        if t:
            part.media_type, part.media_subtype, part.params = t, st, params
            part.has_content_type = True
        else:
            # RFC 2045 section 5.2: a malformed type means text/plain; charset=us-ascii.
            part.media_type, part.media_subtype = "text", "plain"
            part.params = {"charset": "us-ascii"}
    elif name == b"content-transfer-encoding":
        part.cte = v.split("(", 1)[0].strip().strip('"').lower()
    elif name == b"content-disposition":
        d, params, defects = parse_disposition(v)
        part.defects.extend(defects)
        part.disposition, part.disposition_params = (d or None), params
    elif name == b"content-id":
        part.content_id = v
    elif name == b"content-description":
        part.description = v
    elif name == b"content-language":
        part.language = [t for t in re.split(r"[\s,]+", v) if t]
    elif name == b"content-location":
        part.location = v
    elif name == b"content-md5":
        part.md5 = v


class _Frame:
    __slots__ = ("boundary", "needle", "next", "part", "pidx")

    def __init__(self, boundary: bytes, part: Part, pidx: int) -> None:
        self.boundary = boundary
        self.needle = b"\n--" + boundary
        self.part = part
        self.pidx = pidx
        self.next = -2  # cached offset of needle, -1 none, -2 unknown


class _Parser:
    def __init__(self, buf: Searchable) -> None:
        self.buf = buf
        self.n = len(buf)
        self.pending: list[Part] = []
        self.pstart: list[int] = []  # newline count at body start, -1 when lines are not needed
        self.frames: list[_Frame] = []
        self.bmap: dict[bytes, list[_Frame]] = {}
        self.maxb = 0
        self.nl_pos = 0
        self.nl_count = 0
        self.need_lines = 0
        self.empty: list[Part] = []  # multiparts in which no delimiter was found

    def _nl_at(self, x: int) -> int:
        if x < self.nl_pos:
            x = self.nl_pos
        if self.need_lines == 0:
            self.nl_pos, self.nl_count = x, 0
        else:
            self.nl_count += count_newlines(self.buf, self.nl_pos, x)
            self.nl_pos = x
        return self.nl_count

    def enter(self, part: Part) -> None:
        """Push an entity that just got its header; nested messages are entered too."""
        while True:
            if part.media_type == "multipart" and not part.params.get("boundary"):
                # Without a boundary the parts cannot be found: the body is shown as text
                # (RFC 2045 section 5.2 advises text/plain for unusable content types).
                part.defects.append("multipart without boundary parameter")
                part.media_type, part.media_subtype = "text", "plain"
            needs = part.media_type in ("text", "message")
            self.pstart.append(self._nl_at(part.body_start) if needs else -1)
            if needs:
                self.need_lines += 1
            self.pending.append(part)
            if part.media_type == "multipart":
                bb = part.params["boundary"].encode("utf-8", "surrogateescape")
                fr = _Frame(bb, part, len(self.pending) - 1)
                self.frames.append(fr)
                self.bmap.setdefault(bb, []).append(fr)
                self.maxb = max(self.maxb, len(bb))
                return
            if part.media_type == "message" and part.media_subtype in ("rfc822", "global"):
                if part.cte not in ("", "7bit", "8bit", "binary"):
                    if part.media_subtype == "rfc822":
                        part.defects.append(f"message/rfc822 with transfer encoding {part.cte!r}")
                    return
                child = read_part(self.buf, part.body_start, self.n)
                part.message = child
                part = child
                continue
            return

    def close_pending(self, keep: int, end: int) -> None:
        """Close pending entities above index ``keep`` at ``end`` (clamped to each body start)."""
        for i in range(len(self.pending) - 1, keep, -1):
            p = self.pending[i]
            p.body_end = max(p.body_start, end)
        for i in range(keep + 1, len(self.pending)):
            p, s = self.pending[i], self.pstart[i]
            if s >= 0:
                p.lines = self._nl_at(p.body_end) - s
                # A last line without line ending still counts as a line.
                if p.body_end > p.body_start and bytes(self.buf[p.body_end - 1 : p.body_end]) != b"\n":
                    p.lines += 1
        for i in range(keep + 1, len(self.pending)):
            if self.pstart[i] >= 0:
                self.need_lines -= 1
        del self.pending[keep + 1 :]
        del self.pstart[keep + 1 :]

    def pop_frame(self) -> _Frame:
        fr = self.frames.pop()
        lst = self.bmap[fr.boundary]
        lst.pop()
        if not lst:
            del self.bmap[fr.boundary]
        return fr

    def check_line(self, ls: int) -> tuple[_Frame | None, bool, int]:
        """Whether the line at ``ls`` (starting with "--") is a delimiter: (frame, close, next line)."""
        buf, n = self.buf, self.n
        eol = buf.find(b"\n", ls)
        after = n if eol < 0 else eol + 1
        lend = n if eol < 0 else eol
        if lend - ls > self.maxb + 4 + _MAX_PAD:
            return None, False, after
        line = bytes(buf[ls + 2 : lend]).rstrip(b" \t\r")
        lst = self.bmap.get(line)
        if lst:
            return lst[-1], False, after
        if line.endswith(b"--"):
            lst = self.bmap.get(line[:-2])
            if lst:
                return lst[-1], True, after
        if len(self.frames) <= _FEW_FRAMES:
            # As mox: text after "--boundary--", or after whitespace following the boundary, is
            # tolerated (some software appends to delimiter lines).
            for fr in reversed(self.frames):
                if line.startswith(fr.boundary):
                    rest = line[len(fr.boundary) :]
                    if rest.startswith(b"--"):
                        return fr, True, after
                    if rest[:1] in (b" ", b"\t"):
                        return fr, False, after
        return None, False, after

    def _dash_scan(self, pos: int) -> tuple[int, tuple[int, _Frame, bool, int] | None]:
        """Inside a base64 body no "-" occurs, so the next "-" is almost always the delimiter:
        a memchr-speed search. After a few misses (invalid base64) the caller falls back to the
        general search. Returns (line start to continue from, found delimiter or None); a
        position of -1 means no "-" follows at all, so no delimiter either."""
        buf, n = self.buf, self.n
        for _ in range(8):
            i = buf.find(b"-", pos)
            if i < 0:
                return -1, None
            if bytes(buf[i + 1 : i + 2]) == b"-" and (i == 0 or bytes(buf[i - 1 : i]) == b"\n"):
                fr, close, after = self.check_line(i)
                if fr is not None:
                    return i, (i, fr, close, after)
                pos = after
            else:
                eol = buf.find(b"\n", i)
                pos = n if eol < 0 else eol + 1
        return pos, None

    def next_delimiter(self, pos: int) -> tuple[int, _Frame, bool, int] | None:
        buf = self.buf
        cur = self.pending[-1]
        if cur.cte == "base64" and cur.media_type != "multipart" and cur.message is None:
            pos, found = self._dash_scan(pos)
            if found is not None or pos < 0:
                return found
        if bytes(buf[pos : pos + 2]) == b"--":
            fr, close, after = self.check_line(pos)
            if fr is not None:
                return pos, fr, close, after
            pos = after
        if len(self.frames) <= _FEW_FRAMES:
            while True:
                best: _Frame | None = None
                for fr in self.frames:
                    if fr.next == -2 or 0 <= fr.next < pos - 1:
                        fr.next = buf.find(fr.needle, pos - 1 if pos > 0 else 0)
                    if fr.next >= 0 and (best is None or fr.next < best.next):
                        best = fr
                if best is None:
                    return None
                ls = best.next + 1
                fr2, close, after = self.check_line(ls)
                if fr2 is not None:
                    return ls, fr2, close, after
                best.next = buf.find(best.needle, ls)
                pos = max(pos, ls)
        while True:
            i = buf.find(b"\n--", pos - 1 if pos > 0 else 0)
            if i < 0:
                return None
            fr, close, after = self.check_line(i + 1)
            if fr is not None:
                return i + 1, fr, close, after
            pos = after

    def run(self, root: Part) -> None:
        buf = self.buf
        self.enter(root)
        pos = root.body_start
        while self.frames:
            found = self.next_delimiter(pos)
            if found is None:
                break
            ls, fr, close, after = found
            end = ls
            if end > 0 and bytes(buf[end - 1 : end]) == b"\n":
                end -= 1
                if end > 0 and bytes(buf[end - 1 : end]) == b"\r":
                    end -= 1
            while self.frames[-1] is not fr:
                g = self.pop_frame()
                g.part.defects.append("missing closing boundary")
            self.close_pending(fr.pidx, end)
            if close:
                self.pop_frame()
                if not fr.part.parts:
                    self.empty.append(fr.part)
                pos = after
                continue
            digest = fr.part.media_subtype == "digest"
            child = read_part(buf, after, self.n, default_digest=digest)
            fr.part.parts.append(child)
            self.enter(child)
            pos = child.body_start
        for fr in self.frames:
            fr.part.defects.append("missing closing boundary")
            if not fr.part.parts:
                self.empty.append(fr.part)
        self.frames.clear()
        self.close_pending(-1, self.n)
        for p in self.empty:
            # No delimiter found: the body is shown as text rather than hidden (bodies of such
            # parts never overlap, so counting their lines stays linear).
            p.defects.append("multipart without parts")
            p.media_type, p.media_subtype = "text", "plain"
            p.lines = count_newlines(self.buf, p.body_start, p.body_end)
            if p.body_end > p.body_start and bytes(self.buf[p.body_end - 1 : p.body_end]) != b"\n":
                p.lines += 1


def parse(data: Buffer, pedantic: bool = False) -> Part:
    """Parse a raw message into a Part tree; see the module docstring. Never raises unless pedantic."""
    buf = as_buffer(data)
    root = read_part(buf, 0, len(buf))
    _Parser(buf).run(root)
    if pedantic:
        defects = root.all_defects()
        if defects:
            raise ParseError(defects)
    return root
