"""Modified UTF-7 for IMAP mailbox names (RFC 3501 section 5.1.3, kept by RFC 9051 for clients
that have not enabled UTF8=ACCEPT or IMAP4rev2).

Printable US-ASCII other than "&" stands for itself, "&" is written "&-", and runs of other
characters are UTF-16BE encoded in base64 with "," instead of "/" and no padding, between "&"
and "-".
"""

from __future__ import annotations

import base64
import binascii


class UTF7Error(ValueError):
    """A mailbox name that is not valid modified UTF-7."""


def encode(name: str) -> str:
    """Encode a Unicode mailbox name to modified UTF-7."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            b64 = base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ",")
            out.append("&" + b64 + "-")
            pending.clear()

    for ch in name:
        o = ord(ch)
        if 0x20 <= o <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode(name: str) -> str:
    """Decode a modified UTF-7 mailbox name, raising UTF7Error on malformed input.

    Rejected, as RFC 3501 requires: non-printable or non-ASCII characters, an unterminated
    shift, an encoded run of printable ASCII (which has to be written as itself), adjacent
    encoded runs, and bad base64 or UTF-16.
    """
    out: list[str] = []
    i = 0
    n = len(name)
    last_was_encoded = False
    while i < n:
        ch = name[i]
        o = ord(ch)
        if not 0x20 <= o <= 0x7E:
            raise UTF7Error(f"invalid character {ch!r} in modified UTF-7")
        if ch != "&":
            out.append(ch)
            i += 1
            last_was_encoded = False
            continue
        end = name.find("-", i + 1)
        if end < 0:
            raise UTF7Error("unterminated shift sequence")
        b64 = name[i + 1 : end]
        i = end + 1
        if not b64:
            out.append("&")
            last_was_encoded = False
            continue
        if last_was_encoded:
            raise UTF7Error("adjacent encoded sequences")
        if "/" in b64 or "=" in b64:
            raise UTF7Error("invalid base64 in modified UTF-7")
        std = b64.replace(",", "/")
        std += "=" * (-len(std) % 4)
        try:
            raw = base64.b64decode(std, validate=True)
        except (binascii.Error, ValueError):
            raise UTF7Error("invalid base64 in modified UTF-7") from None
        if len(raw) % 2 != 0 or not raw:
            raise UTF7Error("encoded sequence is not UTF-16")
        try:
            text = raw.decode("utf-16-be")
        except UnicodeDecodeError:
            raise UTF7Error("invalid UTF-16 in modified UTF-7") from None
        if any(0x20 <= ord(c) <= 0x7E for c in text):
            raise UTF7Error("printable ASCII must not be encoded")
        # Reject non-canonical encodings (extra bits left over): re-encoding must give the input.
        if encode(text)[1:-1] != b64:
            raise UTF7Error("non-canonical modified UTF-7")
        out.append(text)
        last_was_encoded = True
    return "".join(out)
