"""Threading helpers: base subject (RFC 5256 section 2.1), Message-ID, referenced ids.

``base_subject`` removes reply/forward markers (``Re:``, ``Fwd:``, ``Fw:``, also with a count
like ``Re[2]:``), mailing-list tags in brackets, trailing ``(fwd)``, the ``[fwd: ...]`` wrapper,
and normalizes whitespace, after decoding encoded words. ``message_id`` gives the canonical id
(without angle brackets, as mox stores it); ``references`` gives the ids a message refers to,
oldest first, from References and In-Reply-To.
"""

from __future__ import annotations

import re

from app.message.encoded import decode_rfc2047

_WS = re.compile(r"\s+")
_TRAILER = re.compile(r"(?:\s*\(fwd\))+\s*$", re.I)
_BLOB = r"\[[^\[\]]*\]\s*"
_LEADER = re.compile(r"^(?:(?:" + _BLOB + r")*(?:re|fwd?)\s*(?:\[\d+\]\s*)?(?:" + _BLOB + r")?:\s*)+", re.I)
MAX_SUBJECT = 10_000  # longer subjects are cut first; enough to tell threads apart
_BLOBS = re.compile(r"^(?:" + _BLOB + r")+")
_IDS = re.compile(r"<([^<>\s]*)>")


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


def message_id(v: str) -> str:
    """Canonical Message-ID: the text between the first ``<`` and ``>``, or the stripped value."""
    m = _IDS.search(v)
    if m:
        return m.group(1)
    v = v.strip()
    return v if " " not in v else ""


def references(refs: str | None, in_reply_to: str | None) -> list[str]:
    """Referenced ids, oldest first: References, else the first id of In-Reply-To."""
    out = [m.group(1) for m in _IDS.finditer(refs or "") if m.group(1)]
    if not out and in_reply_to:
        m = _IDS.search(in_reply_to)
        if m and m.group(1):
            out.append(m.group(1))
    return out
