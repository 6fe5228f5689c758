"""Frame encoding for the control channel (see app/ctl/__init__.py)."""

from __future__ import annotations

import json
from typing import Any

MAX_FRAME = 4 * 1024 * 1024


class CtlError(Exception):
    """An error reported by a control handler, or a broken control connection."""


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_FRAME:
        raise CtlError("control frame too large")
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise CtlError(f"bad control frame: {e}") from None
    if not isinstance(obj, dict):
        raise CtlError("bad control frame: not an object")
    return obj
