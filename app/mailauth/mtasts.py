"""MTA-STS (RFC 8461): the ``_mta-sts`` TXT record, the policy file, MX matching, and fetching the
policy over HTTPS with PKIX verification (no redirects, size and time limits, RFC 8461 §3.3).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass, field

from app.dns.errors import DNSError
from app.dns.resolver import Resolver, normalize_name
from app.mailauth import txtpolicy

MAX_POLICY_SIZE = 64 * 1024
MAX_AGE_LIMIT = 31557600  # RFC 8461 §3.2: at most one year


class MTASTSError(ValueError):
    """Malformed record or policy, or a failed policy fetch."""


@dataclass(frozen=True)
class STSRecord:
    """``v=STSv1; id=<1-32 alphanumerics>`` plus extensions (RFC 8461 §3.1)."""

    id: str
    extensions: dict[str, str] = field(default_factory=dict)


def parse_record(text: str) -> STSRecord:
    parts = [p.strip() for p in text.split(";")]
    if not parts or parts[0] != "v=STSv1":
        raise MTASTSError("record must start with v=STSv1")
    rid = ""
    ext: dict[str, str] = {}
    for p in parts[1:]:
        if not p:
            continue
        k, sep, v = p.partition("=")
        if not sep:
            raise MTASTSError(f"malformed field {p[:40]!r}")
        if k == "id":
            if rid or not (1 <= len(v) <= 32 and v.isascii() and v.isalnum()):
                raise MTASTSError(f"invalid or duplicate id {v[:40]!r}")
            rid = v
        else:
            ext[k] = v
    if not rid:
        raise MTASTSError("missing id")
    return STSRecord(rid, ext)


@dataclass(frozen=True)
class STSPolicy:
    """A parsed policy: mode enforce/testing/none, allowed MX patterns, max_age seconds."""

    mode: str
    mx: tuple[str, ...]
    max_age: int
    extensions: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        lines = (
            ["version: STSv1", f"mode: {self.mode}"]
            + [f"mx: {m}" for m in self.mx]
            + [f"max_age: {self.max_age}"]
        )
        return "\r\n".join(lines) + "\r\n"

    def matches(self, host: str) -> bool:
        """Whether an MX host is allowed (RFC 8461 §4.1: ``*.`` matches exactly one leftmost label)."""
        h = host.lower().rstrip(".")
        for pat in self.mx:
            p = pat.lower().rstrip(".")
            if p.startswith("*."):
                if "." in h and h.split(".", 1)[1] == p[2:]:
                    return True
            elif h == p:
                return True
        return False


def parse_policy(text: str) -> STSPolicy:
    """Parse a policy file (RFC 8461 §3.2); raises MTASTSError."""
    if len(text) > MAX_POLICY_SIZE:
        raise MTASTSError("policy too large")
    fields: dict[str, str] = {}
    mx: list[str] = []
    ext: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        k, sep, v = line.partition(":")
        if not sep:
            raise MTASTSError(f"malformed line {line[:60]!r}")
        k, v = k.strip(), v.strip()
        if k == "mx":
            mx.append(v)
        elif k in ("version", "mode", "max_age"):
            if k in fields:
                raise MTASTSError(f"duplicate {k}")
            fields[k] = v
        else:
            ext[k] = v
    if fields.get("version") != "STSv1":
        raise MTASTSError("missing or unknown version")
    mode = fields.get("mode", "")
    if mode not in ("enforce", "testing", "none"):
        raise MTASTSError(f"invalid mode {mode[:20]!r}")
    ma = fields.get("max_age", "")
    if not ma.isdigit() or len(ma) > 10:
        raise MTASTSError(f"invalid max_age {ma[:20]!r}")
    if mode != "none" and not mx:
        raise MTASTSError("policy without mx")
    return STSPolicy(mode, tuple(mx), min(int(ma), MAX_AGE_LIMIT), ext)


@dataclass(frozen=True)
class STSLookup:
    status: str  # found, none, temperror, permerror
    domain: str
    record: STSRecord | None = None
    text: str = ""
    reason: str = ""


def lookup_record(resolver: Resolver, domain: str) -> STSLookup:
    """``_mta-sts.<domain>`` TXT (RFC 8461 §3.1); CNAMEs are followed by the resolver."""
    r = txtpolicy.lookup_single(resolver, domain, "_mta-sts", "v=STSv1", "MTA-STS", parse_record, MTASTSError)
    return STSLookup(r.status, r.domain, r.record, r.text, r.reason)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a host name whose address we resolved ourselves (through our Resolver)."""

    def __init__(self, host: str, addr: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, 443, timeout=timeout, context=context)
        self._addr = addr
        self._ctx = context

    def connect(self) -> None:
        sock = socket.create_connection((self._addr, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self.host)


def fetch_policy(
    resolver: Resolver,
    domain: str,
    timeout: float = 20.0,
    context: ssl.SSLContext | None = None,
    port: int = 443,
) -> tuple[STSPolicy, str]:
    """Fetch and parse ``https://mta-sts.<domain>/.well-known/mta-sts.txt``; raises MTASTSError."""
    host = f"mta-sts.{normalize_name(domain)}"
    try:
        ips = resolver.lookup_ip_sync(host).records
    except DNSError as e:
        raise MTASTSError(f"resolving {host}: {e}") from None
    ctx = context or ssl.create_default_context()
    last = ""
    for ip in ips[:4]:
        conn = _PinnedHTTPS(host, ip, timeout, ctx)
        conn.port = port
        try:
            conn.request("GET", "/.well-known/mta-sts.txt", headers={"User-Agent": "moxpy"})
            resp = conn.getresponse()
            if resp.status != 200:
                raise MTASTSError(f"http status {resp.status} (redirects are not followed)")
            body = resp.read(MAX_POLICY_SIZE + 1)
            if len(body) > MAX_POLICY_SIZE:
                raise MTASTSError("policy too large")
            text = body.decode("utf-8", "replace")
            return parse_policy(text), text
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            last = f"{ip}: {type(e).__name__}: {e}"
        finally:
            conn.close()
    raise MTASTSError(f"fetching policy from {host}: {last or 'no addresses'}")
