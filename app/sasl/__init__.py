"""SASL (RFC 4422) mechanisms as pure state machines, server and client side. No I/O.

Server side: ``new_server(name, lookup, ...)`` returns a ``ServerMechanism``; feed it the
initial response (or None) and each client response; it returns ``Challenge``, ``Success``
or ``Failure`` (outcome.py). Secrets come from a lookup callback
``(username) -> StoredCredentials | None`` (stored.py); steps may derive keys and call the
lookup, so protocol servers run ``step`` in the executor.

Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), SCRAM-SHA-1 and SCRAM-SHA-256
(RFC 5802, RFC 7677) and their -PLUS variants with channel binding tls-server-end-point
(RFC 5929; tls-exporter, RFC 9266, is not offered: Python's ssl module cannot export keying
material, see channelbinding.py), EXTERNAL (RFC 4422 appendix A).

Client side (for the SMTP client to smarthosts): ``ScramClient``, ``CramMD5Client``,
``PlainClient``, ``LoginClient``: ``start()`` gives the initial response (or None),
``step(challenge)`` the next response; ``ScramClient.finish``/``verified`` check the server.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.sasl.channelbinding import SUPPORTED_TYPES, TLS_EXPORTER, TLS_SERVER_END_POINT, tls_server_end_point
from app.sasl.outcome import Challenge, CredentialLookup, Failure, Outcome, ServerMechanism, Success
from app.sasl.precis import PasswordError, normalize_password, normalize_username
from app.sasl.scram import ScramClient, ScramError, ScramServer
from app.sasl.simple import (
    CramMD5Client,
    CramMD5Server,
    ExternalServer,
    LoginClient,
    LoginServer,
    PlainClient,
    PlainServer,
)
from app.sasl.stored import (
    CramMD5Secret,
    HashName,
    ScramSecret,
    StoredCredentials,
    derive_cram_md5,
    derive_credentials,
    derive_scram,
)

__all__ = [
    "SUPPORTED_TYPES",
    "TLS_EXPORTER",
    "TLS_SERVER_END_POINT",
    "Challenge",
    "CramMD5Client",
    "CramMD5Secret",
    "CramMD5Server",
    "CredentialLookup",
    "ExternalServer",
    "Failure",
    "LoginClient",
    "LoginServer",
    "Outcome",
    "PasswordError",
    "PlainClient",
    "PlainServer",
    "ScramClient",
    "ScramError",
    "ScramSecret",
    "ScramServer",
    "ServerMechanism",
    "StoredCredentials",
    "Success",
    "derive_cram_md5",
    "derive_credentials",
    "derive_scram",
    "new_server",
    "normalize_password",
    "normalize_username",
    "server_mechanisms",
    "tls_server_end_point",
]


def server_mechanisms(*, tls: bool, channel_binding: bool = False, external: bool = False) -> list[str]:
    """Mechanism names to advertise, strongest first. Without TLS only CRAM-MD5 and SCRAM
    (no plaintext passwords on the wire, as mox); -PLUS needs TLS and binding data;
    EXTERNAL needs a TLS client certificate."""
    names: list[str] = []
    if tls and channel_binding:
        names += ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]
    names += ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5"]
    if tls:
        names += ["PLAIN", "LOGIN"]
        if external:
            names.append("EXTERNAL")
    return names


def new_server(
    name: str,
    lookup: CredentialLookup,
    *,
    channel_bindings: Mapping[str, bytes] | None = None,
    external_identity: str | None = None,
    hostname: str = "localhost",
) -> ServerMechanism | None:
    """A fresh server mechanism for ``name`` (case-insensitive), or None if unknown.

    ``channel_bindings``: binding type -> data for this TLS connection, e.g.
    ``{"tls-server-end-point": tls_server_end_point(cert_der)}``; non-empty means the -PLUS
    variants were advertised (used for downgrade detection). ``external_identity``: login
    address of a registered TLS client public key. ``hostname`` goes into the CRAM-MD5
    challenge.
    """
    upper = name.upper()
    bindings = dict(channel_bindings or {})
    if upper == "PLAIN":
        return PlainServer(lookup)
    if upper == "LOGIN":
        return LoginServer(lookup)
    if upper == "CRAM-MD5":
        return CramMD5Server(lookup, hostname)
    if upper == "EXTERNAL":
        return ExternalServer(external_identity)
    scram: tuple[tuple[HashName, str], ...] = (("sha256", "SCRAM-SHA-256"), ("sha1", "SCRAM-SHA-1"))
    for hash_name, base in scram:
        if upper == base:
            return ScramServer(hash_name, lookup, plus_advertised=bool(bindings))
        if upper == base + "-PLUS":
            if not bindings:
                return None
            return ScramServer(hash_name, lookup, plus=True, channel_bindings=bindings, plus_advertised=True)
    return None
