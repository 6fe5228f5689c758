"""Reading and writing mbox and maildir files with their flags, for import and export.

mbox: the mboxrd variant (lines ``>*From `` in a body are quoted with one more ``>``), LF
line endings on disk, flags in the headers ``Status`` (R seen, O old), ``X-Status`` (A
answered, F flagged, T draft, D deleted) and ``X-Keywords`` (comma-separated), as written by
mox, Thunderbird and Dovecot. The ``From `` line's date (asctime format) is the received time.

maildir: one file per message in ``cur/`` or ``new/``; flags in the file name after ``:2,``
(RFC-less convention of D. J. Bernstein's maildir and Dovecot: D draft, F flagged, P passed
($Forwarded), R replied, S seen, T trashed (\\Deleted)) and lower-case letters a-z naming
keywords by their line number in Dovecot's ``dovecot-keywords`` file. The received time is
the leading unix time of the file name, else the file's modification time.

Messages are returned and taken with CRLF line endings, as the store keeps them.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.store.errors import InvalidFlag
from app.store.model import normalize_flags

_FROM_UNQUOTE_NL = re.compile(rb"\n>(>*From )")
_FROM_NEEDS_QUOTE = re.compile(rb"^>*From ")
MAILDIR_FLAGS = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "P": "$Forwarded",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
_XSTATUS = {"A": "\\Answered", "F": "\\Flagged", "T": "\\Draft", "D": "\\Deleted"}
_FLAG_HEADERS = (b"status:", b"x-status:", b"x-keywords:")


@dataclass(frozen=True)
class SourceMessage:
    """One message read from an mbox or maildir."""

    data: bytes  # CRLF line endings
    flags: tuple[str, ...]  # IMAP names, valid for the store
    received: float | None
    origin: str  # file name (and message number for mbox), for error messages


def to_crlf(data: bytes) -> bytes:
    """Bare LF (and stray CR) line endings to CRLF."""
    if b"\r" not in data:
        return data.replace(b"\n", b"\r\n")
    return re.sub(rb"\r?\n", b"\r\n", data)


_valid_cache: dict[tuple[str, ...], tuple[str, ...]] = {}


def valid_flags(flags: Iterable[str]) -> tuple[str, ...]:
    """The flags the store accepts; invalid keywords are dropped (a bad keyword in an old
    mailbox file must not stop an import)."""
    key = tuple(flags)
    v = _valid_cache.get(key)
    if v is None:
        v = _valid_flags(key)
        if len(_valid_cache) < 1000:  # a mailbox uses few combinations
            _valid_cache[key] = v
    return v


def _valid_flags(flags: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for f in flags:
        try:
            normalize_flags([f])
        except InvalidFlag:
            continue
        out.append(f)
    seen: dict[str, str] = {}
    for f in out:
        seen.setdefault(f.lower(), f)
    return tuple(seen.values())


_MONTHS = {
    m: i
    for i, m in enumerate(
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"], 1
    )
}
_FROM_TIME = re.compile(rb"\w{3} +(\w{3}) +(\d{1,2}) +(\d{1,2}):(\d\d):(\d\d) +(\d{4})")


def _from_line_time(line: bytes) -> float | None:
    # "From sender Sun Jan 23 20:41:55 2022"; the sender may be absent or contain spaces.
    m = _FROM_TIME.search(line)
    if not m:
        return None
    month = _MONTHS.get(m[1].title())
    day, hour, minute, sec, year = map(int, m.groups()[1:])
    if month is None or not (1 <= day <= 31 and hour < 24 and minute < 60 and sec < 61):
        return None
    return float(calendar.timegm((year, month, day, hour, minute, sec, 0, 0, 0)))


def _take_flag_headers(header: bytes) -> tuple[bytes, list[str]]:
    """Split a CRLF header into the header without its Status, X-Status and X-Keywords
    fields (continuation lines included) and the flags those fields name."""
    kept: list[bytes] = []
    fields: list[list[bytes]] = []
    field: list[bytes] | None = None
    for ln in header.split(b"\r\n"):
        c = ln[:1]
        if c == b" " or c == b"\t":
            (kept if field is None else field).append(ln)
            continue
        field = None
        if c and c in b"sSxX" and ln[:11].lower().startswith(_FLAG_HEADERS):
            field = [ln]
            fields.append(field)
        else:
            kept.append(ln)
    if field is not None and kept:
        kept.append(b"")  # the removed field ended the header: the kept lines keep their CRLF
    return b"\r\n".join(kept), _header_flags(b"\r\n".join(f) for f in fields)


def _header_flags(fields: Iterable[bytes]) -> list[str]:
    flags: list[str] = []
    for raw in fields:
        name, _, value = raw.partition(b":")
        key = name.lower()
        v = value.decode("utf-8", "replace").strip()
        if key == b"status":
            if "R" in v:
                flags.append("\\Seen")
        elif key == b"x-status":
            flags += [f for c, f in _XSTATUS.items() if c in v]
        else:
            flags += [k for k in re.split(r"[,\s]+", v) if k]
    return flags


def mbox_message(raw: bytes, origin: str) -> SourceMessage:
    """One mbox entry as ``split_mbox`` returns it (``From `` line included) to a message:
    mboxrd unquoting, CRLF line endings, flags from the flag headers (which are removed)."""
    nl = raw.find(b"\n")
    from_line, body = (raw[: nl + 1], raw[nl + 1 :]) if nl >= 0 else (raw, b"")
    # Line starts other than the first are found by the literal prefix b"\n>" (fast).
    body = _FROM_UNQUOTE_NL.sub(rb"\n\1", body)
    if body[:1] == b">" and _FROM_NEEDS_QUOTE.match(body):
        body = body[1:]
    # The blank line before the next "From " belongs to the mbox, not the message.
    if body.endswith(b"\r\n\r\n"):
        body = body[:-2]
    elif body.endswith(b"\n\n"):
        body = body[:-1]
    data = to_crlf(body)
    end = data.find(b"\r\n\r\n")
    header = data[: end + 2] if end >= 0 else data
    flags: tuple[str, ...] = ()
    low = header.lower()
    if b"status:" in low or b"x-keywords:" in low:
        # The flag headers are mbox bookkeeping, now in the flags; dropping them makes an
        # export followed by an import give back the stored bytes.
        kept, names = _take_flag_headers(header)
        flags = valid_flags(names)
        data = kept + data[len(header) :]
    return SourceMessage(data, flags, _from_line_time(from_line), origin)


def strip_flag_headers(header: bytes) -> bytes:
    """The header without Status, X-Status and X-Keywords fields (and their continuations)."""
    kept: list[bytes] = []
    skipping = False
    for ln in header.splitlines(keepends=True):
        if ln[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(ln)
            continue
        skipping = ln[:1] in b"sSxX" and ln.lower().startswith(_FLAG_HEADERS)
        if not skipping:
            kept.append(ln)
    return b"".join(kept)


MBOX_READ_SIZE = 1 << 20


def _mbox_start(buf: bytearray, eof: bool, name: str) -> int | None:
    """Offset of the first ``From `` line; None when more data is needed. Only blank lines
    may come before it."""
    k = len(buf) - len(buf.lstrip())
    if k == len(buf):
        return len(buf) if eof else None
    if (k and buf[k - 1 : k] != b"\n") or b"From "[: len(buf) - k] != buf[k : k + 5]:
        raise ValueError(f'{name}: not an mbox file (no "From " line at the start)')
    if len(buf) - k < 5:
        if eof:
            raise ValueError(f'{name}: not an mbox file (no "From " line at the start)')
        return None
    return k


def split_mbox(f: BinaryIO, name: str = "mbox", read_size: int = MBOX_READ_SIZE) -> Iterator[bytes]:
    """The raw entries of an mbox file, each from its ``From `` line up to the next one (for
    ``mbox_message``), streamed: a large read buffer is searched for line-start ``From ``,
    holding about one read plus the longest message in memory. Raises ValueError when the
    file does not start with a ``From `` line (blank lines before it are allowed)."""
    buf = bytearray()
    eof = False
    start: int | None = None
    while start is None:
        chunk = f.read(read_size)
        eof = not chunk
        buf += chunk
        start = _mbox_start(buf, eof, name)
    pos = start + 1  # search for "\nFrom " after the current entry's "From"
    while True:
        i = buf.find(b"\nFrom ", pos)
        if i >= 0:
            yield bytes(buf[start : i + 1])
            start, pos = i + 1, i + 2
            continue
        if eof:
            if start < len(buf):
                yield bytes(buf[start:])
            return
        del buf[:start]
        pos = max(1, len(buf) - 6)
        start = 0
        chunk = f.read(read_size)
        eof = not chunk
        buf += chunk


def read_mbox(f: BinaryIO, name: str = "mbox") -> Iterator[SourceMessage]:
    """Messages of an mbox file, streamed (see ``split_mbox``). Raises ValueError when the
    file does not start with a ``From `` line."""
    for n, raw in enumerate(split_mbox(f, name), 1):
        yield mbox_message(raw, f"{name} message {n}")


def dovecot_keywords(text: str) -> dict[str, str]:
    """``dovecot-keywords`` lines ``<index> <keyword>`` to {letter: keyword}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        idx, _, kw = line.strip().partition(" ")
        if idx.isdigit() and int(idx) < 26 and kw:
            out[chr(ord("a") + int(idx))] = kw
    return out


