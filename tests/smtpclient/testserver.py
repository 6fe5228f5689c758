"""A small SMTP server for tests of the SMTP client and the queue (runs on 127.0.0.1, port 0).

It speaks enough ESMTP to exercise the client: a configurable EHLO extension list, STARTTLS,
AUTH PLAIN/CRAM-MD5/SCRAM-SHA-256, PIPELINING (replies are produced in order as commands
arrive), CHUNKING (BDAT), DSN parameters, per-recipient replies chosen by localpart, and
scripted DATA replies. Received transactions are recorded in ``server.messages``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import ssl
from dataclasses import dataclass, field
from typing import Any


def _path(s: str) -> tuple[str, str]:
    end = s.index(">")
    return s[1:end], s[end + 1 :].strip()


@dataclass
class Received:
    mail_from: str
    mail_params: str
    rcpts: list[tuple[str, str]]  # (address, params)
    data: bytes
    tls: bool
    auth_user: str


@dataclass
class SMTPTestServer:
    extensions: list[str] = field(
        default_factory=lambda: [
            "PIPELINING",
            "8BITMIME",
            "SIZE 10000000",
            "ENHANCEDSTATUSCODES",
            "SMTPUTF8",
            "DSN",
        ]
    )
    tls_context: ssl.SSLContext | None = None
    cert_der: bytes | None = None  # for channel binding with -PLUS mechanisms
    implicit_tls: ssl.SSLContext | None = None  # TLS from the first byte (submissions)
    users: dict[str, str] = field(default_factory=dict)
    auth_mechs: list[str] = field(default_factory=lambda: ["PLAIN", "CRAM-MD5", "SCRAM-SHA-256"])
    data_replies: list[str] = field(default_factory=list)  # popped per DATA; default 250
    inject_after_starttls: bool = False
    greeting: str = "220 test.example ESMTP"
    messages: list[Received] = field(default_factory=list)
    connections: int = 0
    active: int = 0
    peak_active: int = 0
    data_delay: float = 0.0
    transcript: list[bytes] = field(default_factory=list)
    port: int = 0
    _server: asyncio.AbstractServer | None = None
    _conns: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, host: str = "127.0.0.1") -> SMTPTestServer:
        self._server = await asyncio.start_server(self._handle, host, 0, ssl=self.implicit_tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self._conns):
                t.cancel()
            await self._server.wait_closed()

    def rcpt_reply(self, addr: str) -> str:
        local = addr.split("@")[0].lower()
        if local.startswith("temp"):
            return "451 4.2.0 try again later"
        if local.startswith("perm"):
            return "550 5.1.1 no such user"
        return "250 2.1.5 ok"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self.connections += 1
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        tls = self.implicit_tls is not None
        user = ""
        mail: tuple[str, str] | None = None
        rcpts: list[tuple[str, str]] = []
        accepted = 0

        async def send(line: str) -> None:
            self.transcript.append(b"S: " + line.encode())
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        try:
            await send(self.greeting)
            while True:
                raw = await reader.readline()
                if not raw:
                    return
                self.transcript.append(b"C: " + raw)
                assert raw.endswith(b"\r\n"), raw
                line = raw[:-2].decode("utf-8")
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb in ("EHLO", "HELO"):
                    exts = list(self.extensions)
                    if self.tls_context is not None and not tls:
                        exts.append("STARTTLS")
                    if self.users:
                        exts.append("AUTH " + " ".join(self.auth_mechs))
                    lines = ["test.example", *exts]
                    for i, x in enumerate(lines):
                        await send(f"250{'-' if i < len(lines) - 1 else ' '}{x}")
                elif verb == "STARTTLS" and self.tls_context is not None:
                    if self.inject_after_starttls:
                        writer.write(b"220 go ahead\r\n250 injected\r\n")
                        await writer.drain()
                    else:
                        await send("220 2.0.0 go ahead")
                    await writer.start_tls(self.tls_context)
                    tls = True
                elif verb == "AUTH":
                    user = await self._auth(arg, reader, send)
                    if not user:
                        continue
                elif verb == "MAIL":
                    path, params = _path(arg[5:])
                    mail = (path, params)
                    rcpts, accepted = [], 0
                    await send("250 2.1.0 ok")
                elif verb == "RCPT":
                    addr, params = _path(arg[3:])
                    rcpts.append((addr, params))
                    r = self.rcpt_reply(addr)
                    if r.startswith("250"):
                        accepted += 1
                    await send(r)
                elif verb == "DATA":
                    if mail is None or not accepted:
                        await send("554 5.5.1 no valid recipients")
                        continue
                    await send("354 go")
                    buf = bytearray()
                    while True:
                        ln = await reader.readline()
                        if ln == b".\r\n":
                            break
                        if ln.startswith(b"."):
                            ln = ln[1:]
                        buf += ln
                    await self._finish(mail, rcpts, bytes(buf), tls, user, send)
                    mail = None
                elif verb == "BDAT":
                    parts = arg.split()
                    data = await reader.readexactly(int(parts[0]))
                    assert mail is not None and parts[-1].upper() == "LAST"
                    await self._finish(mail, rcpts, data, tls, user, send)
                    mail = None
                elif verb == "RSET":
                    mail, rcpts, accepted = None, [], 0
                    await send("250 2.0.0 ok")
                elif verb == "QUIT":
                    await send("221 2.0.0 bye")
                    return
                elif verb == "NOOP":
                    await send("250 2.0.0 ok")
                else:
                    await send("500 5.5.2 unknown command")
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            return
        finally:
            self.active -= 1
            self._conns.discard(task)
            writer.close()

    async def _finish(
        self,
        mail: tuple[str, str],
        rcpts: list[tuple[str, str]],
        data: bytes,
        tls: bool,
        user: str,
        send: object,
    ) -> None:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        reply = self.data_replies.pop(0) if self.data_replies else "250 2.0.0 queued"
        if reply.startswith("250"):
            good = [r for r in rcpts if self.rcpt_reply(r[0]).startswith("250")]
            self.messages.append(Received(mail[0], mail[1], good, data, tls, user))
        assert callable(send)
        await send(reply)

    async def _auth_plus(self, mech: str, initial: str, reader: asyncio.StreamReader, send: Any) -> str:
        # SCRAM -PLUS through app.sasl's server, bound to our certificate (tls-server-end-point).
        from app import sasl

        creds = {u: sasl.derive_credentials(p, 4096) for u, p in self.users.items()}
        assert self.cert_der is not None
        server = sasl.new_server(
            mech,
            creds.get,
            channel_bindings={"tls-server-end-point": sasl.tls_server_end_point(self.cert_der)},
        )
        assert server is not None
        resp: bytes | None = base64.b64decode(initial) if initial else None
        while True:
            out = server.step(resp)
            if isinstance(out, sasl.Challenge):
                await send("334 " + base64.b64encode(out.data).decode())
                line = (await reader.readline()).strip()
                if line == b"*":
                    await send("501 5.0.0 cancelled")
                    return ""
                resp = base64.b64decode(line)
            elif isinstance(out, sasl.Success):
                await send("235 2.7.0 authenticated")
                return out.username
            else:
                await send("535 5.7.8 bad credentials")
                return ""

    async def _auth(self, arg: str, reader: asyncio.StreamReader, send: object) -> str:
        assert callable(send)
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()

        async def challenge(data: bytes) -> bytes:
            await send("334 " + base64.b64encode(data).decode())
            line = (await reader.readline()).strip()
            return base64.b64decode(line)

        if mech.endswith("-PLUS"):
            return await self._auth_plus(mech, initial, reader, send)
        if mech == "PLAIN":
            _, u, p = base64.b64decode(initial).split(b"\0")
            ok = self.users.get(u.decode()) == p.decode()
            user = u.decode()
        elif mech == "CRAM-MD5":
            chal = b"<1234.5678@test.example>"
            resp = (await challenge(chal)).decode()
            user, _, digest = resp.partition(" ")
            pw = self.users.get(user, "")
            ok = hmac.compare_digest(digest, hmac.new(pw.encode(), chal, hashlib.md5).hexdigest())
        elif mech == "SCRAM-SHA-256":
            client_first = base64.b64decode(initial).decode()
            bare = client_first[3:]
            attrs = dict(x.split("=", 1) for x in bare.split(","))
            user = attrs["n"]
            salt, iters = os.urandom(16), 4096
            nonce = attrs["r"] + base64.b64encode(os.urandom(12)).decode()
            server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={iters}"
            client_final = (await challenge(server_first.encode())).decode()
            without_proof, _, proof_b64 = client_final.rpartition(",p=")
            auth_msg = f"{bare},{server_first},{without_proof}".encode()
            salted = hashlib.pbkdf2_hmac("sha256", self.users.get(user, "").encode(), salt, iters)
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            sig = hmac.new(hashlib.sha256(client_key).digest(), auth_msg, "sha256").digest()
            proof = base64.b64decode(proof_b64)
            got_key = bytes(a ^ b for a, b in zip(proof, sig, strict=True))
            ok = user in self.users and hmac.compare_digest(
                hashlib.sha256(got_key).digest(), hashlib.sha256(client_key).digest()
            )
            if ok:
                server_sig = hmac.new(
                    hmac.new(salted, b"Server Key", "sha256").digest(), auth_msg, "sha256"
                ).digest()
                await challenge(b"v=" + base64.b64encode(server_sig))
        else:
            await send("504 5.5.4 unrecognized mechanism")
            return ""
        if ok:
            await send("235 2.7.0 authenticated")
            return user
        await send("535 5.7.8 bad credentials")
        return ""
