"""Typed ``mox.conf``: the static configuration, read once at start-up.

Attribute names, types, defaults and optionality are mox's (config/config.go), so a working
mox.conf loads unchanged. Field docs are ours; ``config describe-static`` prints them.
"""

# opt()/req() wrap dataclasses.field(); the defaults they are given are immutable or factories.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass

from app.config.duration import Duration
from app.config.schema import opt, req


@dataclass
class TLSCA:
    AdditionalToSystem: bool = opt("Also trust the system's CA certificates, not only CertFiles.", False)
    CertFiles: list[str] = opt(
        "PEM files with extra certificate authorities to trust for outgoing SMTP and HTTPS.", list
    )


@dataclass
class GlobalTLS:
    CA: TLSCA | None = opt("Certificate authorities for connections moxpy makes itself.", None)


@dataclass
class ACMEExternalAccountBinding:
    KeyID: str = req("Key identifier handed out by the ACME provider for binding accounts.", "")
    KeyFile: str = req("File holding the base64url-encoded MAC key that goes with KeyID.", "")


@dataclass
class ACMEProvider:
    DirectoryURL: str = req("Directory URL of the ACME provider, e.g. Let's Encrypt's v02 endpoint.", "")
    RenewBefore: Duration = opt(
        "How long before expiry a certificate is renewed. Zero picks a sensible default.", Duration(0)
    )
    ContactEmail: str = req("Address the ACME provider may send notices about certificates to.", "")
    Port: int = opt("Port for tls-alpn-01 validation when it is not 443 (behind a proxy).", 0)
    IssuerDomainName: str = opt("Domain name of the CA, used in suggested CAA DNS records.", "")
    ExternalAccountBinding: ACMEExternalAccountBinding | None = opt(
        "Credentials for providers that require accounts to be bound to an existing account.", None
    )


@dataclass
class KeyCert:
    CertFile: str = req("PEM file with the certificate followed by its intermediate certificates.", "")
    KeyFile: str = req("PEM file with the private key of the certificate (PKCS#8, PKCS#1 or EC).", "")


@dataclass
class ListenerTLS:
    ACME: str = opt("Name of an ACME provider (from the ACME section) that obtains certificates.", "")
    KeyCerts: list[KeyCert] = opt(
        "Certificate and key pairs to serve; chosen by SNI, the first one is the fallback.", list
    )
    MinVersion: str = opt("Lowest TLS version accepted: TLSv1.2 (default) or TLSv1.3.", "")
    HostPrivateKeyFiles: list[str] = opt(
        "Private keys that stay the same across certificate renewals, for DANE TLSA records.", list
    )
    ClientAuthDisabled: bool = opt(
        "Do not ask clients for a TLS certificate (used for certificate-based login).", False
    )


@dataclass
class SMTPListener:
    Enabled: bool = req("Accept incoming mail with SMTP on this listener.", False)
    Port: int = opt("Port number; 25 when zero.", 0)
    NoSTARTTLS: bool = opt("Do not offer STARTTLS (only sensible for testing).", False)
    RequireSTARTTLS: bool = opt("Refuse mail from senders that did not switch to TLS.", False)
    NoRequireTLS: bool = opt("Do not announce the REQUIRETLS extension (RFC 8689).", False)
    DNSBLs: list[str] = opt("DNS block list zones used to judge the IPs of incoming connections.", list)
    FirstTimeSenderDelay: Duration | None = opt(
        "Pause before accepting a message from a sender not seen before (default 15s).", None
    )
    TLSSessionTicketsDisabled: bool | None = opt(
        "Turn TLS session tickets off (some senders fail with them).", None
    )


@dataclass
class SubmissionListener:
    Enabled: bool = req("Accept mail from authenticated users on the submission port.", False)
    Port: int = opt("Port number; 587 when zero.", 0)
    NoRequireSTARTTLS: bool = opt(
        "Allow authentication before STARTTLS. Passwords then cross the network in the clear.", False
    )


@dataclass
class SubmissionsListener:
    Enabled: bool = req("Accept mail from authenticated users over implicit TLS.", False)
    Port: int = opt("Port number; 465 when zero.", 0)
    EnabledOnHTTPS: bool = opt("Also serve submission on the HTTPS port for ALPN protocol smtp.", False)


@dataclass
class IMAPListener:
    Enabled: bool = req("Serve IMAP that starts in plain text and upgrades with STARTTLS.", False)
    Port: int = opt("Port number; 143 when zero.", 0)
    NoRequireSTARTTLS: bool = opt(
        "Allow login before STARTTLS; only when the network itself is protected.", False
    )


@dataclass
class IMAPSListener:
    Enabled: bool = req("Serve IMAP over implicit TLS.", False)
    Port: int = opt("Port number; 993 when zero.", 0)
    EnabledOnHTTPS: bool = opt("Also serve IMAP on the HTTPS port for ALPN protocol imap.", False)


