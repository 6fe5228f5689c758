"""Asynchronous SMTP client (layer 3): MX/host resolution (gather), dialing directly or through
SOCKS5 (dial), the SMTP session with STARTTLS, AUTH and ESMTP extensions (client), strict reply
parsing (reply) and client SASL mechanisms (sasl).

Policy (which TLS mode, PKIX/DANE/MTA-STS verification) is decided by the caller (app/queue):
``Client.open`` takes a TLSMode and an ssl context, ``gather`` reports DNSSEC authenticity.
"""

from app.smtpclient.client import Client, RcptResult, RcptTo, TLSMode, unverified_context, verified_context
from app.smtpclient.dial import Dialed, dial, dial_socks
from app.smtpclient.gather import Destinations, HostIPs, gather_destinations, gather_ips
from app.smtpclient.reply import Reply, SMTPClientError

__all__ = [
    "Client",
    "Destinations",
    "Dialed",
    "HostIPs",
    "RcptResult",
    "RcptTo",
    "Reply",
    "SMTPClientError",
    "TLSMode",
    "dial",
    "dial_socks",
    "gather_destinations",
    "gather_ips",
    "unverified_context",
    "verified_context",
]
