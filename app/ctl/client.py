"""The CLI side of the control channel: a blocking client (no asyncio needed in the CLI)."""

from __future__ import annotations

import base64
import io
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO

from app.ctl.protocol import CtlError, decode, encode


def _connect(path: Path) -> tuple[socket.socket, str | None]:
    if path.is_file():
        _kind, addr, token = path.read_text().split()
        host, _, port = addr.rpartition(":")
        return socket.create_connection((host, int(port))), token
    if not hasattr(socket, "AF_UNIX"):
        raise CtlError(f"no control socket at {path}")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
    except OSError as e:
        s.close()
        raise CtlError(f"cannot connect to the running server at {path}: {e.strerror or e} (is it running?)")
    return s, None


def _start(path: Path, cmd: str, args: list[Any]) -> tuple[socket.socket, io.BufferedRWPair]:
    """Connect, authenticate where a token is needed, and send the command."""
    sock, token = _connect(path)
    f = sock.makefile("rwb")
    if token is not None:
        f.write(encode({"token": token}))
    f.write(encode({"cmd": cmd, "args": args}))
    f.flush()
    return sock, f


def _frame(f: io.BufferedRWPair) -> dict[str, Any]:
    line = f.readline()
    if not line:
        raise CtlError("server closed the control connection")
    return decode(line)


def call(
    path: Path,
    cmd: str,
    args: list[Any] | None = None,
    out: IO[str] | None = None,
    data: Iterable[bytes] | Callable[[], Iterable[bytes]] | None = None,
) -> Any:
    """Run a control command; print its output to ``out``; return its result or raise CtlError."""
    out = out or sys.stdout
    sock, f = _start(path, cmd, args or [])
    with sock:
        while True:
            frame = _frame(f)
            if "out" in frame:
                out.write(str(frame["out"]))
                out.flush()
            elif frame.get("need") == "data":
                chunks = data() if callable(data) else (data or [])
                for chunk in chunks:
                    for i in range(0, len(chunk), 1 << 20):
                        f.write(encode({"data": base64.b64encode(chunk[i : i + (1 << 20)]).decode()}))
                f.write(encode({"eof": True}))
                f.flush()
            elif "error" in frame:
                raise CtlError(str(frame["error"]))
            elif frame.get("ok"):
                return frame.get("result")


def pipe(path: Path, cmd: str, args: list[Any], stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Run a control command that takes the connection over as a byte stream (``raw`` frame),
    then copy ``stdin`` to the server and the server's bytes to ``stdout`` until it closes.
    Raises CtlError when the server cannot be reached or refuses the command."""
    sock, f = _start(path, cmd, args)
    with sock:
        while True:
            frame = _frame(f)
            if "error" in frame:
                raise CtlError(str(frame["error"]))
            if frame.get("raw"):
                break

        def upstream() -> None:
            # Threads rather than select(): stdin may be a pipe, which Windows cannot select on.
            try:
                while chunk := stdin.read1(64 * 1024) if hasattr(stdin, "read1") else stdin.read(4096):
                    sock.sendall(chunk)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        threading.Thread(target=upstream, name="ctl-pipe-in", daemon=True).start()
        while chunk := f.read1(64 * 1024):
            stdout.write(chunk)
            stdout.flush()
