"""Choosing the SASL mechanism for smarthost authentication (RFC 4954): in our preference
order (or the configured Mechanisms), the first the server offers. Default order as mox:
SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, CRAM-MD5; PLAIN only when
configured. The mechanisms themselves are app.sasl's client state machines; -PLUS uses
channel binding tls-server-end-point (RFC 5929), which works with TLS 1.3 too."""

from __future__ import annotations

from typing import Protocol

from app.sasl import (
    TLS_SERVER_END_POINT,
    CramMD5Client,
    LoginClient,
    PlainClient,
    ScramClient,
    tls_server_end_point,
)
from app.sasl.stored import HashName

DEFAULT_MECHANISMS = ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "CRAM-MD5")


class ClientMechanism(Protocol):
    @property
    def name(self) -> str: ...

    def start(self) -> bytes | None: ...

    def step(self, challenge: bytes) -> bytes: ...


def choose(
    offered: list[str],
    configured: tuple[str, ...],
    username: str,
    password: str,
    server_cert_der: bytes | None,
) -> ClientMechanism | None:
    """The first mechanism of our preference that the server offers; -PLUS variants need the
    server certificate (TLS) for channel binding."""
    offered_up = {m.upper() for m in offered}
    cb = (TLS_SERVER_END_POINT, tls_server_end_point(server_cert_der)) if server_cert_der else None
    for name in configured or DEFAULT_MECHANISMS:
        name = name.upper()
        if name not in offered_up:
            continue
        if name.startswith("SCRAM-SHA-"):
            plus = name.endswith("-PLUS")
            if plus and cb is None:
                continue
            hash_name: HashName = "sha256" if name.startswith("SCRAM-SHA-256") else "sha1"
            return ScramClient(
                hash_name,
                username,
                password,
                channel_binding=cb if plus else None,
                client_supports_binding=cb is not None,
            )
        if name == "CRAM-MD5":
            return CramMD5Client(username, password)
        if name == "PLAIN":
            return PlainClient(username, password)
        if name == "LOGIN":
            return LoginClient(username, password)
    return None
