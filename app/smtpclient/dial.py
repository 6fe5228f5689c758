"""Opening the TCP (and for submissions, TLS) connection to a mail server: directly, one address
after another, or through a SOCKS5 proxy (python-socks)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from app.smtpclient.reply import SMTPClientError

DIAL_TIMEOUT = 30.0


@dataclass(frozen=True)
class Dialed:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ip: str  # the address connected to ("" through a proxy)


async def dial(
    ips: list[str],
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str = "",
    local_ip: str = "",
    timeout: float = DIAL_TIMEOUT,
    tried: list[str] | None = None,
) -> Dialed:
    """Connect to the first reachable address; ``tried`` collects each address attempted."""
    errors: list[str] = []
    for ip in ips:
        if tried is not None:
            tried.append(ip)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    ip,
                    port,
                    ssl=tls,
                    server_hostname=(server_hostname or None) if tls else None,
                    local_addr=(local_ip, 0) if local_ip else None,
                    limit=1 << 16,
                ),
                timeout,
            )
            return Dialed(reader, writer, ip)
        except TimeoutError:
            errors.append(f"{ip}: timeout")
        except ssl.SSLError as e:
            raise SMTPClientError(False, "tls", f"TLS with {ip}: {e}") from None
        except OSError as e:
            errors.append(f"{ip}: {e.strerror or e}")
    raise SMTPClientError(
        False, "dial", "connecting failed: " + "; ".join(errors or ["no addresses"]), 0, "4.4.1"
    )


async def dial_socks(
    proxy_address: str,
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    timeout: float = DIAL_TIMEOUT,
) -> Dialed:
    """Connect to host:port through a SOCKS5 proxy at ``proxy_address`` (host:port)."""
    from python_socks import ProxyError, ProxyTimeoutError
    from python_socks.async_.asyncio import Proxy

    try:
        proxy = Proxy.from_url(f"socks5://{proxy_address}")
        sock = await proxy.connect(host, port, timeout=timeout)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(sock=sock, ssl=tls, server_hostname=host if tls else None, limit=1 << 16),
            timeout,
        )
    except (ProxyError, ProxyTimeoutError, OSError, TimeoutError, ValueError) as e:
        raise SMTPClientError(
            False, "dial", f"connecting through socks proxy {proxy_address}: {e}", 0, "4.4.1"
        ) from None
    return Dialed(reader, writer, "")