@dataclass
class WebService:
    Enabled: bool = req("Serve this web interface on the listener.", False)
    Port: int = opt("Port number; 80 for plain HTTP and 443 for HTTPS when zero.", 0)
    Path: str = opt("URL path prefix the interface is served under; end it with a slash.", "")
    Forwarded: bool = opt(
        "Trust X-Forwarded-* headers from a reverse proxy for the client address and scheme.", False
    )


@dataclass
class MetricsService:
    Enabled: bool = req("Serve this endpoint on the listener.", False)
    Port: int = opt("Port number; the service's default port when zero.", 0)


@dataclass
class PolicyService:
    Enabled: bool = req("Serve this endpoint on the listener.", False)
    Port: int = opt("Port number; 443 when zero.", 0)
    NonTLS: bool = opt("Serve plain HTTP instead of HTTPS, for a TLS-terminating proxy in front.", False)
    Forwarded: bool = opt("Trust X-Forwarded-* headers from a reverse proxy.", False)


@dataclass
class WebserverService:
    Enabled: bool = req("Serve the configured WebHandlers on the listener.", False)
    Port: int = opt("Port number; 80 for plain HTTP and 443 for HTTPS when zero.", 0)
    RateLimitDisabled: bool = opt("Do not limit the request rate per client IP.", False)


@dataclass
class Listener:
    IPs: list[str] = req(
        "Addresses to listen on; 0.0.0.0 and :: mean all. Explicit addresses are also used as "
        "source addresses for outgoing connections.",
        list,
    )
    NATIPs: list[str] = opt(
        "Public addresses that map to IPs through NAT; used for DNS and block list checks.", list
    )
    IPsNATed: bool = opt("Deprecated: the IPs are behind NAT. Use NATIPs instead.", False)
    Hostname: str = opt("Host name for this listener instead of the global Hostname.", "")
    TLS: ListenerTLS | None = opt("Certificates for STARTTLS, implicit TLS and HTTPS.", None)
    SMTPMaxMessageSize: int = opt("Largest message accepted, in bytes; 100 MiB when zero.", 0)
    SMTP: SMTPListener = opt("Incoming mail from other mail servers.", SMTPListener)
    Submission: SubmissionListener = opt("Message submission by mail clients (STARTTLS).", SubmissionListener)
    Submissions: SubmissionsListener = opt(
        "Message submission by mail clients over implicit TLS; needs TLS.", SubmissionsListener
    )
    IMAP: IMAPListener = opt("IMAP for mail clients (STARTTLS).", IMAPListener)
    IMAPS: IMAPSListener = opt("IMAP over implicit TLS; needs TLS.", IMAPSListener)
    AccountHTTP: WebService = opt("The account web interface over plain HTTP; path / by default.", WebService)
    AccountHTTPS: WebService = opt("The account web interface over HTTPS; needs TLS.", WebService)
    AdminHTTP: WebService = opt(
        "The admin web interface over plain HTTP; path /admin/ by default. Keep it off public IPs.",
        WebService,
    )
    AdminHTTPS: WebService = opt("The admin web interface over HTTPS; needs TLS.", WebService)
    WebmailHTTP: WebService = opt("Webmail over plain HTTP; path /webmail/ by default.", WebService)
    WebmailHTTPS: WebService = opt("Webmail over HTTPS; needs TLS.", WebService)
    WebAPIHTTP: WebService = opt(
        "The HTTP/JSON web API over plain HTTP; path /webapi/ by default.", WebService
    )
    WebAPIHTTPS: WebService = opt("The HTTP/JSON web API over HTTPS; needs TLS.", WebService)
    MetricsHTTP: MetricsService = opt(
        "Prometheus metrics over plain HTTP, port 8010 by default.", MetricsService
    )
    PprofHTTP: MetricsService = opt(
        "Profiling endpoint over plain HTTP, port 8011 by default.", MetricsService
    )
    AutoconfigHTTPS: PolicyService = opt(
        "Client autoconfiguration (autoconfig/autodiscover) for the configured domains.", PolicyService
    )
    MTASTSHTTPS: PolicyService = opt("MTA-STS policies of the configured domains (RFC 8461).", PolicyService)
    WebserverHTTP: WebserverService = opt("The webserver for WebHandlers over plain HTTP.", WebserverService)
    WebserverHTTPS: WebserverService = opt("The webserver for WebHandlers over HTTPS.", WebserverService)


@dataclass
class PostmasterDest:
    Account: str = req("Account that receives mail for postmaster addresses.", "")
    Mailbox: str = req("Mailbox in that account, e.g. Inbox or Postmaster.", "")


@dataclass
class HostTLSRPTDest:
    Account: str = req("Account that receives TLS reports about this host.", "")
    Mailbox: str = req("Mailbox in that account, e.g. TLSRPT.", "")
    Localpart: str = req("Local part of the reporting address at the host name, e.g. tls-reports.", "")


@dataclass
class SpecialUseMailboxes:
    Sent: str = opt("Name of the mailbox for sent messages.", "")
    Archive: str = opt("Name of the archive mailbox.", "")
    Trash: str = opt("Name of the trash mailbox.", "")
    Draft: str = opt("Name of the drafts mailbox.", "")
    Junk: str = opt("Name of the junk mailbox.", "")


