"""Content-Type and Content-Disposition values: type, subtype and parameters.

RFC 2045 section 5.1 (syntax, tspecials), RFC 2183 (disposition), RFC 2231 (parameter
continuations ``name*0=``, charset/language ``name*=utf-8'en'%E2%82%AC``). Real mail also puts
RFC 2047 encoded words in quoted parameter values (filenames); those are decoded too. Parsing is
lenient: comments are skipped, a missing ``=`` or an unterminated quote is a defect, not an error.
"""

from __future__ import annotations

import re
import urllib.parse

from app.message.encoded import decode_rfc2047

_TSPECIALS = set('()<>@,;:\\"/[]?=')
_TOKEN = re.compile(r'[^()<>@,;:\\"/\[\]?=\s\x00-\x1f]*')
_WSP = re.compile(r"[ \t\r\n]*")
_SECTION = re.compile(r"^(.*?)\*(\d+)?(\*)?$")


class _Scanner:
    def __init__(self, s: str) -> None:
        self.s = s
        self.i = 0
        self.defects: list[str] = []

    def skip_cfws(self) -> None:
        s, n = self.s, len(self.s)
        self.i = _WSP.match(s, self.i).end()  # type: ignore[union-attr]
        while self.i < n:
            c = s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif c == "(":
                depth = 0
                while self.i < n:
                    c = s[self.i]
                    if c == "\\":
                        self.i += 1
                    elif c == "(":
                        depth += 1
                    elif c == ")":
                        depth -= 1
                        if depth == 0:
                            self.i += 1
                            break
                    self.i += 1
                else:
                    self.defects.append("unterminated comment")
            else:
                return

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def token(self) -> str:
        start = self.i
        self.i = _TOKEN.match(self.s, start).end()  # type: ignore[union-attr]
        return self.s[start : self.i]

    def quoted(self) -> str:
        # At the opening quote.
        s, n = self.s, len(self.s)
        self.i += 1
        out: list[str] = []
        while self.i < n:
            c = s[self.i]
            if c == "\\" and self.i + 1 < n:
                out.append(s[self.i + 1])
                self.i += 2
                continue
            if c == '"':
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1
        self.defects.append("unterminated quoted string in parameter")
        return "".join(out)

    def value(self) -> str:
        if self.peek() == '"':
            return self.quoted()
        start = self.i
        tok = self.token()
        save = self.i
        self.skip_cfws()
        if self.peek() in ("", ";"):
            return tok
        self.i = save
        # Be lenient: take everything up to the next ';' as the value (unquoted spaces, '/', '@'
        # and '=' are common in real mail).
        end = self.s.find(";", start)
        if end < 0:
            end = len(self.s)
        self.i = end
        v = self.s[start:end].strip()
        if any(c in _TSPECIALS or c in " \t" for c in v):
            self.defects.append("tspecials in unquoted parameter value")
        return v


def _params(sc: _Scanner) -> dict[str, str]:
    raw: list[tuple[str, str, bool]] = []
    while True:
        sc.skip_cfws()
        if sc.peek() == "":
            break
        if sc.peek() != ";":
            sc.defects.append("expected ';' between parameters")
            # Skip to the next ';' to resynchronize.
            j = sc.s.find(";", sc.i)
            if j < 0:
                break
            sc.i = j
        sc.i += 1
        sc.skip_cfws()
        if sc.peek() == "":
            break
        name = sc.token().lower()
        sc.skip_cfws()
        if sc.peek() != "=":
            if name:
                sc.defects.append(f"parameter {name!r} without value")
            continue
        sc.i += 1
        sc.skip_cfws()
        quoted = sc.peek() == '"'
        val = sc.value()
        if name:
            raw.append((name, val, quoted))
    return _combine(raw, sc.defects)


