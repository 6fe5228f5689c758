"""Reading Dovecot imaptest scripts (the format of the imapwiki "ImapTest/ScriptedTests" page):
a header of ``key: value`` lines, then command groups, each with the commands sent together,
their expected tagged replies and the expected (``*``), forbidden (``!``) or optional (``?``)
untagged replies. Expected lines become argument trees with list-matching directives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Arg = "str | None | list[Arg]"  # atom/string, NIL, list


class ScriptError(ValueError):
    pass


@dataclass
class Command:
    tag_no: int  # 0: not pipelined with an explicit tag
    text: bytes
    reply: list[object] | None  # expected tagged reply args (prefix match); None: given later
    linenum: int


@dataclass
class Untagged:
    existence: str  # "*" must, "!" must not, "?" may
    args: list[object]
    text: str


@dataclass
class Group:
    conn: int
    commands: list[Command] = field(default_factory=list)
    untagged: list[Untagged] = field(default_factory=list)

    def pending(self) -> int:
        return sum(1 for c in self.commands if c.reply is None)


@dataclass
class Script:
    name: str
    capabilities: list[str] = field(default_factory=list)
    connections: int = 1
    state: str = "selected"
    messages: int | None = None  # None: all
    ignore_extra_untagged: bool = True
    extra_users: bool = False
    groups: list[Group] = field(default_factory=list)
    mbox: Path | None = None


# Argument parsing (both for script lines and server responses).


def parse_args(data: bytes) -> list[object]:
    """Parse IMAP arguments: atoms (brackets kept whole, e.g. ``[UIDNEXT 5]``, ``BODY[1]``),
    quoted strings, literals, NIL (None) and parenthesized lists (Python lists)."""
    pos = 0
    n = len(data)
    stack: list[list[object]] = [[]]
    while pos < n:
        c = data[pos]
        if c in (0x20, 0x0D, 0x0A):
            pos += 1
        elif c == 0x28:
            new: list[object] = []
            stack[-1].append(new)
            stack.append(new)
            pos += 1
        elif c == 0x29:
            if len(stack) > 1:
                stack.pop()
            pos += 1
        elif c == 0x22:
            pos += 1
            out = bytearray()
            while pos < n and data[pos] != 0x22:
                if data[pos] == 0x5C and pos + 1 < n:
                    pos += 1
                out.append(data[pos])
                pos += 1
            pos += 1
            stack[-1].append(out.decode("utf-8", "replace"))
        elif c in (0x7B, 0x7E) and _literal_at(data, pos):
            if c == 0x7E:
                pos += 1
            end = data.index(b"}", pos)
            size = int(data[pos + 1 : end].rstrip(b"+"))
            start = data.index(b"\n", end) + 1
            # imaptest compares strings as C strings (strcmp on imap_arg_get_astring), for
            # the script's expectations and the server's replies alike: a literal's value
            # ends at its first NUL octet.
            value = data[start : start + size].split(b"\0", 1)[0]
            stack[-1].append(value.decode("utf-8", "replace"))
            pos = start + size
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = data[pos]
                if ch == 0x5B:
                    depth += 1
                elif ch == 0x5D and depth:
                    depth -= 1
                elif depth == 0 and ch in (0x20, 0x28, 0x29, 0x0D, 0x0A):
                    break
                pos += 1
            atom = data[start:pos].decode("utf-8", "replace")
            stack[-1].append(None if atom.upper() == "NIL" else atom)
    return stack[0]


def _literal_at(data: bytes, pos: int) -> bool:
    end = data.find(b"}", pos)
    if end < 0:
        return False
    inner = data[pos + 1 : end] if data[pos] == 0x7B else data[pos + 2 : end]
    return (inner.rstrip(b"+").isdigit() and data[end + 1 : end + 3] in (b"\r\n",)) or data[
        end + 1 : end + 2
    ] == b"\n"


# Default list directives, as imaptest adds them when a list has none.


def _with_directives(
    args: list[object], reply: str, path: tuple[int, ...], prev_atom: str | None
) -> list[object]:
    has = bool(args) and isinstance(args[0], str) and args[0].startswith("$!")
    out: list[object] = list(args)
    if not has and path:
        if reply in ("list", "lsub") and path == (1,):
            out = ["$!unordered", *out]
        elif (reply == "status" and path == (2,)) or (reply == "fetch" and path == (2,)):
            out = ["$!unordered=2", *out]
        elif reply == "fetch" and len(path) == 2 and path[0] == 2 and prev_atom == "flags":
            out = ["$!ignore=$HasNoAttachment", "$!ignore=$HasAttachment", "$!ignore=\\recent", "$!noextra",
                   "$!unordered", *out]  # fmt: skip
    chain = 1
    for d in out:
        if isinstance(d, str) and d.startswith("$!unordered="):
            chain = int(d.split("=", 1)[1])
    prev: str | None = None
    items = [x for x in out if not (isinstance(x, str) and x.startswith("$!"))]
    nd = len(out) - len(items)
    for i, x in enumerate(out):
        if isinstance(x, str):
            prev = x.lower()
        if isinstance(x, list):
            idx = i - nd
            rel = idx if chain == 1 else idx % chain
            out[i] = _with_directives(x, reply, (*path, rel), prev)
    return out


def expected_args(line: str) -> list[object]:
    args = parse_args(line.encode("utf-8", "surrogateescape"))
    reply = ""
    if args and isinstance(args[0], str):
        reply = args[0]
        if (reply.startswith("$") or reply[:1].isdigit()) and len(args) > 1 and isinstance(args[1], str):
            reply = args[1]
    return _with_directives(args, reply.lower(), (), None)


# Files


def _reply(word: str) -> list[object] | None:
    w = word.lower()
    if w in ("ok", "no", "bad"):
        return [w]
    if w == '""':
        return [""]
    return None


def _split_reply(line: str) -> tuple[int, list[object] | None, str]:
    """(tag number, expected reply or None, rest) for a command or reply line."""
    tag_no = 0
    first, _, rest = line.partition(" ")
    if first.lower().startswith("tag") and first[3:].isdigit():
        tag_no = int(first[3:])
        line = rest
        first, _, rest = line.partition(" ")
    r = _reply(first)
    if r is None:
        return tag_no, None, line
    return tag_no, r, rest


def read_lines(path: Path) -> list[tuple[int, bytes]]:
    """Lines with {{{ ... }}} multi-line literals folded in (as ``{n}CRLF`` + data), the way
    imaptest's test-parser.c builds them, in commands and expected replies alike: the block's
    lines are joined, ``~{{{`` (literal8) keeps each line's bytes as in the file (a CR before
    LF stays, a bare LF stays LF), ``{{{`` ends each line with CRLF, and the line end before
    ``}}}`` is not part of the literal. Text after ``}}}`` continues the line. (imaptest would
    also keep a CR at the end of a ``{{{`` text line, giving CR CR LF; we drop it, which no
    script relies on.)"""
    raw = path.read_bytes().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(raw):
        line = raw[i].rstrip(b"\r")
        start = i + 1
        i += 1
        while line.endswith(b"{{{"):
            binary = line.endswith(b"~{{{")
            head = line[: -4 if binary else -3]
            body: list[bytes] = []
            while i < len(raw) and not raw[i].startswith(b"}}}"):
                body.append(raw[i] if binary else raw[i].rstrip(b"\r"))
                i += 1
            if i >= len(raw):
                raise ScriptError(f"{path.name}: unterminated multi-line literal at line {start}")
            # A binary literal keeps the file's bytes (bare LF stays LF); text lines get CRLF.
            data = (b"\n" if binary else b"\r\n").join(body)
            tail = raw[i][3:].rstrip(b"\r")
            i += 1
            line = head + (b"~" if binary else b"") + b"{%d}\r\n" % len(data) + data + tail
        out.append((start, line))
    return out


def load(path: Path) -> Script:
    sc = Script(name=path.name)
    mbox = path.with_name(path.name + ".mbox")
    sc.mbox = mbox if mbox.exists() else path.with_name("default.mbox")
    lines = read_lines(path)
    header = True
    group: Group | None = None
    for linenum, bline in lines:
        if not bline:
            header = False
            continue
        if bline.startswith(b"#"):
            continue
        line = bline.decode("utf-8", "surrogateescape")
        if header:
            key, _, value = line.partition(":")
            key, value = key.strip().lower(), value.strip()
            if key == "capabilities":
                sc.capabilities = value.split()
            elif key == "connections":
                sc.connections = 2 if value == "n" else int(value)
            elif key == "state":
                sc.state = value.lower()
            elif key == "messages":
                sc.messages = None if value == "all" else int(value)
            elif key.startswith("user "):
                sc.extra_users = True
            elif key == "ignore_extra_untagged":
                sc.ignore_extra_untagged = value.startswith("y")
            else:
                raise ScriptError(f"{path.name}: unknown header {key}")
            continue
        if line.startswith(("!ifenv", "!ifnenv", "!else", "!endif", "!sleep", "!output")):
            continue
        if group is not None:
            if line[:2] in ("* ", "! ", "? "):
                group.untagged.append(Untagged(line[0], expected_args(line[2:]), line[2:]))
                continue
            if group.pending():
                tag_no, reply, tail = _split_reply(line)
                if reply is None and sc.connections > 1:
                    tag_no, reply, tail = _split_reply(line.partition(" ")[2])
                if reply is not None:
                    cmd = next((c for c in group.commands if c.tag_no == tag_no and c.reply is None), None)
                    if cmd is None:
                        raise ScriptError(f"{path.name}:{linenum}: reply for unknown tag")
                    cmd.reply = reply + parse_args(tail.encode("utf-8", "surrogateescape"))
                    continue
        conn = 1
        rest = line
        if sc.connections > 1:
            first, _, rest = line.partition(" ")
            if not first.isdigit():
                raise ScriptError(f"{path.name}:{linenum}: missing connection number")
            conn = int(first)
            sc.connections = max(sc.connections, conn)
        tag_no, reply, text = _split_reply(rest)
        if group is None or group.pending() == 0 or tag_no == 0:
            if group is not None and group.pending():
                raise ScriptError(f"{path.name}:{linenum}: missing reply of previous group")
            group = Group(conn)
            sc.groups.append(group)
        group.commands.append(Command(tag_no, text.encode("utf-8", "surrogateescape"), reply, linenum))
    if group is not None and group.pending():
        raise ScriptError(f"{path.name}: missing reply at end")
    if not any(c.text.lower() == b"logout" for g in sc.groups for c in g.commands):
        sc.groups.append(Group(1, [Command(0, b"logout", ["ok"], 0)]))
    return sc


def mbox_messages(path: Path) -> list[tuple[bytes, str | None]]:
    """Messages of an mbox (CRLF line ends) with the date of their From_ line."""
    msgs: list[tuple[bytes, str | None]] = []
    cur: list[bytes] | None = None
    date: str | None = None
    data = path.read_bytes()
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    for raw in lines:
        if raw.startswith(b"From "):
            if cur is not None:
                msgs.append((_finish(cur), date))
            cur = []
            date = _from_date(raw.decode("latin-1").rstrip("\r"))
            continue
        if cur is not None:
            cur.append(raw.rstrip(b"\r"))
    if cur is not None:
        msgs.append((_finish(cur), date))
    return msgs


def _finish(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


def _from_date(line: str) -> str | None:
    """IMAP date-time from ``From user  Fri Feb 22 17:06:23 2008 [+0200]``."""
    import datetime as dt

    parts = line.split()
    try:
        zone = parts[7] if len(parts) > 7 and parts[7][:1] in "+-" else "+0000"
        t = dt.datetime.strptime(" ".join(parts[2:7]), "%a %b %d %H:%M:%S %Y")
    except (ValueError, IndexError):
        return None
    return t.strftime("%d-%b-%Y %H:%M:%S ") + zone
