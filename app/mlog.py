"""Structured logging in logfmt to stderr, with per-package levels and connection ids.

Lines look like ``l=info m="message delivered" pkg=smtpserver cid=1a2b3c key=value``. The
levels are mox's: error, info, debug, trace, traceauth (protocol lines including
authentication data) and tracedata (protocol lines including message data).

Usage::

    log = mlog.get("smtpserver")
    clog = log.with_(cid=mlog.new_cid())
    clog.info("connection", remote="127.0.0.1:5555")
    clog.error("delivery failed", err=exc)
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

ERROR = 0
INFO = 1
DEBUG = 2
TRACE = 3
TRACEAUTH = 4
TRACEDATA = 5

LEVELS: dict[str, int] = {
    "error": ERROR,
    "info": INFO,
    "debug": DEBUG,
    "trace": TRACE,
    "traceauth": TRACEAUTH,
    "tracedata": TRACEDATA,
}
_NAMES = {v: k for k, v in LEVELS.items()}


class _State:
    """Process-wide logging settings; replaced whole so readers never see a half update."""

    def __init__(self, default: int, packages: Mapping[str, int], out: IO[str]) -> None:
        self.default = default
        self.packages = dict(packages)
        self.out = out
        self.lock = threading.Lock()
        self.timestamps = False


_state = _State(INFO, {}, sys.stderr)


def _after_fork_in_child() -> None:
    # Another thread may have held the output lock at the fork; the child has only the forking
    # thread, so that lock would never be released there (import worker processes log).
    _state.lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
_cid_counter = itertools.count(int.from_bytes(os.urandom(3), "big") << 16)


def parse_level(name: str) -> int:
    """Return the numeric level for a level name, raising ValueError for an unknown one."""
    try:
        return LEVELS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown log level {name!r}, expected one of {', '.join(LEVELS)}") from None


def configure(
    default: str | int = INFO,
    packages: Mapping[str, str | int] | None = None,
    out: IO[str] | None = None,
    timestamps: bool = False,
) -> None:
    """Set the default level and per-package levels (mox's LogLevel and PackageLogLevels)."""
    d = parse_level(default) if isinstance(default, str) else default
    pk = {k: parse_level(v) if isinstance(v, str) else v for k, v in (packages or {}).items()}
    global _state
    st = _State(d, pk, out or _state.out)
    st.timestamps = timestamps
    _state = st


def new_cid() -> int:
    """Return a new connection id, unique within this process (random start, then counting)."""
    return next(_cid_counter)


def _quote(v: object) -> str:
    if isinstance(v, BaseException):
        s = f"{type(v).__name__}: {v}" if str(v) else type(v).__name__
    elif isinstance(v, bytes):
        s = v.decode("utf-8", "backslashreplace")
    elif isinstance(v, float):
        s = f"{v:.6g}"
    elif isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    else:
        s = str(v)
    if not s.isascii():
        # Lone surrogates (undecodable input) must not make the line unwritable.
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    if s and all(c > " " and c not in '"=\\' and c.isprintable() for c in s):
        return s
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    s = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in s)
    return f'"{s}"'


def format_line(level: int, msg: str, pkg: str, fields: Mapping[str, Any]) -> str:
    """Format one logfmt line (without newline)."""
    parts = [f"l={_NAMES.get(level, str(level))}", f"m={_quote(msg)}", f"pkg={pkg}"]
    for k, v in fields.items():
        if v is None:
            continue
        if k == "cid" and isinstance(v, int):
            parts.append(f"cid={v:x}")
        else:
            parts.append(f"{k}={_quote(v)}")
    return " ".join(parts)


class Log:
    """A logger for one package with fixed fields (such as the connection id)."""

    __slots__ = ("fields", "pkg")

    def __init__(self, pkg: str, fields: Mapping[str, Any] | None = None) -> None:
        self.pkg = pkg
        self.fields: dict[str, Any] = dict(fields or {})

    def with_(self, **fields: Any) -> Log:
        """Return a logger that adds these fields to every line."""
        return Log(self.pkg, {**self.fields, **fields})

    def enabled(self, level: int) -> bool:
        """Whether a line at this level would be written."""
        st = _state
        return level <= st.packages.get(self.pkg, st.default)

    def log(self, level: int, msg: str, **fields: Any) -> None:
        st = _state
        if level > st.packages.get(self.pkg, st.default):
            return
        line = format_line(level, msg, self.pkg, {**self.fields, **fields})
        if st.timestamps:
            line = f"t={time.strftime('%Y-%m-%dT%H:%M:%S')} " + line
        with st.lock:
            try:
                st.out.write(line + "\n")
                st.out.flush()
            except (OSError, ValueError):
                pass

    def error(self, msg: str, **fields: Any) -> None:
        self.log(ERROR, msg, **fields)

    def info(self, msg: str, **fields: Any) -> None:
        self.log(INFO, msg, **fields)

    def debug(self, msg: str, **fields: Any) -> None:
        self.log(DEBUG, msg, **fields)

    def trace(self, msg: str, **fields: Any) -> None:
        self.log(TRACE, msg, **fields)

    def exception(self, msg: str, exc: BaseException, **fields: Any) -> None:
        """Log an unexpected exception with its traceback (for server faults, never sent to clients)."""
        import traceback

        tb = "".join(traceback.format_exception(exc)).rstrip()
        self.log(ERROR, msg, err=exc, traceback=tb, **fields)


def get(pkg: str) -> Log:
    """Return the logger of a package (a short name such as ``smtpserver``)."""
    return Log(pkg)
