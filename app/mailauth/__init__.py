"""Mail authentication: pure synchronous functions of a Resolver (app.dns) and their input.

asyncio callers run them in the worker pool: ``await app.runtime.run_blocking(spf.verify, r, ...)``.
Bad input never raises: malformed records and messages give permerror/policy results with a
reason, DNS timeouts give temperror.

Modules and their entry points (import as ``from app.mailauth import spf, dkim, ...``):

``spf`` (RFC 7208, pyspf wired to our Resolver)
    ``check_host(resolver, ip, domain, sender="", helo="", receiver="") -> SPFResult``;
    ``verify(resolver, ip, mailfrom, helo, receiver="")`` (MAIL FROM identity, or HELO for ``<>``);
    ``check_helo(...)``; ``received_spf_header(result, receiver)`` (folded, without final CRLF).
    ``SPFResult(status, identity, domain, sender, helo, ip, explanation, problem, mechanism, authentic)``.
``spfrecord``: ``parse(text) -> SPFRecord`` syntax check of an SPF record (``moxpy spf parse``).
``dkim`` (RFC 6376 with mox's policy; dkimpy with our Resolver)
    ``verify(resolver, data) -> list[DKIMResult]`` (status, domain, selector, identity, algorithm,
    header_b, reason, authentic, record); ``sign(data, domain, [SignSelector], now=None) -> bytes``
    (DKIM-Signature header lines); ``SignSelector(name, key, hash, header_relaxed, body_relaxed,
    headers, seal, expiration)``.
``dkimconf``: ``selectors_from_config(dkim_conf, config_dir)``, ``key_records(domain, selectors)``.
``dkimkeys``: ``generate_rsa()``, ``generate_ed25519()`` (PKCS#8 PEM), ``load_private_key(pem)``,
    ``txt_record(key)``, ``parse_key_record(text)``.
``dmarc`` (RFC 9989 tree walk, RFC 7489 records)
    ``lookup(resolver, domain) -> DMARCLookup``; ``verify(resolver, from_domain,
    dkim_pass_domains, spf_status, spf_domain) -> DMARCResult`` (status, policy, reject, quarantine, reason,
    alignment); ``parse_record(text)``; ``lookup_external_report(resolver, from, dest)``.
``orgdomain``: ``org_domain(resolver, domain)`` (RFC 9989 §4.10.2), ``tree_walk_names(domain)``.
``arc`` (RFC 8617, dkimpy): ``verify(resolver, data) -> ARCResult``;
    ``seal(data, domain, selector, key, authserv_id) -> bytes``.
``iprev`` (RFC 8601 §3): ``lookup(resolver, ip) -> IPRevResult``.
``dnsbl`` (RFC 5782): ``lookup(resolver, zone, ip) -> DNSBLResult``; ``check_health(resolver, zone)``.
``mtasts`` (RFC 8461): ``parse_record``, ``parse_policy -> STSPolicy`` (``.matches(mx)``),
    ``lookup_record(resolver, domain)``, ``fetch_policy(resolver, domain)``.
``tlsrpt`` (RFC 8460): ``parse_record``, ``lookup(resolver, domain)``.
``tlsa`` (RFC 6698/7218): ``Usage``, ``Selector``, ``MatchType``, ``parse``, ``record_for(cert_der)``,
    ``matches(rec, cert_der)``; the record type itself is ``app.dns.TLSA``.
``authres`` (RFC 8601): ``AuthResults(hostname, methods).header()``, ``spf_method``,
    ``dkim_methods``, ``dmarc_method``, ``iprev_method``, ``arc_method`` (mox's dnssec comments).
"""

import importlib
from types import ModuleType

_MODULES = frozenset(
    [
        "arc",
        "authres",
        "dkim",
        "dkimconf",
        "dkimkeys",
        "dmarc",
        "dnsbl",
        "iprev",
        "mtasts",
        "orgdomain",
        "spf",
        "spfrecord",
        "tlsa",
        "tlsrpt",
    ]
)


def __getattr__(name: str) -> ModuleType:
    """Load a submodule on first use (PEP 562): a server that never checks ARC or fetches an
    MTA-STS policy does not pay for dkimpy's ARC code or http.client."""
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
