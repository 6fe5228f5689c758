"""Reading what the queue needs from the configuration into the queue's own types: hostname,
transports (mox.conf ``Transports``), routes (domains.conf ``Routes`` at account, domain and
global level) and retired-message periods.

The configuration objects carry mox's CamelCase field names; they are read with getattr so the
queue depends only on those names, not on the config package's classes.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from app.queue.model import parse_duration
from app.smtp.idna_domain import parse_domain


@dataclass(frozen=True)
class Auth:
    username: str
    password: str
    mechanisms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Smarthost:
    """Submissions (implicit TLS), Submission or SMTP (STARTTLS) relay."""

    kind: str  # "submissions" | "submission" | "smtp"
    host: str
    port: int
    starttls_insecure_skip_verify: bool = False
    no_starttls: bool = False
    auth: Auth | None = None


@dataclass(frozen=True)
class Transport:
    """One named transport. Exactly one of the kinds is set."""

    name: str
    smarthost: Smarthost | None = None
    socks_address: str = ""
    socks_remote_ips: tuple[str, ...] = ()
    socks_remote_hostname: str = ""
    direct_disable_ipv4: bool = False
    direct_disable_ipv6: bool = False
    is_direct: bool = False
    fail_code: int = 0
    fail_message: str = ""

    @property
    def is_fail(self) -> bool:
        return self.fail_code != 0


@dataclass(frozen=True)
class Route:
    from_domains: tuple[str, ...] = ()
    to_domains: tuple[str, ...] = ()
    minimum_attempts: int = 0
    transport: str = ""

    def matches(self, from_domain: str, to_domain: str, attempts: int) -> bool:
        return (
            _domain_match(self.from_domains, from_domain)
            and _domain_match(self.to_domains, to_domain)
            and attempts >= self.minimum_attempts
        )


@dataclass
class Routing:
    account: dict[str, list[Route]] = field(default_factory=dict)
    domain: dict[str, list[Route]] = field(default_factory=dict)
    glob: list[Route] = field(default_factory=list)


def _domain_match(patterns: tuple[str, ...], domain: str) -> bool:
    """Empty matches all; ``.example.com`` matches subdomains only, else exact."""
    if not patterns:
        return True
    d = domain.lower()
    for p in patterns:
        p = p.lower()
        if p.startswith("."):
            if d.endswith(p):
                return True
        elif d == p:
            return True
    return False


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def hostname(config: Any) -> str:
    h = _get(_get(config, "static"), "Hostname", "") or "localhost"
    return str(h).lower()


def _seconds(v: Any) -> float:
    if v is None or v == "":
        return 0.0
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, int | float):
        return float(v)
    return parse_duration(str(v))


def postmaster(config: Any) -> tuple[str, str] | None:
    """(account, mailbox) of mox.conf's Postmaster, if configured."""
    pm = _get(_get(config, "static"), "Postmaster")
    account = str(_get(pm, "Account", "") or "")
    if not account:
        return None
    return account, str(_get(pm, "Mailbox", "") or "Inbox")


def keep_retired_period(config: Any, account: str) -> float:
    acc = _get(_get(_get(config, "dynamic"), "Accounts", {}), account)
    return _seconds(_get(acc, "KeepRetiredMessagePeriod", 0))


def _auth(a: Any) -> Auth | None:
    if a is None:
        return None
    return Auth(
        str(_get(a, "Username", "")), str(_get(a, "Password", "")), tuple(_get(a, "Mechanisms", None) or ())
    )


def _smarthost(kind: str, t: Any, default_port: int) -> Smarthost:
    return Smarthost(
        kind=kind,
        host=str(_get(t, "Host", "")).lower().rstrip("."),
        port=int(_get(t, "Port", 0) or default_port),
        starttls_insecure_skip_verify=bool(_get(t, "STARTTLSInsecureSkipVerify", False)),
        no_starttls=bool(_get(t, "NoSTARTTLS", False)),
        auth=_auth(_get(t, "Auth")),
    )


def transports(config: Any) -> dict[str, Transport]:
    out: dict[str, Transport] = {}
    for name, t in (_get(_get(config, "static"), "Transports", None) or {}).items():
        if (s := _get(t, "Submissions")) is not None:
            out[name] = Transport(name, smarthost=_smarthost("submissions", s, 465))
        elif (s := _get(t, "Submission")) is not None:
            out[name] = Transport(name, smarthost=_smarthost("submission", s, 587))
        elif (s := _get(t, "SMTP")) is not None:
            out[name] = Transport(name, smarthost=_smarthost("smtp", s, 25))
        elif (s := _get(t, "Socks")) is not None:
            out[name] = Transport(
                name,
                socks_address=str(_get(s, "Address", "")),
                socks_remote_ips=tuple(str(x) for x in _get(s, "RemoteIPs", None) or ()),
                socks_remote_hostname=str(_get(s, "RemoteHostname", "")),
            )
        elif (s := _get(t, "Direct")) is not None:
            out[name] = Transport(
                name,
                is_direct=True,
                direct_disable_ipv4=bool(_get(s, "DisableIPv4", False)),
                direct_disable_ipv6=bool(_get(s, "DisableIPv6", False)),
            )
        elif (s := _get(t, "Fail")) is not None:
            out[name] = Transport(
                name,
                fail_code=int(_get(s, "SMTPCode", 0) or 554),
                fail_message=str(_get(s, "SMTPMessage", "") or "transport configured to fail"),
            )
    return out


def _pattern(p: str) -> str:
    """A route domain in A-label form (queued domains are A-labels), keeping a leading dot."""
    dot, name = (".", p[1:]) if p.startswith(".") else ("", p)
    try:
        return dot + parse_domain(name.rstrip(".")).ascii
    except ValueError:
        return p.lower()


def _routes(lst: Any) -> list[Route]:
    out = []
    for r in lst or ():
        out.append(
            Route(
                from_domains=tuple(_pattern(str(x)) for x in _get(r, "FromDomain", None) or ()),
                to_domains=tuple(_pattern(str(x)) for x in _get(r, "ToDomain", None) or ()),
                minimum_attempts=int(_get(r, "MinimumAttempts", 0) or 0),
                transport=str(_get(r, "Transport", "")),
            )
        )
    return out


def route_transport(config: Any, account: str, from_domain: str, to_domain: str, attempts: int) -> str:
    """The transport name of the first matching route (account, then sender domain, then
    global), or "" for direct delivery."""
    dyn = _get(config, "dynamic")
    acc = _get(_get(dyn, "Accounts", {}), account)
    dom = _get(_get(dyn, "Domains", {}), from_domain)
    for routes in (_routes(_get(acc, "Routes")), _routes(_get(dom, "Routes")), _routes(_get(dyn, "Routes"))):
        for r in routes:
            if r.matches(from_domain, to_domain, attempts):
                return r.transport
    return ""