@dataclass
class InitialMailboxesConfig:
    SpecialUse: SpecialUseMailboxes = opt(
        "Mailboxes with a special-use role (RFC 6154) created for new accounts.", SpecialUseMailboxes
    )
    Regular: list[str] = opt("Other mailboxes created for new accounts.", list)


@dataclass
class SMTPAuth:
    Username: str = req("User name for SMTP authentication at the smarthost.", "")
    Password: str = req("Password for SMTP authentication at the smarthost.", "")
    Mechanisms: list[str] = opt(
        "SASL mechanisms to try, strongest first; default SCRAM-SHA-256-PLUS and weaker ones.", list
    )


@dataclass
class TransportSMTP:
    Host: str = req("Host name of the smarthost.", "")
    Port: int = opt("Port of the smarthost; the protocol's default when zero.", 0)
    STARTTLSInsecureSkipVerify: bool = opt("Do not verify the smarthost's TLS certificate.", False)
    NoSTARTTLS: bool = opt("Do not use STARTTLS with the smarthost.", False)
    Auth: SMTPAuth | None = opt("Credentials for the smarthost.", None)


@dataclass
class TransportSocks:
    Address: str = req("host:port of the SOCKS5 proxy.", "")
    RemoteIPs: list[str] = req(
        "Public IPs that connections through the proxy come from, for SPF and reverse DNS checks.", list
    )
    RemoteHostname: str = req("Host name matching RemoteIPs, used in EHLO.", "")


@dataclass
class TransportDirect:
    DisableIPv4: bool = opt("Connect over IPv6 only.", False)
    DisableIPv6: bool = opt("Connect over IPv4 only.", False)


@dataclass
class TransportFail:
    SMTPCode: int = opt("Reply code to fail deliveries with; 554 when zero.", 0)
    SMTPMessage: str = opt("Text of the failure; a generic text when empty.", "")


@dataclass
class Transport:
    Submissions: TransportSMTP | None = opt("Deliver through a smarthost with implicit TLS (port 465).", None)
    Submission: TransportSMTP | None = opt("Deliver through a smarthost with STARTTLS (port 587).", None)
    SMTP: TransportSMTP | None = opt("Deliver through a smarthost on the SMTP port (25).", None)
    Socks: TransportSocks | None = opt(
        "Deliver directly to the recipient's MX, through a SOCKS5 proxy.", None
    )
    Direct: TransportDirect | None = opt("Deliver directly, with limits on address families.", None)
    Fail: TransportFail | None = opt("Do not deliver: fail each message with a DSN.", None)


@dataclass
class Static:
    DataDir: str = req(
        "Directory with all state (accounts, queue, certificates); relative to mox.conf's directory.", ""
    )
    LogLevel: str = req("Default log level: error, info, debug, trace, traceauth or tracedata.", "")
    PackageLogLevels: dict[str, str] = opt("Log levels for single packages, e.g. smtpserver: debug.", dict)
    User: str = opt(
        "User to switch to after binding the sockets as root; a number is used as uid and gid. Default mox.",
        "",
    )
    NoFixPermissions: bool = opt(
        "Do not fix ownership and permissions of config and data files at start.", False
    )
    Hostname: str = req("Fully qualified host name of this machine, e.g. mail.example.org.", "")
    CheckUpdates: bool = opt("Look up new releases once a day with a DNS TXT query.", False)
    Pedantic: bool = opt("Treat protocol violations that are common in practice as errors.", False)
    TLS: GlobalTLS = opt("TLS settings for outgoing connections.", GlobalTLS)
    ACME: dict[str, ACMEProvider] = opt("ACME providers for automatic certificates, by name.", dict)
    AdminPasswordFile: str = opt("File with the hash of the admin password for the admin web interface.", "")
    Listeners: dict[str, Listener] = req(
        "Named groups of IPs with the services served on them. The name public gets extra checks.", dict
    )
    Postmaster: PostmasterDest = req("Where mail to postmaster addresses is delivered.", PostmasterDest)
    HostTLSRPT: HostTLSRPTDest = opt(
        "Where TLS reports about the host name itself are delivered.", HostTLSRPTDest
    )
    InitialMailboxes: InitialMailboxesConfig | None = opt("Mailboxes created for new accounts.", None)
    DefaultMailboxes: list[str] = opt("Deprecated: use InitialMailboxes.", list)
    Transports: dict[str, Transport] = opt("Named ways to deliver outgoing mail, chosen by Routes.", dict)
    NoOutgoingDMARCReports: bool = opt("Do not send DMARC aggregate reports to other domains.", False)
    NoOutgoingTLSReports: bool = opt("Do not send TLS reports to other domains.", False)
    OutgoingTLSReportsForAllSuccess: bool = opt(
        "Also send TLS reports when all connections succeeded.", False
    )
    QuotaMessageSize: int = opt(
        "Default maximum total message size per account in bytes; zero is unlimited.", 0
    )
