"""MD5 (RFC 1321) with an exportable and resumable internal state.

CRAM-MD5 (RFC 2195) is HMAC-MD5 keyed with the password. HMAC (RFC 2104) first hashes one
64-byte block of ``key XOR ipad`` (resp. ``opad``); the MD5 chaining values after that block
can be stored instead of the password (as mox and Dovecot do) and resumed for each challenge.
hashlib cannot import a state, hence this small pure-Python MD5, used only on a few blocks.
"""

from __future__ import annotations

import math
import struct

_MASK = 0xFFFFFFFF
_SHIFTS = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_K = [int(abs(math.sin(i + 1)) * 2**32) & _MASK for i in range(64)]
INITIAL_STATE = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)

State = tuple[int, int, int, int]


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _MASK


def compress(state: State, block: bytes) -> State:
    """Process one 64-byte block; returns the new chaining values."""
    a, b, c, d = state
    m = struct.unpack("<16I", block)
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | (~d & _MASK)), (7 * i) % 16
        f = (f + a + _K[i] + m[g]) & _MASK
        a, d, c = d, c, b
        b = (b + _rotl(f, _SHIFTS[i])) & _MASK
    return ((state[0] + a) & _MASK, (state[1] + b) & _MASK, (state[2] + c) & _MASK, (state[3] + d) & _MASK)


def resume(state: State, data: bytes, done: int) -> bytes:
    """The MD5 digest of a message whose first ``done`` bytes (a multiple of 64) gave
    ``state`` and whose remaining bytes are ``data``."""
    if done % 64:
        raise ValueError("resumed MD5 state must be at a block boundary")
    total = done + len(data)
    padded = data + b"\x80" + b"\0" * ((55 - total) % 64) + struct.pack("<Q", (total * 8) & (2**64 - 1))
    for off in range(0, len(padded), 64):
        state = compress(state, padded[off : off + 64])
    return struct.pack("<4I", *state)


def pack_state(state: State) -> bytes:
    return struct.pack("<4I", *state)


def unpack_state(raw: bytes) -> State:
    if len(raw) != 16:
        raise ValueError("MD5 state must be 16 bytes")
    a, b, c, d = struct.unpack("<4I", raw)
    return (a, b, c, d)