def _combine(raw: list[tuple[str, str, bool]], defects: list[str]) -> dict[str, str]:
    """Apply RFC 2231 continuations and charset decoding; decode RFC 2047 words in values."""
    out: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for name, val, quoted in raw:
        m = _SECTION.match(name) if "*" in name else None
        if m is None:
            if name in out:
                defects.append(f"duplicate parameter {name!r}")
                continue
            out[name] = decode_rfc2047(val) if quoted and "=?" in val else val
            continue
        # "name*" is one encoded section; "name*0*" encoded, "name*1" plain continuations.
        base, idx, star = m.group(1), m.group(2), m.group(3) is not None or m.group(2) is None
        n = int(idx) if idx is not None else 0
        if n > 1000:
            defects.append("parameter continuation index too large")
            continue
        sections.setdefault(base, {})[n] = (val, star)
    for base, secs in sections.items():
        charset = "us-ascii"
        pieces: list[bytes] = []
        for i in range(len(secs) + 1):
            if i not in secs:
                if i < len(secs):
                    defects.append(f"missing continuation {i} of parameter {base!r}")
                break
            val, encoded = secs[i]
            if encoded and i == 0:
                parts = val.split("'", 2)
                if len(parts) == 3:
                    charset, val = parts[0] or "us-ascii", parts[2]
                else:
                    defects.append(f"missing charset in extended parameter {base!r}")
            if encoded:
                pieces.append(urllib.parse.unquote_to_bytes(val))
            else:
                pieces.append(val.encode("utf-8", "surrogateescape"))
        b = b"".join(pieces)
        try:
            text = b.decode(_py_charset(charset))
        except (LookupError, ValueError):
            defects.append(f"bad charset {charset!r} in parameter {base!r}")
            text = b.decode("utf-8", "replace")
        out[base] = text  # extended form wins over a plain duplicate
    return out


def _py_charset(cs: str) -> str:
    from app.message.encoded import python_charset

    name = python_charset(cs)
    if name is None:
        raise LookupError(cs)
    return "utf-8" if name == "ascii" else name


def parse_content_type(value: str) -> tuple[str, str, dict[str, str], list[str]]:
    """(type, subtype, params, defects). An unparsable type yields ("", "", params, defects)."""
    sc = _Scanner(value)
    sc.skip_cfws()
    t = sc.token().lower()
    sc.skip_cfws()
    st = ""
    if sc.peek() == "/":
        sc.i += 1
        sc.skip_cfws()
        st = sc.token().lower()
    if not t or not st:
        sc.defects.append(f"malformed content-type {value[:100]!r}")
        t = st = ""
    params = _params(sc)
    return t, st, params, sc.defects


def parse_disposition(value: str) -> tuple[str, dict[str, str], list[str]]:
    """(disposition in lower case, params, defects), RFC 2183."""
    sc = _Scanner(value)
    sc.skip_cfws()
    d = sc.token().lower()
    if not d:
        sc.defects.append("malformed content-disposition")
    params = _params(sc)
    return d, params, sc.defects


_SECTION_LEN = 50


def _pct_chunks(enc: str) -> list[str]:
    """Split percent-encoded text into pieces of about _SECTION_LEN, never inside a %XX."""
    out: list[str] = []
    i = 0
    while i < len(enc):
        j = min(len(enc), i + _SECTION_LEN)
        if j < len(enc):
            k = enc.rfind("%", max(i, j - 2), j)
            if k >= 0:
                j = k
        out.append(enc[i:j])
        i = j
    return out


def format_params(params: dict[str, str]) -> str:
    """``; name=value`` pairs for composing; values quoted when needed, RFC 2231 for non-ASCII
    and continuations (``name*0*=``, ``name*1*=``) for long values, so lines can be folded."""
    out: list[str] = []
    for k, v in params.items():
        if not v.isascii() or len(v) > _SECTION_LEN:
            chunks = _pct_chunks(urllib.parse.quote(v, safe=""))
            if len(chunks) == 1:
                out.append(f"; {k}*=utf-8''{chunks[0]}")
            else:
                out.extend(
                    f"; {k}*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{c}" for i, c in enumerate(chunks)
                )
        elif v and all(c not in _TSPECIALS and c > " " and c != "\x7f" for c in v):
            out.append(f"; {k}={v}")
        else:
            q = v.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'; {k}="{q}"')
    return "".join(out)
