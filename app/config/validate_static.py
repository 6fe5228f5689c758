"""Consistency checks of mox.conf beyond its syntax, as mox does at start-up: valid host
name and log levels, listener IPs and ports that do not collide, TLS present where a service
needs it, certificate/key files that exist, transports that are well-formed.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from app import mlog
from app.config.errors import Problems
from app.config.names import check_localpart, normalize_domain
from app.config.static import Listener, Static, TransportSMTP

# Listener attribute -> (default port, needs TLS)
MAIL_SERVICES: dict[str, tuple[int, bool]] = {
    "SMTP": (25, False),
    "Submission": (587, False),
    "Submissions": (465, True),
    "IMAP": (143, False),
    "IMAPS": (993, True),
}
WEB_SERVICES: dict[str, tuple[int, bool, str]] = {
    "AccountHTTP": (80, False, "/"),
    "AccountHTTPS": (443, True, "/"),
    "AdminHTTP": (80, False, "/admin/"),
    "AdminHTTPS": (443, True, "/admin/"),
    "WebmailHTTP": (80, False, "/webmail/"),
    "WebmailHTTPS": (443, True, "/webmail/"),
    "WebAPIHTTP": (80, False, "/webapi/"),
    "WebAPIHTTPS": (443, True, "/webapi/"),
}
OTHER_HTTP: dict[str, tuple[int, bool]] = {
    "MetricsHTTP": (8010, False),
    "PprofHTTP": (8011, False),
    "AutoconfigHTTPS": (443, True),
    "MTASTSHTTPS": (443, True),
    "WebserverHTTP": (80, False),
    "WebserverHTTPS": (443, True),
}
TLS_VERSIONS = ("", "TLSv1.2", "TLSv1.3")
SASL_MECHANISMS = (
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-1",
    "CRAM-MD5",
    "PLAIN",
)


def resolve(config_dir: Path, p: str) -> Path:
    """A path from a config file: relative paths are relative to the config directory."""
    path = Path(p)
    return path if path.is_absolute() else config_dir / path


def check_file(pr: Problems, config_dir: Path, path: str, p: str, what: str) -> None:
    if not p:
        pr.add(path, f"{what} is empty")
        return
    f = resolve(config_dir, p)
    if not f.is_file():
        pr.add(path, f"{what} {str(f)!r} does not exist or is not a file")


def _port_ok(pr: Problems, path: str, port: int) -> None:
    if not 0 <= port <= 65535:
        pr.add(path, f"port {port} out of range 0-65535")


def check_listener(pr: Problems, static: Static, config_dir: Path, name: str, lst: Listener) -> None:
    base = f"Listeners.{name}"
    enabled = [
        svc
        for svc in (*MAIL_SERVICES, *WEB_SERVICES, *OTHER_HTTP)
        if getattr(getattr(lst, svc), "Enabled", False)
    ]
    if not lst.IPs and enabled:
        pr.add(f"{base}.IPs", f"services are enabled ({', '.join(enabled)}) but no IPs are configured")
    for i, ip in enumerate(lst.IPs):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            pr.add(f"{base}.IPs[{i}]", f"invalid IP address {ip!r}")
    for i, ip in enumerate(lst.NATIPs):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            pr.add(f"{base}.NATIPs[{i}]", f"invalid IP address {ip!r}")
    if lst.Hostname:
        try:
            normalize_domain(lst.Hostname)
        except ValueError as e:
            pr.add(f"{base}.Hostname", str(e))
    if lst.SMTPMaxMessageSize < 0:
        pr.add(f"{base}.SMTPMaxMessageSize", "must not be negative")
    tls = lst.TLS
    if tls is not None:
        if tls.ACME and tls.ACME not in static.ACME:
            pr.add(f"{base}.TLS.ACME", f"unknown ACME provider {tls.ACME!r} (not in ACME section)")
        if tls.MinVersion not in TLS_VERSIONS:
            pr.add(
                f"{base}.TLS.MinVersion",
                f"unknown TLS version {tls.MinVersion!r}, expected TLSv1.2 or TLSv1.3",
            )
        for i, kc in enumerate(tls.KeyCerts):
            check_file(pr, config_dir, f"{base}.TLS.KeyCerts[{i}].CertFile", kc.CertFile, "certificate file")
            check_file(pr, config_dir, f"{base}.TLS.KeyCerts[{i}].KeyFile", kc.KeyFile, "key file")
        for i, kf in enumerate(tls.HostPrivateKeyFiles):
            check_file(pr, config_dir, f"{base}.TLS.HostPrivateKeyFiles[{i}]", kf, "host private key file")
        if not tls.ACME and not tls.KeyCerts:
            pr.add(f"{base}.TLS", "TLS needs either ACME or KeyCerts")
    has_tls = tls is not None

    # (ip, port) -> service names, to find collisions; web services may share a port per scheme.
    used: dict[tuple[str, int], list[tuple[str, str]]] = {}

    def use(svc: str, port: int, kind: str) -> None:
        _port_ok(pr, f"{base}.{svc}.Port", port)
        for ip in lst.IPs:
            used.setdefault((ip, port), []).append((svc, kind))

    for svc, (default, needs_tls) in MAIL_SERVICES.items():
        sect = getattr(lst, svc)
        if not sect.Enabled:
            continue
        if needs_tls and not has_tls:
            pr.add(f"{base}.{svc}", "enabled but the listener has no TLS configuration")
        use(svc, sect.Port or default, "mail")
    if lst.Submission.Enabled and not lst.Submission.NoRequireSTARTTLS and not has_tls:
        pr.add(
            f"{base}.Submission",
            "requires STARTTLS but the listener has no TLS (set NoRequireSTARTTLS or add TLS)",
        )
    if lst.IMAP.Enabled and not lst.IMAP.NoRequireSTARTTLS and not has_tls:
        pr.add(
            f"{base}.IMAP", "requires STARTTLS but the listener has no TLS (set NoRequireSTARTTLS or add TLS)"
        )
    if lst.SMTP.Enabled and lst.SMTP.RequireSTARTTLS and (lst.SMTP.NoSTARTTLS or not has_tls):
        pr.add(f"{base}.SMTP.RequireSTARTTLS", "STARTTLS is required but not available")
    for i, zone in enumerate(lst.SMTP.DNSBLs):
        try:
            normalize_domain(zone)
        except ValueError as e:
            pr.add(f"{base}.SMTP.DNSBLs[{i}]", str(e))

    paths: dict[tuple[int, bool, str], str] = {}
    for svc, (default, tls_needed, default_path) in WEB_SERVICES.items():
        ws = getattr(lst, svc)
        if not ws.Enabled:
            continue
        if tls_needed and not has_tls:
            pr.add(f"{base}.{svc}", "enabled but the listener has no TLS configuration")
        path = ws.Path or default_path
        if not path.startswith("/"):
            pr.add(f"{base}.{svc}.Path", f"path {path!r} must start with a slash")
        port = ws.Port or default
        prev = paths.get((port, tls_needed, path))
        if prev:
            pr.add(f"{base}.{svc}.Path", f"path {path!r} on port {port} is also used by {prev}")
        paths[(port, tls_needed, path)] = svc
        use(svc, port, "https" if tls_needed else "http")
    for svc, (default, tls_needed) in OTHER_HTTP.items():
        sect = getattr(lst, svc)
        if not sect.Enabled:
            continue
        plain = not tls_needed or bool(getattr(sect, "NonTLS", False))
        if not plain and not has_tls:
            pr.add(f"{base}.{svc}", "enabled but the listener has no TLS configuration")
        port = sect.Port or (80 if plain and tls_needed else default)
        use(svc, port, "http" if plain else "https")

    for (ip, port), svcs in used.items():
        kinds = {k for _, k in svcs}
        mail = [s for s, k in svcs if k == "mail"]
        if len(mail) > 1 or (mail and len(svcs) > 1) or kinds == {"http", "https"}:
            names = ", ".join(s for s, _ in svcs)
            pr.add(base, f"services {names} cannot share port {port} on {ip}")


def _check_transport_smtp(pr: Problems, path: str, t: TransportSMTP) -> None:
    if not t.Host:
        pr.add(f"{path}.Host", "host is required")
    else:
        try:
            normalize_domain(t.Host)
        except ValueError:
            try:
                ipaddress.ip_address(t.Host)
            except ValueError:
                pr.add(f"{path}.Host", f"invalid host {t.Host!r}")
    _port_ok(pr, f"{path}.Port", t.Port)
    if t.Auth is not None:
        for i, m in enumerate(t.Auth.Mechanisms):
            if m.upper() not in SASL_MECHANISMS:
                pr.add(
                    f"{path}.Auth.Mechanisms[{i}]",
                    f"unknown mechanism {m!r}, expected one of {', '.join(SASL_MECHANISMS)}",
                )


def check_static(static: Static, config_dir: Path, pr: Problems) -> None:
    """Add the problems of a mox.conf to pr (checks that need domains.conf are in validate_dynamic)."""
    try:
        mlog.parse_level(static.LogLevel)
    except ValueError as e:
        pr.add("LogLevel", str(e))
    for pkg, lvl in static.PackageLogLevels.items():
        try:
            mlog.parse_level(lvl)
        except ValueError as e:
            pr.add(f"PackageLogLevels.{pkg}", str(e))
    try:
        normalize_domain(static.Hostname)
    except ValueError as e:
        pr.add("Hostname", f"host name: {e}")
    if not static.DataDir:
        pr.add("DataDir", "data directory is required")
    if static.TLS.CA is not None:
        for i, f in enumerate(static.TLS.CA.CertFiles):
            check_file(pr, config_dir, f"TLS.CA.CertFiles[{i}]", f, "CA certificate file")
    for name, acme in static.ACME.items():
        base = f"ACME.{name}"
        if not acme.DirectoryURL.startswith(("https://", "http://")):
            pr.add(f"{base}.DirectoryURL", "must be an http(s) URL")
        if "@" not in acme.ContactEmail:
            pr.add(f"{base}.ContactEmail", "must be an email address")
        _port_ok(pr, f"{base}.Port", acme.Port)
        if acme.ExternalAccountBinding is not None:
            eab = acme.ExternalAccountBinding
            if not eab.KeyID:
                pr.add(f"{base}.ExternalAccountBinding.KeyID", "key id is required")
            check_file(pr, config_dir, f"{base}.ExternalAccountBinding.KeyFile", eab.KeyFile, "key file")
    if not static.Listeners:
        pr.add("Listeners", "at least one listener is required")
    for name, lst in static.Listeners.items():
        check_listener(pr, static, config_dir, name, lst)
    if not static.Postmaster.Account:
        pr.add("Postmaster.Account", "postmaster account is required")
    if not static.Postmaster.Mailbox:
        pr.add("Postmaster.Mailbox", "postmaster mailbox is required")
    h = static.HostTLSRPT
    if h.Account or h.Mailbox or h.Localpart:
        try:
            check_localpart(h.Localpart)
        except ValueError as e:
            pr.add("HostTLSRPT.Localpart", str(e))
        if not h.Account:
            pr.add("HostTLSRPT.Account", "account is required")
        if not h.Mailbox:
            pr.add("HostTLSRPT.Mailbox", "mailbox is required")
    if static.InitialMailboxes is not None and static.DefaultMailboxes:
        pr.add("DefaultMailboxes", "cannot be combined with InitialMailboxes; use InitialMailboxes only")
    if static.QuotaMessageSize < 0:
        pr.add("QuotaMessageSize", "must not be negative (zero means unlimited)")
    for name, t in static.Transports.items():
        base = f"Transports.{name}"
        kinds = [
            k
            for k in ("Submissions", "Submission", "SMTP", "Socks", "Direct", "Fail")
            if getattr(t, k) is not None
        ]
        if len(kinds) != 1:
            pr.add(
                base,
                f"exactly one of Submissions, Submission, SMTP, Socks, Direct, Fail must be set, found {len(kinds)}",
            )
        for k in ("Submissions", "Submission", "SMTP"):
            ts = getattr(t, k)
            if ts is not None:
                _check_transport_smtp(pr, f"{base}.{k}", ts)
        if t.Socks is not None:
            host, sep, port = t.Socks.Address.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
                pr.add(f"{base}.Socks.Address", f"expected host:port, got {t.Socks.Address!r}")
            if not t.Socks.RemoteIPs:
                pr.add(f"{base}.Socks.RemoteIPs", "at least one IP is required")
            for i, ip in enumerate(t.Socks.RemoteIPs):
                try:
                    ipaddress.ip_address(ip)
                except ValueError:
                    pr.add(f"{base}.Socks.RemoteIPs[{i}]", f"invalid IP address {ip!r}")
            try:
                normalize_domain(t.Socks.RemoteHostname)
            except ValueError as e:
                pr.add(f"{base}.Socks.RemoteHostname", str(e))
        if t.Direct is not None and t.Direct.DisableIPv4 and t.Direct.DisableIPv6:
            pr.add(f"{base}.Direct", "cannot disable both IPv4 and IPv6")
        if t.Fail is not None and t.Fail.SMTPCode and not 400 <= t.Fail.SMTPCode <= 599:
            pr.add(f"{base}.Fail.SMTPCode", "must be a 4xx or 5xx code")