def maildir_flags(filename: str, keywords: dict[str, str]) -> list[str]:
    _, sep, info = filename.rpartition(":2,")
    if not sep:
        return []
    flags = [MAILDIR_FLAGS[c] for c in info if c in MAILDIR_FLAGS]
    flags += [keywords[c] for c in info if c in keywords]
    return flags


def read_maildir(path: Path) -> Iterator[SourceMessage]:
    """Messages of a maildir (``new/`` and ``cur/``), ordered by the time in their file names
    (then by the number after it), so that an exported maildir imports in the same order."""
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise ValueError(f"{path}: not a maildir (no cur/ or new/ directory)")
    kwfile = path / "dovecot-keywords"
    keywords = dovecot_keywords(kwfile.read_text("utf-8", "replace")) if kwfile.exists() else {}
    files: list[tuple[float, int, str, Path]] = []
    for sub in ("new", "cur"):
        d = path / sub
        if d.is_dir():
            for p in d.iterdir():
                if p.is_file():
                    m = re.match(r"(\d+)\.(\d+)?", p.name)
                    t = float(m[1]) if m else p.stat().st_mtime
                    files.append((t, int(m[2]) if m and m[2] else 0, p.name, p))
    for _t, _n, _name, p in sorted(files):
        yield maildir_message(p.name, p.read_bytes(), keywords, p.stat().st_mtime, str(p))


