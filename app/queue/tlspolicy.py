"""How to use TLS with one host of a direct delivery (RFC 3207, RFC 7435, RFC 8689).

The one place where the TLS requirement for an MX host is decided. Today: opportunistic
STARTTLS without verification and with plaintext fallback, unless the message requires TLS
(REQUIRETLS), which needs STARTTLS verified against the MX host name and no fallback.
MTA-STS (RFC 8461: "enforce" means PKIX-verified STARTTLS to a listed MX) and DANE (RFC 7672:
TLSA records for DNSSEC-authentic MX hosts) add their verified modes here; a message with
``TLS-Required: No`` (RequireTLS false) then ignores their failures.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from app.smtpclient import TLSMode, unverified_context


@dataclass(frozen=True)
class HostTLS:
    mode: TLSMode
    context: ssl.SSLContext
    plaintext_fallback: bool  # after a failed handshake, retry the host without TLS
    reason: str


def direct_host_tls(requiretls: bool | None, verified: ssl.SSLContext) -> HostTLS:
    """The TLS requirement for an MX host; ``verified`` is the PKIX context to verify with."""
    if requiretls:
        return HostTLS(TLSMode.REQUIRED, verified, False, "requiretls")
    return HostTLS(TLSMode.OPPORTUNISTIC, unverified_context(), True, "opportunistic")
