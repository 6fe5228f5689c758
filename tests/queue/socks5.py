"""A minimal SOCKS5 proxy (RFC 1928, no authentication, CONNECT only) for the Socks transport
test; it records the destinations it was asked for."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass, field


@dataclass
class Socks5Proxy:
    resolve: dict[str, str]  # host name -> IP the proxy connects to
    port_map: dict[int, int] = field(default_factory=dict)  # requested port -> real port
    requests: list[tuple[str, int]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> Socks5Proxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            ver, n = await r.readexactly(2)
            methods = await r.readexactly(n)
            if ver != 5 or 0 not in methods:
                w.write(b"\x05\xff")
                return
            w.write(b"\x05\x00")
            ver, cmd, _, atyp = await r.readexactly(4)
            if ver != 5 or cmd != 1:
                w.write(b"\x05\x07\x00\x01" + bytes(6))  # command not supported
                return
            if atyp == 3:
                host = (await r.readexactly((await r.readexactly(1))[0])).decode()
            elif atyp == 1:
                host = socket.inet_ntoa(await r.readexactly(4))
            else:
                host = socket.inet_ntop(socket.AF_INET6, await r.readexactly(16))
            (port,) = struct.unpack("!H", await r.readexactly(2))
            self.requests.append((host, port))
            ip = self.resolve.get(host, host)
            try:
                ur, uw = await asyncio.open_connection(ip, self.port_map.get(port, port))
            except OSError:
                w.write(b"\x05\x05\x00\x01" + bytes(6))
                return
            w.write(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
            await w.drain()

            async def pipe(a: asyncio.StreamReader, b: asyncio.StreamWriter) -> None:
                try:
                    while data := await a.read(65536):
                        b.write(data)
                        await b.drain()
                finally:
                    b.close()

            await asyncio.gather(pipe(r, uw), pipe(ur, w), return_exceptions=True)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()
