"""Consistency checks of domains.conf (together with mox.conf), as mox does when loading or
reloading it, and the lookup index built from a valid pair: accounts reference configured
domains, destinations belong to configured domains and are unique, DKIM keys load, report
addresses point to existing accounts, routes name existing transports, web handlers are
well-formed, the postmaster account exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from app.config.accounts import Account, Destination, Route
from app.config.domains import Domain, Dynamic, WebHandler
from app.config.duration import parse_duration
from app.config.errors import Problems
from app.config.lookup import Index
from app.config.names import check_localpart, normalize_domain
from app.config.static import Static
from app.config.validate_static import check_file, resolve

WEBHOOK_EVENTS = (
    "delivered",
    "suppressed",
    "delayed",
    "failed",
    "relayed",
    "expanded",
    "canceled",
    "unrecognized",
)
WEB_INTERNAL = ("admin", "account", "webmail", "webapi")
_SMTP_ERROR = re.compile(r"[45][0-9][0-9]( .*)?\Z")
_POLICY_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")
_ACCOUNT_NAME_BAD = re.compile(r"[/\\\x00-\x1f]|^\.|^$")


def _regexp(pr: Problems, path: str, rx: str) -> None:
    try:
        re.compile(rx)
    except re.error as e:
        pr.add(path, f"invalid regular expression {rx!r}: {e}")


def _domain(pr: Problems, path: str, name: str) -> str:
    try:
        return normalize_domain(name)
    except ValueError as e:
        pr.add(path, str(e))
        return ""


def _check_dkim_key(pr: Problems, path: str, file: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        pr.add(path, f"cannot load DKIM private key {str(file)!r}: {e}")
        return
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        pr.add(path, f"DKIM key {str(file)!r} must be RSA or Ed25519")


def _check_routes(pr: Problems, static: Static, path: str, routes: list[Route]) -> None:
    for i, r in enumerate(routes):
        if r.Transport not in static.Transports:
            pr.add(
                f"{path}[{i}].Transport", f"unknown transport {r.Transport!r} (not in mox.conf Transports)"
            )
        for j, d in enumerate(r.FromDomain):
            _domain(pr, f"{path}[{i}].FromDomain[{j}]", d)
        for j, d in enumerate(r.ToDomain):
            _domain(pr, f"{path}[{i}].ToDomain[{j}]", d.removeprefix("."))
        if r.MinimumAttempts < 0:
            pr.add(f"{path}[{i}].MinimumAttempts", "must not be negative")


def _check_domain(pr: Problems, static: Static, dyn: Dynamic, config_dir: Path, key: str, d: Domain) -> None:
    base = f"Domains.{key}"
    if d.ClientSettingsDomain:
        _domain(pr, f"{base}.ClientSettingsDomain", d.ClientSettingsDomain)
    if d.LocalpartCatchallSeparator and d.LocalpartCatchallSeparators:
        pr.add(f"{base}.LocalpartCatchallSeparators", "cannot be combined with LocalpartCatchallSeparator")
    for i, sep in enumerate(d.LocalpartCatchallSeparators):
        if not sep:
            pr.add(f"{base}.LocalpartCatchallSeparators[{i}]", "empty separator")
    for sel, s in d.DKIM.Selectors.items():
        spath = f"{base}.DKIM.Selectors.{sel}"
        _domain(pr, spath, sel)
        if s.Hash.lower() not in ("", "sha256", "sha1"):
            pr.add(f"{spath}.Hash", f"unknown hash {s.Hash!r}, expected sha256 or sha1")
        if s.Headers and "from" not in (h.lower() for h in s.Headers):
            pr.add(f"{spath}.Headers", "the From header must be signed (RFC 6376 section 5.4)")
        if s.Expiration:
            try:
                if parse_duration(s.Expiration) <= 0:
                    pr.add(f"{spath}.Expiration", "must be positive")
            except ValueError as e:
                pr.add(f"{spath}.Expiration", str(e))
        check_file(pr, config_dir, f"{spath}.PrivateKeyFile", s.PrivateKeyFile, "DKIM private key file")
        f = resolve(config_dir, s.PrivateKeyFile)
        if s.PrivateKeyFile and f.is_file():
            _check_dkim_key(pr, f"{spath}.PrivateKeyFile", f)
    for i, sel in enumerate(d.DKIM.Sign):
        if sel not in d.DKIM.Selectors:
            pr.add(f"{base}.DKIM.Sign[{i}]", f"unknown selector {sel!r}")
    for what, rep in (("DMARC", d.DMARC), ("TLSRPT", d.TLSRPT)):
        if rep is None:
            continue
        try:
            check_localpart(rep.Localpart)
        except ValueError as e:
            pr.add(f"{base}.{what}.Localpart", str(e))
        if rep.Account not in dyn.Accounts:
            pr.add(f"{base}.{what}.Account", f"unknown account {rep.Account!r}")
        if not rep.Mailbox:
            pr.add(f"{base}.{what}.Mailbox", "mailbox is required")
    if d.MTASTS is not None:
        m = d.MTASTS
        if not _POLICY_ID.match(m.PolicyID):
            pr.add(f"{base}.MTASTS.PolicyID", "must be 1 to 32 letters and digits (RFC 8461 section 3.1)")
        if m.Mode not in ("enforce", "testing", "none"):
            pr.add(f"{base}.MTASTS.Mode", f"unknown mode {m.Mode!r}, expected enforce, testing or none")
        if m.MaxAge <= 0:
            pr.add(f"{base}.MTASTS.MaxAge", "must be positive")
        for i, mx in enumerate(m.MX):
            _domain(pr, f"{base}.MTASTS.MX[{i}]", mx.removeprefix("*."))
    _check_routes(pr, static, f"{base}.Routes", d.Routes)


def _check_account(pr: Problems, static: Static, domains: dict[str, Domain], name: str, acc: Account) -> None:
    base = f"Accounts.{name}"
    if _ACCOUNT_NAME_BAD.search(name):
        pr.add(base, f"invalid account name {name!r}")
    if acc.Domain:
        dom = _domain(pr, f"{base}.Domain", acc.Domain)
        if dom and dom not in domains:
            pr.add(f"{base}.Domain", f"domain {acc.Domain!r} is not configured in Domains")
    for what, wh in (("OutgoingWebhook", acc.OutgoingWebhook), ("IncomingWebhook", acc.IncomingWebhook)):
        if wh is not None and not wh.URL.startswith(("http://", "https://")):
            pr.add(f"{base}.{what}.URL", "must be an http or https URL")
    if acc.OutgoingWebhook is not None:
        for i, ev in enumerate(acc.OutgoingWebhook.Events):
            if ev not in WEBHOOK_EVENTS:
                pr.add(f"{base}.OutgoingWebhook.Events[{i}]", f"unknown event {ev!r}")
    if acc.JunkFilter is not None:
        jf = acc.JunkFilter
        if not 0 <= jf.Threshold <= 1:
            pr.add(f"{base}.JunkFilter.Threshold", "must be between 0 and 1")
        if jf.Params.TopWords < 0 or jf.Params.RareWords < 0:
            pr.add(f"{base}.JunkFilter.Params", "word counts must not be negative")
    ajf = acc.AutomaticJunkFlags
    for f in ("JunkMailboxRegexp", "NeutralMailboxRegexp", "NotJunkMailboxRegexp"):
        _regexp(pr, f"{base}.AutomaticJunkFlags.{f}", getattr(ajf, f))
    if acc.MaxOutgoingMessagesPerDay < 0 or acc.MaxFirstTimeRecipientsPerDay < 0:
        pr.add(base, "daily limits must not be negative")
    _check_routes(pr, static, f"{base}.Routes", acc.Routes)


def _check_destination(pr: Problems, path: str, dest: Destination) -> None:
    for i, rs in enumerate(dest.Rulesets):
        rpath = f"{path}.Rulesets[{i}]"
        _regexp(pr, f"{rpath}.SMTPMailFromRegexp", rs.SMTPMailFromRegexp)
        _regexp(pr, f"{rpath}.MsgFromRegexp", rs.MsgFromRegexp)
        for h, rx in rs.HeadersRegexp.items():
            _regexp(pr, f"{rpath}.HeadersRegexp.{h}", rx)
        if rs.VerifiedDomain:
            _domain(pr, f"{rpath}.VerifiedDomain", rs.VerifiedDomain)
        if rs.ListAllowDomain:
            _domain(pr, f"{rpath}.ListAllowDomain", rs.ListAllowDomain)
        if not rs.Mailbox:
            pr.add(f"{rpath}.Mailbox", "mailbox is required")
        if rs.IsForward and not rs.VerifiedDomain:
            pr.add(f"{rpath}.IsForward", "a forwarding ruleset needs VerifiedDomain")
        if not (rs.SMTPMailFromRegexp or rs.MsgFromRegexp or rs.VerifiedDomain or rs.HeadersRegexp):
            pr.add(rpath, "a ruleset needs at least one condition")
    for f in ("SMTPError", "MessageAuthRequiredSMTPError"):
        v = getattr(dest, f)
        if v and not _SMTP_ERROR.match(v):
            pr.add(f"{path}.{f}", f"must start with a 4xx or 5xx SMTP code, got {v!r}")


def _check_web_handler(pr: Problems, path: str, wh: WebHandler) -> None:
    _domain(pr, f"{path}.Domain", wh.Domain)
    if not wh.PathRegexp.startswith("^"):
        pr.add(f"{path}.PathRegexp", "must start with ^")
    _regexp(pr, f"{path}.PathRegexp", wh.PathRegexp)
    kinds = [
        k for k in ("WebStatic", "WebRedirect", "WebForward", "WebInternal") if getattr(wh, k) is not None
    ]
    if len(kinds) != 1:
        pr.add(
            path,
            f"exactly one of WebStatic, WebRedirect, WebForward, WebInternal must be set, found {len(kinds)}",
        )
    if wh.WebRedirect is not None:
        r = wh.WebRedirect
        if r.BaseURL:
            u = urlsplit(r.BaseURL)
            if u.scheme not in ("", "http", "https") or not u.netloc:
                pr.add(f"{path}.WebRedirect.BaseURL", "must be an http(s) URL with a host, or //host")
        if r.OrigPathRegexp:
            _regexp(pr, f"{path}.WebRedirect.OrigPathRegexp", r.OrigPathRegexp)
        if bool(r.OrigPathRegexp) != bool(r.ReplacePath):
            pr.add(f"{path}.WebRedirect", "OrigPathRegexp and ReplacePath go together")
        if not r.BaseURL and not r.OrigPathRegexp:
            pr.add(f"{path}.WebRedirect", "needs BaseURL or OrigPathRegexp with ReplacePath")
        if r.StatusCode and not 300 <= r.StatusCode <= 399:
            pr.add(f"{path}.WebRedirect.StatusCode", "must be a 3xx code")
    if wh.WebForward is not None and not wh.WebForward.URL.startswith(("http://", "https://")):
        pr.add(f"{path}.WebForward.URL", "must be an http or https URL")
    if wh.WebInternal is not None:
        wi = wh.WebInternal
        if wi.Service not in WEB_INTERNAL:
            pr.add(
                f"{path}.WebInternal.Service",
                f"unknown service {wi.Service!r}, expected one of {', '.join(WEB_INTERNAL)}",
            )
        if not (wi.BasePath.startswith("/") and wi.BasePath.endswith("/")):
            pr.add(f"{path}.WebInternal.BasePath", "must start and end with a slash")


def check_dynamic(
    static: Static, dyn: Dynamic, config_dir: Path, pr: Problems, static_pr: Problems | None = None
) -> Index:
    """Add the problems of a domains.conf (with its mox.conf) to pr and return the lookup index.

    Problems that are about a mox.conf field (Postmaster.Account naming a missing account) go to
    static_pr when given, so they point at the mox.conf line.
    """
    from app.config.index import IndexBuilder

    b = IndexBuilder(static, dyn, pr, static_pr or pr)
    for key, d in b.add_domains():
        _check_domain(pr, static, dyn, config_dir, key, d)
    for name, acc in dyn.Accounts.items():
        _check_account(pr, static, b.ix.domain_configs, name, acc)
        for addr, dest in acc.Destinations.items():
            _check_destination(pr, f"Accounts.{name}.Destinations.{addr}", dest)
    b.add_account_destinations()
    b.add_report_destinations()
    b.add_aliases()
    b.check_fromid_addresses()
    for src, dst in dyn.WebDomainRedirects.items():
        _domain(pr, f"WebDomainRedirects.{src}", src)
        _domain(pr, f"WebDomainRedirects.{src}", dst)
    for i, wh in enumerate(dyn.WebHandlers):
        _check_web_handler(pr, f"WebHandlers[{i}]", wh)
    _check_routes(pr, static, "Routes", dyn.Routes)
    for i, z in enumerate(dyn.MonitorDNSBLs):
        _domain(pr, f"MonitorDNSBLs[{i}]", z)
    return b.ix
