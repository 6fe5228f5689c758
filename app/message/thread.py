"""Threading helpers: base subject (RFC 5256 section 2.1), Message-ID, referenced ids.

``base_subject`` removes reply/forward markers (``Re:``, ``Fwd:``, ``Fw:``, also with a count
like ``Re[2]:``), mailing-list tags in brackets, trailing ``(fwd)``, the ``[fwd: ...]`` wrapper,
and normalizes whitespace, after decoding encoded words. ``message_id`` gives the canonical id
(lower case, without angle brackets, as mox matches threads); ``references`` gives the ids a
message refers to, oldest first, from References and In-Reply-To.
"""

from __future__ import annotations

import re

from app.message.encoded import decode_rfc2047
from app.smtp.address import AddressError, parse_address

_WS = re.compile(r"\s+")
_TRAILER = re.compile(r"(?:\s*\(fwd\))+\s*$", re.I)
_BLOB = r"\[[^\[\]]*\]\s*"
_LEADER = re.compile(r"^(?:(?:" + _BLOB + r")*(?:re|fwd?)\s*(?:\[\d+\]\s*)?(?:" + _BLOB + r")?:\s*)+", re.I)
MAX_SUBJECT = 10_000  # longer subjects are cut first; enough to tell threads apart
_BLOBS = re.compile(r"^(?:" + _BLOB + r")+")
_ID_END = re.compile(r"[<>]")
_ID_WS = re.compile(r"[ \t\r\n]+")


def _base(s: str) -> tuple[str, bool]:
    """(base subject, whether a reply/forward marker was removed)."""
    s = _WS.sub(" ", decode_rfc2047(s[:MAX_SUBJECT])).strip()
    response = False
    while True:
        prev = s
        t = _TRAILER.sub("", s)  # step 2
        response = response or t != s
        s = t
        while True:
            t = _LEADER.sub("", s, count=1)  # step 3
            if t != s:
                response = True
            else:
                # Remove a leading [blob] only if something is left after it (step 4).
                m = _BLOBS.match(s)
                if m and s[m.end() :].strip():
                    t = s[m.end() :]
            if t == s:
                break
            s = t.strip()
        if s.lower().startswith("[fwd:") and s.endswith("]"):  # step 6
            s = s[5:-1].strip()
            response = True
        if s == prev:
            return s, response


def base_subject(s: str) -> str:
    """The RFC 5256 base subject used for SUBJECT sorting and threading (case kept)."""
    return _base(s)[0]


def thread_subject(s: str) -> tuple[str, bool]:
    """mox's thread matching key: the base subject in lower case (empty if it holds a NUL), and
    whether the subject marked a response (Re:, Fwd:, (fwd), [fwd: ...])."""
    base, response = _base(s)
    base = base.lower()
    return ("" if "\0" in base else base), response


def _canonical(ref: str) -> str:
    """Lower case; quoting of the local part normalized when the id parses as an address."""
    ref = ref.lower()
    if '"' not in ref and ref.isascii():
        # Without quotes (and NFC normalization, a no-op on ASCII) the local part is either a
        # dot-atom, its own canonical form, or the id is no address: either way it stays as is.
        return ref
    try:
        addr = parse_address(ref, True)
    except AddressError:
        return ref  # common: underscores, IP literals, several or no "@"
    return f"{addr.localpart.quoted()}@{ref.rsplit('@', 1)[1]}"


def message_id(v: str) -> str:
    """Canonical Message-ID for thread matching (as mox): lower case, without ``<>``, local part
    quoting normalized; "" when the value is not a ``<...>`` id. A comment after the id (``<id>
    (added by ...)``) is tolerated."""
    s = v.strip()
    if not s.startswith("<"):
        return ""
    inner, sep, rest = s[1:].partition(">")
    if not sep or (rest and not rest.startswith((" ", "\t"))) or not inner:
        return ""
    return _canonical(inner)


def references(refs: str | list[str] | None, in_reply_to: str | list[str] | None) -> list[str]:
    """Referenced ids in canonical form, oldest first: from References, else the first id of
    In-Reply-To. Truncated ids (``<abc@ho <next@id>``) are skipped, whitespace inside an id
    (from bad re-wrapping) removed, text outside ``<>`` ignored."""
    out: list[str] = []

    def scan(s: str, first_only: bool) -> None:
        pos = 0
        while pos < len(s):
            lt = s.find("<", pos)
            if lt < 0:
                return
            end = _ID_END.search(s, lt + 1)
            if end is None:
                return
            if end.group() == "<":
                pos = end.start()  # truncated entry
                continue
            ref = _ID_WS.sub("", s[lt + 1 : end.start()])
            pos = end.end()
            if ref:
                out.append(_canonical(ref))
                if first_only:
                    return

    for r in [refs] if isinstance(refs, str) else refs or []:
        scan(r, False)
    if not out:
        for r in [in_reply_to] if isinstance(in_reply_to, str) else in_reply_to or []:
            scan(r, True)
            if out:
                break
    return out