def maildir_message(
    filename: str, data: bytes, keywords: dict[str, str], mtime: float | None, origin: str
) -> SourceMessage:
    base = filename.rpartition(":2,")[0] or filename
    m = re.match(r"(\d{9,11})\.", base)
    received = float(m[1]) if m else mtime
    return SourceMessage(to_crlf(data), valid_flags(maildir_flags(filename, keywords)), received, origin)


def _asctime(t: float) -> bytes:
    return time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(t)).replace("  ", " ").encode()


def mbox_entry(data: bytes, flags: Iterable[str], received: float) -> bytes:
    """One mbox entry (``From `` line, flag headers, mboxrd-quoted body, blank line), LF
    line endings. Existing Status/X-Status/X-Keywords headers are replaced."""
    text = data.replace(b"\r\n", b"\n")
    end = text.find(b"\n\n")
    header, body = (
        (text[: end + 1], text[end + 1 :])
        if end >= 0
        else (text if text.endswith(b"\n") else text + b"\n", b"")
    )
    kept = [strip_flag_headers(header)]
    fl = {f.lower() for f in flags}
    status = b"RO" if "\\seen" in fl else b"O"
    xstatus = b"".join(c.encode() for c, f in _XSTATUS.items() if f.lower() in fl)
    kws = [f for f in flags if not f.startswith("\\")]
    extra = b"Status: " + status + b"\n"
    if xstatus:
        extra += b"X-Status: " + xstatus + b"\n"
    if kws:
        extra += b"X-Keywords: " + ",".join(sorted(kws)).encode() + b"\n"
    out = [b"From MAILER-DAEMON " + _asctime(received) + b"\n", *kept, extra]
    for ln in body.splitlines(keepends=True):
        out.append(b">" + ln if _FROM_NEEDS_QUOTE.match(ln) else ln)
    if body and not body.endswith(b"\n"):
        out.append(b"\n")
    out.append(b"\n")
    return b"".join(out)


def maildir_filename(n: int, received: float, flags: Iterable[str], keyword_letters: dict[str, str]) -> str:
    """``<time>.<n>.moxpy:2,<flags>``; keyword_letters maps lower-case keywords to letters."""
    fl = {f.lower() for f in flags}
    info = "".join(c for c, f in sorted(MAILDIR_FLAGS.items()) if f.lower() in fl)
    info += "".join(sorted(keyword_letters[k] for k in fl if k in keyword_letters))
    return f"{int(received)}.{n}.moxpy:2,{info}"
