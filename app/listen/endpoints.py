"""Which sockets a configuration asks for: every enabled service of every listener, on each of
the listener's IPs, with mox's default ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.listen.sockets import Endpoint

# service name -> (config attribute of the listener, default port, implicit TLS)
MAIL_SERVICES: dict[str, tuple[str, int, bool]] = {
    "smtp": ("SMTP", 25, False),
    "submission": ("Submission", 587, False),
    "submissions": ("Submissions", 465, True),
    "imap": ("IMAP", 143, False),
    "imaps": ("IMAPS", 993, True),
}


@dataclass(frozen=True)
class ServiceEndpoint:
    endpoint: Endpoint
    implicit_tls: bool


def _enabled(section: Any) -> bool:
    return section is not None and bool(getattr(section, "Enabled", False))


def mail_endpoints(listeners: dict[str, Any]) -> list[ServiceEndpoint]:
    """The SMTP/submission/IMAP endpoints of all listeners, in a stable order."""
    out: list[ServiceEndpoint] = []
    for name in sorted(listeners):
        lst = listeners[name]
        ips = list(getattr(lst, "IPs", None) or [])
        for service, (attr, default_port, implicit) in MAIL_SERVICES.items():
            section = getattr(lst, attr, None)
            if not _enabled(section):
                continue
            port = int(getattr(section, "Port", 0) or default_port)
            for ip in ips:
                out.append(ServiceEndpoint(Endpoint(name, service, str(ip), port), implicit))
    return out
