"""Splitting a message into header fields and body the way dkimpy does (its ``rfc822_parse``),
without splitting the body into lines: only the header is walked line by line, and the body is
taken as it is when all its line ends are CRLF already (the usual case). DKIM (RFC 6376) hashes
both, so the result must equal dkimpy's to the byte; tests compare the two on random input."""

from __future__ import annotations

import re
from typing import Any

import dkim as dkimpy

_EOL = re.compile(rb"\r?\n")
_NAME = re.compile(rb"([\x21-\x7e]+?):")
_BLANK = re.compile(rb"\n\r?\n")


def parse(message: bytes) -> tuple[list[Any], bytes]:
    """(headers as [name, value-with-CRLF] pairs, body with CRLF line ends), as dkimpy."""
    if message.startswith((b"\n", b"\r\n")):
        head, rest = b"", message[message.index(b"\n") + 1 :]
    else:
        m = _BLANK.search(message)
        if m is None:
            head, rest = message, b""
        else:
            head, rest = message[: m.start()], message[m.end() :]
            if head.endswith(b"\r"):
                head = head[:-1]  # the CR of the last header line's CRLF
    headers: list[Any] = []
    if not head:
        lines: list[bytes] = []
    elif head.count(b"\n") == head.count(b"\r\n"):
        lines = head.split(b"\r\n")  # all CRLF (the usual case): no regex needed
    else:
        lines = _EOL.split(head)
    for line in lines:
        if not line:
            break  # only at the very end: the header ended with a line break
        if line[0] in (0x09, 0x20):  # a continuation (before any field: IndexError, as dkimpy)
            headers[-1][1] += line + b"\r\n"
            continue
        nm = _NAME.match(line)
        if nm is not None:
            headers.append([nm.group(1), line[nm.end(0) :] + b"\r\n"])
        elif not line.startswith(b"From "):
            raise dkimpy.MessageFormatError(f"Unexpected characters in RFC822 header: {line!r}")
    if rest.count(b"\n") != rest.count(b"\r\n"):
        rest = b"\r\n".join(_EOL.split(rest))
    return headers, rest
