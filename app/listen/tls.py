"""Server TLS contexts: certificates from files (mox's ``KeyCerts``), selection by SNI,
TLS 1.2 as the minimum unless configured higher (RFC 8996 deprecates older versions), and
ALPN protocols for the HTTPS port (``imap``, ``smtp``, ``http/1.1``; RFC 7301).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from app import mlog

log = mlog.get("tls")


class TLSConfigError(Exception):
    """A certificate or key could not be loaded; the message names the file."""


@dataclass(frozen=True)
class KeyCert:
    cert_file: Path
    key_file: Path


_VERSIONS = {
    "": ssl.TLSVersion.TLSv1_2,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def cert_names(cert_file: Path) -> list[str]:
    """DNS names a certificate is valid for (SAN dNSName entries, else the subject CN), lowercased."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except (OSError, ValueError) as e:
        raise TLSConfigError(f"{cert_file}: cannot read certificate: {e}") from None
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n).lower() for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        pass
    if not names:
        names = [str(a.value).lower() for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return names


# Every SNI context behind a main context, for settings that must apply to all of them.
_all_contexts: dict[int, list[ssl.SSLContext]] = {}


def set_client_certs(ctx: ssl.SSLContext, certs_der: list[bytes]) -> None:
    """Ask TLS clients for a certificate and accept exactly these (RFC 8446 section 4.3.2).

    Python's ssl module has no verification callback, so the registered client certificates
    (mostly self-signed) become the trust anchors, with partial chains allowed. Without
    registered certificates nothing is requested: a client certificate would then fail the
    handshake. Safe to call on a live context; it affects new handshakes.
    """
    for c in _all_contexts.get(id(ctx), [ctx]):
        if not certs_der:
            c.verify_mode = ssl.CERT_NONE
            continue
        c.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        for der in certs_der:
            try:
                c.load_verify_locations(cadata=der)
            except ssl.SSLError as e:
                log.error("loading tls client certificate", err=e)
        c.verify_mode = ssl.CERT_OPTIONAL


def _base_context(min_version: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.minimum_version = _VERSIONS[min_version]
    except KeyError:
        raise TLSConfigError(f"unknown TLS MinVersion {min_version!r}, expected TLSv1.2 or TLSv1.3") from None
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return ctx


def _load(ctx: ssl.SSLContext, kc: KeyCert) -> None:
    try:
        ctx.load_cert_chain(str(kc.cert_file), str(kc.key_file))
    except (OSError, ssl.SSLError, ValueError) as e:
        raise TLSConfigError(
            f"{kc.cert_file} / {kc.key_file}: cannot load certificate and key: {e}"
        ) from None


def server_context(
    keycerts: list[KeyCert], min_version: str = "", alpn: list[str] | None = None, default_name: str = ""
) -> ssl.SSLContext:
    """A TLS server context serving the first certificate by default and the matching one by SNI.

    ``default_name`` picks the certificate used when the client sends no or an unknown SNI name
    (mox falls back to the hostname's certificate).
    """
    if not keycerts:
        raise TLSConfigError("no certificates configured")
    by_name: dict[str, ssl.SSLContext] = {}
    contexts: list[tuple[list[str], ssl.SSLContext]] = []
    for kc in keycerts:
        c = _base_context(min_version)
        _load(c, kc)
        if alpn:
            c.set_alpn_protocols(alpn)
        names = cert_names(kc.cert_file)
        contexts.append((names, c))
        for n in names:
            by_name.setdefault(n, c)
    main = contexts[0][1]
    if default_name and default_name.lower() in by_name:
        main = by_name[default_name.lower()]
    _all_contexts[id(main)] = [c for _, c in contexts]
    if len(contexts) > 1:

        def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            if not name:
                return
            name = name.lower().rstrip(".")
            c = by_name.get(name)
            if c is None and "." in name:
                c = by_name.get("*." + name.split(".", 1)[1])
            if c is not None:
                sslobj.context = c

        main.sni_callback = pick
    return main
