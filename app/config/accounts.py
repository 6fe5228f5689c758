"""Typed accounts of ``domains.conf``: addresses (destinations), delivery rulesets, junk filter
settings, webhooks and per-account limits, with mox's field names, types and defaults.
"""

# opt()/req() wrap dataclasses.field(); the defaults they are given are immutable or factories.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass

from app.config.duration import Duration
from app.config.schema import opt, req


@dataclass
class Ruleset:
    SMTPMailFromRegexp: str = opt("Regular expression the SMTP MAIL FROM address must match.", "")
    MsgFromRegexp: str = opt("Regular expression the message From address must match.", "")
    VerifiedDomain: str = opt("Domain that must be verified by SPF or DKIM for the message.", "")
    HeadersRegexp: dict[str, str] = opt(
        "Header name (lower case) to regular expression; each must match a header of the message.", dict
    )
    IsForward: bool = opt(
        "The message is forwarded from another mailbox: skip reputation checks on the forwarding server "
        "and use VerifiedDomain to recognize it.",
        False,
    )
    ListAllowDomain: str = opt(
        "Mailing list domain (verified by SPF or DKIM) whose messages are accepted without junk checks.", ""
    )
    AcceptRejectsToMailbox: str = opt(
        "Deliver messages that would be rejected as junk to this mailbox instead of refusing them.", ""
    )
    Mailbox: str = req("Mailbox that messages matching this ruleset are delivered to.", "")
    Comment: str = opt("Free text to remember what this ruleset is for.", "")


@dataclass
class Destination:
    Mailbox: str = opt("Mailbox for incoming messages; Inbox when empty.", "")
    Rulesets: list[Ruleset] = opt("Rules tried in order; the first match picks the mailbox.", list)
    SMTPError: str = opt(
        "Refuse deliveries with this SMTP reply, e.g. '550 no longer in use'; starts with the code.", ""
    )
    MessageAuthRequiredSMTPError: str = opt(
        "Refuse messages without a DMARC-aligned SPF or DKIM pass, with this SMTP reply.", ""
    )
    FullName: str = opt("Display name used in From when sending as this address.", "")


@dataclass
class OutgoingWebhookConfig:
    URL: str = req("URL that events about outgoing deliveries are posted to.", "")
    Authorization: str = opt("Value of the Authorization header sent with each webhook call.", "")
    Events: list[str] = opt(
        "Events to send (delivered, suppressed, delayed, failed, relayed, expanded, canceled, "
        "unrecognized); all when empty.",
        list,
    )


@dataclass
class IncomingWebhookConfig:
    URL: str = req("URL that each incoming message is posted to.", "")
    Authorization: str = opt("Value of the Authorization header sent with each webhook call.", "")


@dataclass
class SubjectPassConfig:
    Period: Duration = req("How long a subject pass token stays valid, e.g. 24h.", Duration(0))


@dataclass
class AutomaticJunkFlagsConfig:
    Enabled: bool = req(
        "Set $Junk or $NotJunk on messages by the mailbox they are delivered or moved to.", False
    )
    JunkMailboxRegexp: str = opt(
        "Mailboxes (lower-cased names) whose messages are junk, e.g. ^(junk|spam).", ""
    )
    NeutralMailboxRegexp: str = opt("Mailboxes whose messages get neither flag, e.g. ^(inbox|rejects).", "")
    NotJunkMailboxRegexp: str = opt("Mailboxes whose messages are not junk.", "")


@dataclass
class JunkParams:
    Onegrams: bool = opt("Score single words.", False)
    Twograms: bool = opt("Score pairs of words.", False)
    Threegrams: bool = opt("Score triples of words.", False)
    MaxPower: float = req("Cap on how strongly one word can push the score, e.g. 0.01.", 0.0)
    TopWords: int = req("Number of most telling words that decide the score, e.g. 10.", 0)
    IgnoreWords: float = opt("Skip words whose score is within this distance of 0.5, e.g. 0.1.", 0.0)
    RareWords: int = opt("Words seen fewer times than this count less, e.g. 2.", 0)


@dataclass
class JunkFilterConfig:
    Threshold: float = req("Score between 0 and 1 above which a message is rejected as junk, e.g. 0.95.", 0.0)
    Params: JunkParams = req("Parameters of the Bayesian word scoring.", JunkParams)


@dataclass
class Route:
    FromDomain: list[str] = opt("Match messages from these domains (any when empty).", list)
    ToDomain: list[str] = opt(
        "Match messages to these domains; a leading dot also matches subdomains (any when empty).", list
    )
    MinimumAttempts: int = opt("Match only after this many delivery attempts.", 0)
    Transport: str = req("Name of the transport (from mox.conf Transports) to deliver with.", "")


@dataclass
class Account:
    OutgoingWebhook: OutgoingWebhookConfig | None = opt(
        "Call a URL for events about outgoing messages.", None
    )
    IncomingWebhook: IncomingWebhookConfig | None = opt(
        "Call a URL for each delivered incoming message.", None
    )
    FromIDLoginAddresses: list[str] = opt(
        "Addresses with a catchall separator whose part after it is replaced by a unique id when "
        "sending, to match bounces and replies to the sent message.",
        list,
    )
    KeepRetiredMessagePeriod: Duration = opt(
        "How long delivered or failed outgoing messages are kept after leaving the queue.", Duration(0)
    )
    KeepRetiredWebhookPeriod: Duration = opt(
        "How long finished webhook calls are kept after leaving the queue.", Duration(0)
    )
    LoginDisabled: str = opt(
        "When set, logins are refused and this message is shown; delivery continues.", ""
    )
    Domain: str = req("Default domain of the account; bare localparts in Destinations use it.", "")
    Description: str = opt("Free text describing the account.", "")
    FullName: str = opt("Display name used in From for messages sent by this account.", "")
    Destinations: dict[str, Destination] = opt(
        "Addresses of this account: localpart@domain, or @domain as catchall for a domain.", dict
    )
    SubjectPass: SubjectPassConfig = opt(
        "Let rejected senders through by quoting a token in the subject.", SubjectPassConfig
    )
    QuotaMessageSize: int = opt(
        "Maximum total size of messages in bytes; zero uses the global default, negative is unlimited.", 0
    )
    RejectsMailbox: str = opt("Mailbox where copies of rejected junk are kept for a while, e.g. Rejects.", "")
    KeepRejects: bool = opt("Do not clean up old messages in RejectsMailbox.", False)
    Introbox: str = opt("Mailbox for first messages from senders that passed checks, e.g. Introbox.", "")
    AutomaticJunkFlags: AutomaticJunkFlagsConfig = opt(
        "Derive junk flags from the mailbox a message is in.", AutomaticJunkFlagsConfig
    )
    JunkFilter: JunkFilterConfig | None = opt("Content-based Bayesian junk filtering for this account.", None)
    MaxOutgoingMessagesPerDay: int = opt("Limit on messages sent per 24 hours; 1000 when zero.", 0)
    MaxFirstTimeRecipientsPerDay: int = opt("Limit on new recipients mailed per 24 hours; 200 when zero.", 0)
    NoFirstTimeSenderDelay: bool = opt("Do not delay the first message from a new sender.", False)
    NoCustomPassword: bool = opt("The user may not choose a password, only have one generated.", False)
    IMAPCapabilitiesDisabled: list[str] = opt(
        "IMAP capabilities not announced to this account's clients.", list
    )
    Routes: list[Route] = opt("Routes for messages sent by this account, tried before domain routes.", list)
