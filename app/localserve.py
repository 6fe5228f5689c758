"""Writing the configuration of ``moxpy localserve`` on its first run (as mox's localserve).

The config directory holds mox.conf, domains.conf, a self-signed certificate for localhost,
an Ed25519 DKIM key and the admin password hash; the data lives in the same directory
(``DataDir: .``). One listener ``local`` serves every protocol on standard ports + 1000.
Later runs reuse what is there.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCOUNT = "mox"
ADDRESS = "mox@localhost"
PASSWORD = "moxmoxmox"
ADMIN_PASSWORD = "moxadmin"

PORTS = {
    "SMTP": 1025,
    "Submission": 1587,
    "Submissions": 1465,
    "IMAP": 1143,
    "IMAPS": 1993,
    "HTTP": 1080,
    "HTTPS": 1443,
    "Metrics": 1081,
}


@dataclass(frozen=True)
class Paths:
    dir: Path

    @property
    def static(self) -> Path:
        return self.dir / "mox.conf"

    @property
    def domains(self) -> Path:
        return self.dir / "domains.conf"


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def make_certificate(certfile: Path, keyfile: Path, ip: str) -> None:
    """A self-signed ECDSA P-256 certificate for localhost (and the listen IP), valid 10 years."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "moxpy localserve"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for a in {ip, "127.0.0.1", "::1"}:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(a)))
        except ValueError:
            pass
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    keypem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(keyfile, keypem)
    _write_private(certfile, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def make_dkim_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(path, pem)


def static_text(ip: str, ports: dict[str, int]) -> str:
    """mox.conf for localserve."""
    ips = [ip]
    svc = []
    for name, key in (("SMTP", "SMTP"), ("Submission", "Submission"), ("Submissions", "Submissions")):
        svc.append(f"\t\t{name}:\n\t\t\tEnabled: true\n\t\t\tPort: {ports[key]}\n")
        if name == "Submission":
            svc.append("\t\t\tNoRequireSTARTTLS: true\n")
    svc.append(
        f"\t\tIMAP:\n\t\t\tEnabled: true\n\t\t\tPort: {ports['IMAP']}\n\t\t\tNoRequireSTARTTLS: true\n"
    )
    svc.append(f"\t\tIMAPS:\n\t\t\tEnabled: true\n\t\t\tPort: {ports['IMAPS']}\n")
    for web, path in (
        ("Account", "/"),
        ("Admin", "/admin/"),
        ("Webmail", "/webmail/"),
        ("WebAPI", "/webapi/"),
    ):
        svc.append(f"\t\t{web}HTTP:\n\t\t\tEnabled: true\n\t\t\tPort: {ports['HTTP']}\n\t\t\tPath: {path}\n")
        svc.append(
            f"\t\t{web}HTTPS:\n\t\t\tEnabled: true\n\t\t\tPort: {ports['HTTPS']}\n\t\t\tPath: {path}\n"
        )
    svc.append(f"\t\tMetricsHTTP:\n\t\t\tEnabled: true\n\t\t\tPort: {ports['Metrics']}\n")
    ip_lines = "".join(f"\t\t\t- {a}\n" for a in ips)
    return (
        "# moxpy localserve: static configuration (sconf: tab-indented, Key: value).\n"
        "DataDir: .\n"
        "LogLevel: traceauth\n"
        f"User: {os.getuid() if hasattr(os, 'getuid') else 0}\n"
        "Hostname: localhost\n"
        "Pedantic: true\n"
        "TLS:\n\tCA:\n\t\tAdditionalToSystem: true\n\t\tCertFiles:\n\t\t\t- localhost.crt\n"
        "AdminPasswordFile: adminpasswd\n"
        "Listeners:\n"
        "\tlocal:\n"
        "\t\tIPs:\n" + ip_lines + "\t\tTLS:\n\t\t\tKeyCerts:\n\t\t\t\t-\n"
        "\t\t\t\t\tCertFile: localhost.crt\n\t\t\t\t\tKeyFile: localhost.key\n"
        + "".join(svc)
        + "Postmaster:\n\tAccount: mox\n\tMailbox: Inbox\n"
    )


def domains_text() -> str:
    """domains.conf for localserve: domain localhost, account mox."""
    return (
        "# moxpy localserve: domains and accounts (sconf), reloaded when changed.\n"
        "Domains:\n"
        "\tlocalhost:\n"
        "\t\tLocalpartCatchallSeparator: +\n"
        "\t\tDKIM:\n"
        "\t\t\tSelectors:\n"
        "\t\t\t\tlocalserve:\n"
        "\t\t\t\t\tExpiration: 72h\n"
        "\t\t\t\t\tPrivateKeyFile: dkim.localserve.privatekey.pkcs8.pem\n"
        "\t\t\tSign:\n"
        "\t\t\t\t- localserve\n"
        "Accounts:\n"
        "\tmox:\n"
        "\t\tKeepRetiredMessagePeriod: 72h0m0s\n"
        "\t\tKeepRetiredWebhookPeriod: 72h0m0s\n"
        "\t\tDomain: localhost\n"
        "\t\tDestinations:\n"
        "\t\t\tmox@localhost: nil\n"
        "\t\tRejectsMailbox: Rejects\n"
        "\t\tNoFirstTimeSenderDelay: true\n"
    )


def ensure_config(d: Path, ip: str = "127.0.0.1", ports: dict[str, int] | None = None) -> bool:
    """Write the localserve config into d unless mox.conf exists; True when written now."""
    p = Paths(d)
    if p.static.exists():
        return False
    d.mkdir(parents=True, exist_ok=True)
    make_certificate(d / "localhost.crt", d / "localhost.key", ip)
    make_dkim_key(d / "dkim.localserve.privatekey.pkcs8.pem")
    from app.store.accounts_admin import hash_admin_password

    _write_private(d / "adminpasswd", hash_admin_password(ADMIN_PASSWORD).encode())
    _write_private(p.domains, domains_text().encode(), 0o644)
    # mox.conf last: its presence marks a complete config directory.
    _write_private(p.static, static_text(ip, ports or PORTS).encode(), 0o644)
    return True


def ensure_account(config: Any) -> None:
    """Create the localserve account's database and give it the well-known password, once."""
    from app.store import Store
    from app.store.credentials import load_credentials, set_password

    if ACCOUNT not in config.dynamic.Accounts:
        return
    store = Store(config.data_dir)
    try:
        acc = store.account(ACCOUNT, create=True)
        if load_credentials(acc) is None:
            set_password(acc, PASSWORD)
    finally:
        store.close()
