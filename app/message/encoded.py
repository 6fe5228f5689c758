"""RFC 2047 encoded words (decode and encode) and the raw-header-bytes → str step (RFC 6532).

Decoding tolerates what real mail does wrong: encoded words glued to other text, a multi-byte
character split over two adjacent words, missing base64 padding, lower-case ``q``/``b``,
RFC 2231 language suffixes (``utf-8*en``), unknown charsets (bytes shown as UTF-8/Latin-1).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

# The encoded text never contains "?" (RFC 2047 section 5), which keeps matching linear.
_WORD = re.compile(r"=\?([^?\s]{1,75})\?([qQbB])\?([^?]*)\?=")
_QHEX = re.compile(rb"=([0-9A-Fa-f]{2})")

# Charset names seen in mail that Python spells differently or not at all.
_ALIASES = {
    "": "us-ascii",
    "unknown-8bit": "latin-1",
    "x-unknown": "latin-1",
    "unknown": "latin-1",
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "utf8": "utf-8",
    "default": "latin-1",
    "ansi_x3.4-1968": "us-ascii",
}


_NOT_CHARSETS = {"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}


def python_charset(cs: str) -> str | None:
    """Python codec name for a MIME charset, or None when unknown."""
    cs = cs.strip().strip('"').lower()
    cs = _ALIASES.get(cs, cs)
    try:
        info = codecs.lookup(cs)
    except (LookupError, ValueError):  # ValueError: NUL in the name
        return None
    # Only real text encodings: a charset label must not select rot13, zlib, base64, idna, ...
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def decode_bytes(b: bytes, charset: str) -> str:
    """Bytes in a MIME charset to str; unknown charsets and bad bytes degrade, never raise."""
    name = python_charset(charset)
    if name is None or name == "ascii":
        # Unknown or us-ascii: real mail often lies and sends UTF-8; fall back to Latin-1.
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return b.decode("latin-1") if name is None else b.decode("utf-8", "replace")
    try:
        return b.decode(name)
    except (UnicodeError, LookupError):
        try:
            return b.decode(name, "replace")
        except (UnicodeError, LookupError):
            return b.decode("utf-8", "replace")


def header_text(raw: bytes) -> str:
    """Raw header bytes as str: UTF-8 (RFC 6532), else Latin-1 for legacy 8-bit headers."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _word_bytes(enc: str, text: str) -> bytes | None:
    if enc in "bB":
        t = "".join(text.split())
        t += "=" * (-len(t) % 4)
        try:
            return base64.b64decode(t.encode("ascii", "replace"), validate=False)
        except (binascii.Error, ValueError):
            return None
    b = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return _QHEX.sub(lambda m: bytes([int(m.group(1), 16)]), b)


def decode_rfc2047(s: str) -> str:
    """Decode the encoded words in a header value; text that is not an encoded word stays."""
    if "=?" not in s:
        return s
    out: list[str] = []
    pend_cs: str | None = None
    pend: list[bytes] = []
    pos = 0

    def flush() -> None:
        nonlocal pend_cs
        if pend_cs is not None:
            out.append(decode_bytes(b"".join(pend), pend_cs))
            pend.clear()
            pend_cs = None

    for m in _WORD.finditer(s):
        gap = s[pos : m.start()]
        cs = m.group(1).split("*", 1)[0].lower()
        b = _word_bytes(m.group(2), m.group(3))
        if b is None:
            continue  # left as-is below, via the gap of the next word
        if gap and not (gap.isspace() and pend_cs is not None):
            flush()
            out.append(gap)
        if pend_cs is not None and pend_cs != cs:
            flush()
        pend_cs = cs
        pend.append(b)
        pos = m.end()
    flush()
    out.append(s[pos:])
    return "".join(out)


def _q_encode(b: bytes) -> str:
    out = []
    for c in b:
        if c == 0x20:
            out.append("_")
        elif 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c in b"!*+-/":
            out.append(chr(c))
        else:
            out.append(f"={c:02X}")
    return "".join(out)


def encode_rfc2047(s: str, maxlen: int = 75) -> str:
    """``s`` as space-separated UTF-8 encoded words of at most ``maxlen`` characters each.

    ASCII text without ``=?`` is returned unchanged. Characters are never split across words.
    Q encoding is used for mostly-ASCII text, B otherwise.
    """
    if s.isascii() and "=?" not in s and all(c >= " " or c == "\t" for c in s):
        return s
    nonascii = sum(1 for c in s if not c.isascii())
    useq = nonascii * 3 < len(s)
    prefix = "=?utf-8?q?" if useq else "=?utf-8?b?"
    room = maxlen - len(prefix) - 2
    words: list[str] = []
    cur = ""
    for ch in s:
        cand = cur + ch
        b = cand.encode("utf-8")
        n = len(_q_encode(b)) if useq else (len(b) + 2) // 3 * 4
        if n > room and cur:
            words.append(cur)
            cur = ch
        else:
            cur = cand
    if cur:
        words.append(cur)
    enc = []
    for w in words:
        b = w.encode("utf-8")
        enc.append(prefix + (_q_encode(b) if useq else base64.b64encode(b).decode("ascii")) + "?=")
    return " ".join(enc)
