"""Message bytes in chunks: writing, whole and ranged reads with apsw blob I/O, a file-like reader.

A message's bytes are split into ``CHUNK_SIZE`` pieces in the ``chunk`` table (see ``schema``).
A read at an offset looks up the one chunk holding it through the (data_id, seq) index and reads
just the wanted bytes with incremental blob I/O, so its cost does not grow with the offset or the
message size.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import apsw

from app.store.errors import MessageGone
from app.store.schema import CHUNK_SIZE
from app.store.sqlq import q


class PendingText:
    """Full-text rows of one write group, inserted together just before the commit.

    FTS5 writes its in-memory terms out as a new index segment at every savepoint boundary, and
    the writer runs each write in a savepoint: inserting each message's text right away made one
    segment (and merge work) per message, most of a delivery's SQL time. Rows queued here go in
    with one statement at the end of the group, in the same transaction. A journal lets the
    writer take back the rows of a write whose savepoint was rolled back.
    """

    __slots__ = ("_journal", "rows")

    def __init__(self) -> None:
        self.rows: dict[int, str] = {}
        self._journal: list[tuple[int, str | None]] = []

    def add(self, data_id: int, text: str) -> None:
        self._journal.append((data_id, self.rows.get(data_id)))
        self.rows[data_id] = text

    def drop(self, data_id: int) -> bool:
        """Forget a queued row (its data was deleted); False when none was queued."""
        if data_id not in self.rows:
            return False
        self._journal.append((data_id, self.rows.pop(data_id)))
        return True

    def mark(self) -> int:
        return len(self._journal)

    def undo(self, mark: int) -> None:
        """Revert every add/drop since ``mark``."""
        while len(self._journal) > mark:
            data_id, prev = self._journal.pop()
            if prev is None:
                self.rows.pop(data_id, None)
            else:
                self.rows[data_id] = prev

    def flush(self, conn: apsw.Connection) -> None:
        if self.rows:
            conn.executemany("INSERT INTO fts(rowid, text) VALUES (?, ?)", self.rows.items())
        self.rows.clear()
        self._journal.clear()


def write_data(
    conn: apsw.Connection, data: bytes, parsed: bytes, text: str, pending: PendingText | None = None
) -> int:
    """Store the bytes, parsed structure and FTS text of a message; return the new data id.

    With ``pending`` the FTS row is queued there (the writer inserts it before the commit)."""
    n = (len(data) + CHUNK_SIZE - 1) // CHUNK_SIZE
    conn.execute("INSERT INTO msgdata(size, nchunks, parsed) VALUES (?, ?, ?)", (len(data), n, parsed))
    data_id = conn.last_insert_rowid()
    mv = memoryview(data)
    if n == 1:
        conn.execute("INSERT INTO chunk(data_id, seq, data) VALUES (?, 0, ?)", (data_id, data))
    elif n > 1:
        conn.executemany(
            "INSERT INTO chunk(data_id, seq, data) VALUES (?, ?, ?)",
            ((data_id, i, bytes(mv[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE])) for i in range(n)),
        )
    if pending is not None:
        pending.add(data_id, text)
    else:
        conn.execute("INSERT INTO fts(rowid, text) VALUES (?, ?)", (data_id, text))
    return data_id


def drop_unused_data(conn: apsw.Connection, data_ids: set[int], pending: PendingText | None = None) -> None:
    """Delete bytes, structure and FTS rows of data no message refers to any more."""
    for d in data_ids:
        used = q(conn, "SELECT 1 FROM message WHERE data_id = ? LIMIT 1", (d,))
        if used:
            continue
        conn.execute("DELETE FROM chunk WHERE data_id = ?", (d,))
        conn.execute("DELETE FROM msgdata WHERE id = ?", (d,))
        if pending is None or not pending.drop(d):
            conn.execute("DELETE FROM fts WHERE rowid = ?", (d,))


def data_size(conn: apsw.Connection, data_id: int) -> int:
    rows = q(conn, "SELECT size FROM msgdata WHERE id = ?", (data_id,))
    if not rows:
        raise MessageGone(f"message data {data_id} is gone")
    return int(rows[0][0])


def read_all(conn: apsw.Connection, data_id: int) -> bytes:
    """The whole message."""
    with conn:
        size = data_size(conn, data_id)
        parts = [r[0] for r in q(conn, "SELECT data FROM chunk WHERE data_id = ? ORDER BY seq", (data_id,))]
    out = b"".join(parts)
    if len(out) != size:
        raise MessageGone(f"message data {data_id} is incomplete")
    return out


def read_range(conn: apsw.Connection, data_id: int, offset: int, length: int) -> bytes:
    """``length`` bytes from ``offset`` (fewer at the end of the message)."""
    if offset < 0 or length < 0:
        raise ValueError("negative offset or length")
    with conn:
        size = data_size(conn, data_id)
        end = min(size, offset + length)
        out = bytearray()
        pos = offset
        while pos < end:
            seq, within = divmod(pos, CHUNK_SIZE)
            rows = q(conn, "SELECT id FROM chunk WHERE data_id = ? AND seq = ?", (data_id, seq))
            if not rows:
                raise MessageGone(f"message data {data_id} chunk {seq} missing")
            n = min(end - pos, CHUNK_SIZE - within)
            blob = conn.blob_open("main", "chunk", "data", rows[0][0], False)
            try:
                blob.seek(within)
                out += blob.read(n)
            finally:
                blob.close()
            pos += n
    return bytes(out)


class ChunkReader(io.RawIOBase):
    """A read-only, seekable file over a message's bytes; reads a chunk range at a time."""

    def __init__(self, read: Callable[[Callable[[apsw.Connection], Any]], Any], data_id: int) -> None:
        super().__init__()
        self._read = read  # runs a function with a read connection (Account._read)
        self._id = data_id
        self._size = int(read(lambda c: data_size(c, data_id)))
        self._pos = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        p = base + offset
        if p < 0:
            raise ValueError("negative seek position")
        self._pos = p
        return p

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), max(0, self._size - self._pos), CHUNK_SIZE)
        if n <= 0:
            return 0
        data = self._range(self._pos, n)
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(0, self._size - self._pos)
        data = self._range(self._pos, size)
        self._pos += len(data)
        return data

    def _range(self, offset: int, n: int) -> bytes:
        return bytes(self._read(lambda c: read_range(c, self._id, offset, n)))
