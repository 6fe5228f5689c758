"""Running an imaptest script against a server: connections, setup state (nonauth, auth,
created, appended, selected), pipelined command groups, and matching of untagged and tagged
replies with ``$variables``, ``$N`` relative sequence numbers and list directives, following
imaptest's matching rules.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

from tests.imaptest.script import Command, Group, Script, mbox_messages, parse_args

MAILBOX = "imaptest"
VAR_CHARS = re.compile(r"[A-Za-z0-9_]*")


class Failure(AssertionError):
    pass


@dataclass
class Response:
    tag: str  # "*" untagged, "+" continuation
    raw: bytes
    args: list[object]


class Client:
    def __init__(self, port: int, idx: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.buf = b""
        self.idx = idx
        self.tagno = 0
        self.exists = 0
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                raise Failure(f"connection {self.idx} closed by server")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure("connection closed inside literal")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self) -> Response:
        line = self._line()
        raw = line
        while True:
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                break
            data = self._exact(int(m.group(1)))
            line = self._line()
            raw += b"\r\n" + data + line
        tag, _, rest = raw.partition(b" ")
        args = parse_args(rest)
        r = Response(tag.decode("ascii", "replace"), raw, args)
        if (
            r.tag == "*"
            and len(args) >= 2
            and isinstance(args[0], str)
            and args[0].isdigit()
            and isinstance(args[1], str)
        ):
            if args[1].upper() == "EXISTS":
                self.exists = int(args[0])
            elif args[1].upper() == "EXPUNGE":
                self.exists -= 1
        return r

    def next_tag(self) -> str:
        self.tagno += 1
        return f"{self.idx}.{self.tagno}"

    def simple(self, cmd: bytes, literal: bytes | None = None) -> Response:
        """Run a setup command; raise Failure unless it ends OK."""
        tag = self.next_tag()
        if literal is None:
            self.send(tag.encode() + b" " + cmd + b"\r\n")
        else:
            self.send(tag.encode() + b" " + cmd + b" {%d}\r\n" % len(literal))
            while (r := self.read()).tag != "+":
                if r.tag == tag:
                    raise Failure(f"setup {cmd!r}: {r.raw!r}")
            self.send(literal + b"\r\n")
        while True:
            r = self.read()
            if r.tag == tag:
                if not r.args or str(r.args[0]).upper() != "OK":
                    raise Failure(f"setup {cmd!r} failed: {r.raw!r}")
                return r


@dataclass
class Matcher:
    variables: dict[str, str] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    seqmap: list[int] = field(default_factory=list)

    def relative_seq(self, n: int) -> str:
        if n == 0 or n > len(self.seqmap):
            return "<out of range>"
        return str(self.seqmap[n - 1]) if self.seqmap[n - 1] else "<expunged>"

    def expand_all(self, text: bytes) -> bytes:
        """Variables in a command line (all must be known)."""
        out = bytearray()
        i = 0
        while i < len(text):
            c = text[i : i + 1]
            if c != b"$" or i + 1 == len(text):
                out += c
                i += 1
                continue
            i += 1
            if text[i : i + 1] == b"$":
                out += b"$"
                i += 1
                continue
            if text[i : i + 1] == b"{":
                end = text.index(b"}", i)
                name = text[i + 1 : end].decode()
                i = end + 1
            else:
                m = VAR_CHARS.match(text.decode("latin-1"), i)
                assert m is not None
                name = m.group(0)
                i = m.end()
            if name.isdigit():
                out += self.relative_seq(int(name)).encode()
                continue
            if name not in self.variables:
                raise Failure(f"uninitialized variable ${name}")
            out += self.variables[name].encode()
        return bytes(out)

    def expand_input(self, pat: str, inp: str) -> str | None:
        """Match pat (with $vars) against inp, binding unknown variables; the expanded text."""
        out: list[str] = []
        i = j = 0
        while i < len(pat):
            if pat[i] != "$" or pat[i + 1 : i + 2] == "$":
                if pat[i] == "$":
                    i += 1
                if j >= len(inp) or pat[i].upper() != inp[j].upper():
                    return None
                out.append(pat[i])
                i += 1
                j += 1
                continue
            i += 1
            if pat[i : i + 1] == "{":
                end = pat.index("}", i)
                name = pat[i + 1 : end]
                i = end + 1
            else:
                m = VAR_CHARS.match(pat, i)
                assert m is not None
                name = m.group(0)
                i = m.end()
            if name.isdigit():
                value = self.relative_seq(int(name))
            else:
                known = self.variables.get(name) if name else None
                if known is None:
                    nxt = pat[i] if i < len(pat) else ""
                    k = j
                    while k < len(inp) and (nxt == "" or inp[k].upper() != nxt.upper()):
                        k += 1
                    value = inp[j:k]
                    if name:
                        self.variables[name] = value
                        self.added.append(name)
                else:
                    value = known
            out.append(value)
            if not inp.startswith(value, j):
                return None
            j += len(value)
        return "".join(out)

    def match_args(self, match: list[object], args: list[object], prefix: bool) -> bool:
        i = 0
        while i < len(match):
            m = match[i]
            if i >= len(args):
                return False
            a = args[i]
            if m is None:
                if a is not None:
                    return False
            elif isinstance(m, str):
                if m == "$" and isinstance(a, list):
                    i += 1
                    continue
                if not isinstance(a, str):
                    return False
                exp = self.expand_input(m, a)
                if exp is None:
                    return False
                if prefix and i == len(match) - 1:
                    if not a.lower().startswith(exp.lower()):
                        return False
                elif a.lower() != exp.lower():
                    return False
            else:
                assert isinstance(m, list)
                if not isinstance(a, list) or not self.match_list(m, a):
                    return False
            i += 1
        return prefix or len(args) == len(match)

    def match_list(self, match: list[object], args: list[object]) -> bool:
        unordered = False
        chain = 1
        noextra = -1
        ignores: list[str] = []
        bans: list[str] = []
        k = 0
        while k < len(match) and isinstance(match[k], str) and str(match[k]).startswith("$!"):
            d = str(match[k])[2:]
            if d.startswith("unordered"):
                unordered = True
                if noextra == -1:
                    noextra = 0
                if d.startswith("unordered="):
                    chain = int(d[10:])
            elif d == "ordered":
                unordered = False
            elif d == "extra":
                noextra = 0
            elif d == "noextra":
                noextra = 1
            elif d.startswith("ignore="):
                ignores.append(d[7:].lower())
            elif d.startswith("ban="):
                bans.append(d[4:].lower())
            k += 1
        body = match[k:]
        if noextra == -1:
            noextra = 1
        if not unordered:
            return self.match_args(body, args, False)
        if len(args) % chain:
            return False
        used = [False] * len(args)
        for mi in range(0, len(body), chain):
            for ai in range(0, len(args), chain):
                if used[ai]:
                    continue
                if self.match_args(body[mi : mi + chain], args[ai : ai + chain], False):
                    used[ai] = True
                    break
            else:
                return False
        for ai in range(0, len(args), chain):
            if used[ai] or not isinstance(args[ai], str):
                continue
            word = str(args[ai]).lower()
            if noextra and word not in ignores:
                return False
            if not noextra and word in bans:
                return False
        return True

    def try_match(self, match: list[object], args: list[object], prefix: bool) -> bool:
        """Match, undoing variable bindings of a failed attempt."""
        self.added = []
        ok = self.match_args(match, args, prefix)
        if not ok:
            for name in self.added:
                self.variables.pop(name, None)
        self.added = []
        return ok


class Run:
    def __init__(self, script: Script, port: int, user: str, password: str) -> None:
        self.script = script
        self.port = port
        self.user = user
        self.password = password
        self.m = Matcher({"mailbox": MAILBOX, "user": user, "username": user, "password": password,
                          "domain": "localhost"})  # fmt: skip
        self.messages = mbox_messages(script.mbox) if script.mbox else []
        self.next_msg = 0
        self.clients: list[Client] = []

    def message(self) -> tuple[bytes, str | None]:
        if not self.messages:
            raise Failure("no messages in mbox")
        msg = self.messages[self.next_msg % len(self.messages)]
        self.next_msg += 1
        return msg

    def setup(self) -> None:
        sc = self.script
        for i in range(sc.connections):
            c = Client(self.port, i + 1)
            greeting = c.read()
            if greeting.tag != "*":
                raise Failure(f"bad greeting {greeting.raw!r}")
            self.clients.append(c)
        if sc.state == "nonauth":
            return
        for c in self.clients:
            c.simple(b"LOGIN " + self.user.encode() + b" " + self.password.encode())
        if sc.state == "auth":
            return
        first = self.clients[0]
        first.simple(b"CREATE " + MAILBOX.encode())
        if sc.state == "created":
            return
        count = len(self.messages) if sc.messages is None else sc.messages
        for _ in range(count):
            data, date = self.message()
            first.simple(
                b"APPEND " + MAILBOX.encode() + (b' "' + date.encode() + b'"' if date else b""), data
            )
        if sc.state == "appended":
            return
        for c in self.clients:
            c.simple(b"SELECT " + MAILBOX.encode())

    def _send(self, c: Client, cmd: Command, tag: str, expect_tagged: dict[str, Command]) -> None:
        text = self.m.expand_all(cmd.text)
        low = text.lower()
        if low == b"append" or (low.startswith(b"append ") and not _has_body(text)):
            data, _date = self.message()
            args = text[7:] if low.startswith(b"append ") else MAILBOX.encode()
            text = b"APPEND " + args + b" {%d}\r\n" % len(data) + data
        parts = re.split(rb"(~?\{\d+\}\r\n)", text)
        out = tag.encode() + b" " + parts[0]
        for k in range(1, len(parts), 2):
            c.send(out + parts[k])
            while True:  # wait for the continuation request
                r = c.read()
                if r.tag == "+":
                    break
                self.pending.append(r)
                if r.tag == tag:
                    return
            out = parts[k + 1]
        c.send(out + b"\r\n")

    def run_group(self, g: Group) -> list[str]:
        c = self.clients[g.conn - 1]
        errors: list[str] = []
        self.m.seqmap = list(range(1, c.exists + 1))
        self.pending: list[Response] = []
        tags: dict[str, Command] = {}
        for cmd in g.commands:
            tag = c.next_tag()
            tags[tag] = cmd
            self._send(c, cmd, tag, tags)
        found = [False] * len(g.untagged)
        remaining = set(tags)
        first_tag = next(iter(tags))
        received: list[bytes] = []
        bye_expected = any(u.existence == "*" and u.text.lower().startswith("bye") for u in g.untagged)
        while remaining:
            if self.pending:
                r = self.pending.pop(0)
            else:
                try:
                    r = c.read()
                except Failure:
                    if bye_expected or any(t.text.lower() == b"logout" for t in tags.values()):
                        break
                    raise
            if r.tag == "*":
                received.append(r.raw)
                self._untagged(g, r, found, first_tag, errors)
                continue
            if r.tag in remaining:
                remaining.discard(r.tag)
                cmd = tags[r.tag]
                self.m.variables["tag"] = r.tag
                assert cmd.reply is not None
                if not self.m.try_match(cmd.reply, r.args, True):
                    errors.append(f"line {cmd.linenum}: {cmd.text!r}: expected {cmd.reply}, got {r.raw!r}")
                self.m.variables.pop("tag", None)
        for u, f in zip(g.untagged, found, strict=True):
            if u.existence == "*" and not f:
                errors.append(
                    f"line {g.commands[0].linenum}: {g.commands[0].text!r}: missing untagged: {u.text}"
                )
        if errors:
            errors.append("received: " + "\n".join(repr(x[:300]) for x in received[:20]))
        return errors

    def _untagged(self, g: Group, r: Response, found: list[bool], tag: str, errors: list[str]) -> None:
        prefix = (
            bool(r.args) and isinstance(r.args[0], str) and r.args[0].upper() in ("OK", "NO", "BAD", "BYE")
        )
        self.m.variables["tag"] = tag
        try:
            for i, u in enumerate(g.untagged):
                if found[i]:
                    continue
                if self.m.try_match(u.args, r.args, prefix):
                    if u.existence == "!":
                        errors.append(f"line {g.commands[0].linenum}: forbidden untagged matched: {r.raw!r}")
                        return
                    found[i] = True
        finally:
            self.m.variables.pop("tag", None)
        a = r.args
        if len(a) >= 2 and isinstance(a[0], str) and a[0].isdigit() and str(a[1]).upper() == "EXPUNGE":
            seq = int(a[0])
            for k, v in enumerate(self.m.seqmap):
                if v == seq:
                    self.m.seqmap[k] = 0
                elif v > seq:
                    self.m.seqmap[k] = v - 1

    def run(self) -> list[str]:
        errors: list[str] = []
        try:
            self.setup()
            for g in self.script.groups:
                errors.extend(self.run_group(g))
                if errors:
                    break
        finally:
            for c in self.clients:
                try:
                    c.sock.close()
                except OSError:
                    pass
        return errors


def _has_body(text: bytes) -> bool:
    """Whether an APPEND command line already carries its message (literal or CATENATE)."""
    args = parse_args(text[7:].split(b"\r\n", 1)[0] + b" ")
    return bool(re.search(rb"~?\{\d+\+?\}\r\n", text)) or any(
        isinstance(a, str) and a.upper() == "CATENATE" for a in args
    )
