"""The opaque id in Received headers: the connection id encrypted with a key from the data
directory, so log lines of a connection can be found from a message's headers (``moxpy cid``)
without telling the world how many connections the server handles (mox's ``mox-/recvid.go``).

The 8-byte connection id is encrypted as one AES block (AES-128-ECB over a single 16-byte block
holding the id and an 8-byte check value, so decryption can tell a bad id from a good one) and
written in URL-safe base64 without padding. The key is 16 random bytes in
``<DataDir>/receivedid.key``, created on first use.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_FILE = "receivedid.key"
_CHECK = b"moxpycid"


class RecvIDError(ValueError):
    """The id is malformed or was not made with this key."""


def load_key(data_dir: Path) -> bytes:
    """Read the key, creating it (mode 0600, written atomically) when missing."""
    path = data_dir / KEY_FILE
    try:
        key = path.read_bytes()
        if len(key) == 16:
            return key
        raise RecvIDError(f"{path}: key must be 16 bytes, is {len(key)}")
    except FileNotFoundError:
        pass
    key = os.urandom(16)
    tmp = path.with_name(KEY_FILE + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # fails if another process created it first: use theirs
    except FileExistsError:
        key = path.read_bytes()
    except OSError:
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return key


class RecvID:
    """Encrypts and decrypts connection ids with one key."""

    def __init__(self, key: bytes) -> None:
        self._cipher = Cipher(algorithms.AES(key), modes.ECB())

    def encode(self, cid: int) -> str:
        block = (cid & (2**64 - 1)).to_bytes(8, "big") + _CHECK
        enc = self._cipher.encryptor()
        return base64.urlsafe_b64encode(enc.update(block) + enc.finalize()).rstrip(b"=").decode()

    def decode(self, text: str) -> int:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError:
            raise RecvIDError("invalid base64") from None
        if len(raw) != 16:
            raise RecvIDError("wrong length")
        dec = self._cipher.decryptor()
        block = dec.update(raw) + dec.finalize()
        if block[8:] != _CHECK:
            raise RecvIDError("not an id of this server (wrong key?)")
        return int.from_bytes(block[:8], "big")
