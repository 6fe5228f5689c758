"""Typed ``domains.conf``: the dynamic configuration (domains, accounts, aliases, routes, web
handlers), reloaded while running and rewritten by the admin interfaces. Field names, types and
defaults are mox's; the docs are ours (``config describe-domains`` prints them).
"""

# opt()/req() wrap dataclasses.field(); the defaults they are given are immutable or factories.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass

from app.config.accounts import Account, Route
from app.config.duration import Duration
from app.config.schema import opt, req


@dataclass
class Canonicalization:
    HeaderRelaxed: bool = req(
        "Relaxed header canonicalization (RFC 6376 section 3.4.2) instead of simple.", False
    )
    BodyRelaxed: bool = req(
        "Relaxed body canonicalization (RFC 6376 section 3.4.4) instead of simple.", False
    )


@dataclass
class Selector:
    Hash: str = opt("Hash algorithm for signatures: sha256 (default) or the deprecated sha1.", "")
    Canonicalization: Canonicalization = opt(
        "How headers and body are normalized before signing; simple/simple when absent.", Canonicalization
    )
    Headers: list[str] = opt(
        "Header fields to sign; a list of common fields like From, To, Subject when empty.", list
    )
    DontSealHeaders: bool = opt(
        "Do not sign an extra empty instance of each header (which prevents adding such headers later).",
        False,
    )
    Expiration: str = opt("How long signatures stay valid after signing, as a duration like 72h.", "")
    PrivateKeyFile: str = req("PEM file with the PKCS#8 private key, RSA or Ed25519.", "")


@dataclass
class DKIM:
    Selectors: dict[str, Selector] = req(
        "Signing keys by selector name; each needs a DNS TXT record at <selector>._domainkey.<domain>.", dict
    )
    Sign: list[str] = opt("Selectors used to sign outgoing messages.", list)


@dataclass
class DMARC:
    Localpart: str = req(
        "Local part of the address that receives DMARC aggregate reports, e.g. dmarc-reports.", ""
    )
    Domain: str = opt("Domain of that address, if not this domain; must be a configured domain.", "")
    Account: str = req("Account that receives the reports.", "")
    Mailbox: str = req("Mailbox in that account, e.g. DMARC.", "")


@dataclass
class MTASTS:
    PolicyID: str = req("Identifier of the current policy; change it whenever the policy changes.", "")
    Mode: str = req("Policy mode: enforce, testing or none.", "")
    MaxAge: Duration = req("How long senders may cache the policy, e.g. 24h.", Duration(0))
    MX: list[str] = opt("Host names allowed as MX; wildcards like *.example.org are allowed.", list)


@dataclass
class TLSRPT:
    Localpart: str = req("Local part of the address that receives TLS reports, e.g. tls-reports.", "")
    Domain: str = opt("Domain of that address, if not this domain; must be a configured domain.", "")
    Account: str = req("Account that receives the reports.", "")
    Mailbox: str = req("Mailbox in that account, e.g. TLSRPT.", "")


@dataclass
class Alias:
    Addresses: list[str] = req("Member addresses; each must be an address of a local account.", list)
    PostPublic: bool = opt("Anyone may send to the alias, not only its members.", False)
    ListMembers: bool = opt("Members can see who else is a member.", False)
    AllowMsgFrom: bool = opt("Members may send messages with the alias as From address.", False)


@dataclass
class Domain:
    Disabled: bool = opt(
        "Refuse incoming mail and logins for this domain while keeping its configuration.", False
    )
    Description: str = opt("Free text describing the domain.", "")
    ClientSettingsDomain: str = opt(
        "Host name mail clients should connect to, e.g. mail.example.org; needs a matching certificate.", ""
    )
    LocalpartCatchallSeparator: str = opt(
        "Separator such as + after which the rest of the local part is ignored for delivery.", ""
    )
    LocalpartCatchallSeparators: list[str] = opt(
        "Several catchall separators; do not combine with LocalpartCatchallSeparator.", list
    )
    LocalpartCaseSensitive: bool = opt("Match local parts case-sensitively (not recommended).", False)
    DKIM: DKIM = opt("DKIM signing of outgoing messages from this domain.", DKIM)
    DMARC: DMARC | None = opt("Where DMARC aggregate reports for this domain arrive.", None)
    MTASTS: MTASTS | None = opt("The MTA-STS policy served for this domain (RFC 8461).", None)
    TLSRPT: TLSRPT | None = opt("Where TLS reports for this domain arrive (RFC 8460).", None)
    Routes: list[Route] = opt("Routes for messages from this domain, tried after account routes.", list)
    Aliases: dict[str, Alias] = opt("Aliases (lists) by local part.", dict)


@dataclass
class WebStatic:
    StripPrefix: str = opt("Path prefix removed from the request path before looking up the file.", "")
    Root: str = req("Directory files are served from; relative to the working directory.", "")
    ListFiles: bool = opt("Show a listing for directories without index.html.", False)
    ContinueNotFound: bool = opt("When a file is not found, try the next handler instead of 404.", False)
    ResponseHeaders: dict[str, str] = opt("Extra headers added to each response.", dict)


@dataclass
class WebRedirect:
    BaseURL: str = opt("Scheme and host (and optional path) to redirect to, e.g. https://example.org.", "")
    OrigPathRegexp: str = opt("Regular expression on the request path, used with ReplacePath.", "")
    ReplacePath: str = opt("New path, with $1 and so on for groups of OrigPathRegexp.", "")
    StatusCode: int = opt("HTTP status of the redirect; 308 when zero.", 0)


@dataclass
class WebForward:
    StripPath: bool = opt("Remove the part of the path matched by PathRegexp before forwarding.", False)
    URL: str = req("URL of the backend requests are forwarded to.", "")
    ResponseHeaders: dict[str, str] = opt("Extra headers added to each response.", dict)


@dataclass
class WebInternal:
    BasePath: str = req("Path the internal service is mounted at, starting and ending with a slash.", "")
    Service: str = req("One of admin, account, webmail or webapi.", "")


@dataclass
class WebHandler:
    LogName: str = opt("Name of the handler in logs and metrics.", "")
    Domain: str = req("Host name the request must be for.", "")
    PathRegexp: str = req("Regular expression the request path must match; starts with ^.", "")
    DontRedirectPlainHTTP: bool = opt(
        "Serve plain HTTP requests instead of redirecting them to HTTPS.", False
    )
    Compress: bool = opt("Compress responses with gzip when the client accepts it.", False)
    WebStatic: WebStatic | None = opt("Serve files from a directory.", None)
    WebRedirect: WebRedirect | None = opt("Redirect to another URL.", None)
    WebForward: WebForward | None = opt("Reverse-proxy to another web server.", None)
    WebInternal: WebInternal | None = opt("Serve one of the built-in web interfaces.", None)


@dataclass
class Dynamic:
    Domains: dict[str, Domain] = req(
        "Domains mail is accepted for, by name; internationalized names may be written in UTF-8.", dict
    )
    Accounts: dict[str, Account] = req("Accounts by name; a name is not an email address.", dict)
    WebDomainRedirects: dict[str, str] = opt(
        "Hosts whose HTTPS requests are redirected to another host.", dict
    )
    WebHandlers: list[WebHandler] = opt(
        "Webserver handlers, tried in order; exactly one of WebStatic, WebRedirect, WebForward and "
        "WebInternal per handler.",
        list,
    )
    Routes: list[Route] = opt(
        "Routes for all outgoing messages, tried after account and domain routes.", list
    )
    MonitorDNSBLs: list[str] = opt("Block list zones to check our own IPs against.", list)
