"""Pure edits of domains.conf for the admin CLI, ctl and web interfaces.

Each function takes a Dynamic and returns a new one (the argument is not modified), or raises
EditError with a message for the user. Use with ``Config.update_dynamic``, which also runs the
complete consistency checks before writing::

    cfg.update_dynamic(lambda d: edit.add_address(d, "bob@example.org", "bob"))

Creating or removing the account databases that go with accounts is up to the caller.
"""

from __future__ import annotations

import copy
import re

from app.config.accounts import Account, AutomaticJunkFlagsConfig, Destination, JunkFilterConfig, JunkParams
from app.config.domains import Alias, Domain, Dynamic
from app.config.errors import ConfigError
from app.config.lookup import canonical_localpart
from app.config.names import ConfigAddress, address_key, normalize_domain, parse_address, unicode_domain

_ACCOUNT_NAME = re.compile(r"[^/\\\x00-\x1f.][^/\\\x00-\x1f]*\Z")


class EditError(ConfigError):
    """An edit that cannot be made, with the reason."""


def _copy(d: Dynamic) -> Dynamic:
    return copy.deepcopy(d)


def _domain_key(d: Dynamic, name: str) -> str | None:
    """The key in d.Domains of a domain, matching case-insensitively and across IDNA forms."""
    try:
        n = normalize_domain(name)
    except ValueError as e:
        raise EditError(str(e))
    for k in d.Domains:
        try:
            if normalize_domain(k) == n:
                return k
        except ValueError:
            continue
    return None


def _addr(d: Dynamic, address: str) -> tuple[ConfigAddress, str, Domain]:
    """Parse an address whose domain must be configured; returns it, the domain key and Domain."""
    try:
        a = parse_address(address)
    except ValueError as e:
        raise EditError(str(e))
    key = _domain_key(d, a.domain)
    if key is None:
        raise EditError(f"domain {a.domain!r} is not configured")
    return a, key, d.Domains[key]


def _canonical(d: Dynamic, address: str) -> str:
    a, _, dom = _addr(d, address)
    return a.key if a.catchall else address_key(canonical_localpart(a.localpart, dom), a.domain)


def _dest_canonical(d: Dynamic, acc: Account, key: str) -> str | None:
    full = key if "@" in key else f"{key}@{acc.Domain}"
    try:
        return _canonical(d, full)
    except EditError:
        return None


def find_address(d: Dynamic, address: str) -> tuple[str, str] | None:
    """The (account name, destination key) that holds this address, if any."""
    want = _canonical(d, address)
    for name, acc in d.Accounts.items():
        for key in acc.Destinations:
            if _dest_canonical(d, acc, key) == want:
                return name, key
    return None


def _check_unused(d: Dynamic, address: str) -> None:
    a, _, dom = _addr(d, address)
    if not a.catchall:
        for sep in [dom.LocalpartCatchallSeparator, *dom.LocalpartCatchallSeparators]:
            if sep and sep in a.localpart:
                raise EditError(f"local part of {address!r} contains the catchall separator {sep!r}")
    found = find_address(d, address)
    if found is not None:
        raise EditError(f"address {address!r} is already used by account {found[0]!r}")
    if not a.catchall and canonical_localpart(a.localpart, dom) in {
        canonical_localpart(lp, dom) for lp in dom.Aliases
    }:
        raise EditError(f"address {address!r} is already an alias")


def new_account(address: str, domain: str) -> Account:
    """The settings of a new account, as mox creates them: junk filtering and flags on."""
    return Account(
        Domain=domain,
        Destinations={address: Destination()},
        RejectsMailbox="Rejects",
        AutomaticJunkFlags=AutomaticJunkFlagsConfig(
            Enabled=True,
            JunkMailboxRegexp="^(junk|spam)",
            NeutralMailboxRegexp="^(inbox|introbox|neutral|postmaster|dmarc|tlsrpt|rejects)",
        ),
        JunkFilter=JunkFilterConfig(
            Threshold=0.95,
            Params=JunkParams(Onegrams=True, MaxPower=0.01, TopWords=10, IgnoreWords=0.1, RareWords=2),
        ),
    )


def add_account(d: Dynamic, name: str, address: str) -> Dynamic:
    """Add account name with its first address (localpart@domain of a configured domain)."""
    if not _ACCOUNT_NAME.match(name):
        raise EditError(f"invalid account name {name!r}")
    if name in d.Accounts:
        raise EditError(f"account {name!r} already exists")
    a, key, _ = _addr(d, address)
    if a.catchall:
        raise EditError("the first address of an account cannot be a catchall")
    _check_unused(d, address)
    n = _copy(d)
    n.Accounts[name] = new_account(f"{address.rpartition('@')[0]}@{key}", key)
    return n


def _referrers(d: Dynamic, account: str) -> list[str]:
    out = []
    for key, dom in d.Domains.items():
        if dom.DMARC is not None and dom.DMARC.Account == account:
            out.append(f"DMARC reports of {key}")
        if dom.TLSRPT is not None and dom.TLSRPT.Account == account:
            out.append(f"TLS reports of {key}")
    return out


def _add_account_flipped(d: Dynamic, address: str, name: str) -> Dynamic:
    return add_account(d, name, address)


def remove_account(d: Dynamic, name: str) -> Dynamic:
    """Remove an account from the configuration (its data stays on disk)."""
    if name not in d.Accounts:
        raise EditError(f"account {name!r} does not exist")
    refs = _referrers(d, name)
    if refs:
        raise EditError(f"account {name!r} still receives {', '.join(refs)}")
    n = _copy(d)
    acc = n.Accounts.pop(name)
    gone = {_dest_canonical(d, acc, k) for k in acc.Destinations}
    for dom in n.Domains.values():
        for lp, alias in dom.Aliases.items():
            left = [m for m in alias.Addresses if _canonical(d, m) not in gone]
            if not left:
                raise EditError(f"alias {lp!r} would have no members left")
            alias.Addresses = left
    return n


def add_address(d: Dynamic, address: str, account: str) -> Dynamic:
    """Add an address (or ``@domain`` catchall) to an existing account."""
    if account not in d.Accounts:
        raise EditError(f"account {account!r} does not exist")
    _, key, _ = _addr(d, address)
    _check_unused(d, address)
    n = _copy(d)
    n.Accounts[account].Destinations[f"{address.rpartition('@')[0]}@{key}"] = Destination()
    return n


def remove_address(d: Dynamic, address: str) -> Dynamic:
    """Remove an address from its account; the last address of an account cannot be removed."""
    found = find_address(d, address)
    if found is None:
        raise EditError(f"address {address!r} does not exist")
    name, key = found
    if len(d.Accounts[name].Destinations) == 1:
        raise EditError(f"{address!r} is the last address of account {name!r}; remove the account instead")
    n = _copy(d)
    del n.Accounts[name].Destinations[key]
    want = _canonical(d, address)
    for dom in n.Domains.values():
        for lp, alias in dom.Aliases.items():
            left = [m for m in alias.Addresses if _canonical(d, m) != want]
            if not left:
                raise EditError(f"alias {lp!r} would have no members left")
            alias.Addresses = left
    return n


def add_domain(d: Dynamic, domain: str, account: str = "", localpart: str = "") -> Dynamic:
    """Add a domain. With account: also give that account localpart@domain (default
    postmaster), creating the account if it does not exist."""
    try:
        name = normalize_domain(domain)
    except ValueError as e:
        raise EditError(str(e))
    if _domain_key(d, name) is not None:
        raise EditError(f"domain {name!r} already exists")
    n = _copy(d)
    # Keys are written in UTF-8 (U-labels), as mox does; lookups compare normalized forms.
    name = unicode_domain(name)
    n.Domains[name] = Domain(LocalpartCatchallSeparator="+")
    if account:
        address = f"{localpart or 'postmaster'}@{name}"
        add = add_address if account in n.Accounts else _add_account_flipped
        n = add(n, address, account)
    return n


def remove_domain(d: Dynamic, domain: str) -> Dynamic:
    """Remove a domain that no account address or account default refers to."""
    key = _domain_key(d, domain)
    if key is None:
        raise EditError(f"domain {domain!r} does not exist")
    n = _copy(d)
    dom = n.Domains.pop(key)
    norm = normalize_domain(key)
    for name, acc in d.Accounts.items():
        for dest in acc.Destinations:
            full = dest if "@" in dest else f"{dest}@{acc.Domain}"
            try:
                if parse_address(full).domain == norm:
                    raise EditError(f"domain {key!r} still has address {dest!r} in account {name!r}")
            except ValueError:
                continue
        if acc.Domain and _safe_norm(acc.Domain) == norm:
            raise EditError(f"account {name!r} has {key!r} as its default domain")
    if dom.Aliases:
        raise EditError(f"domain {key!r} still has aliases")
    return n


def _safe_norm(name: str) -> str:
    try:
        return normalize_domain(name)
    except ValueError:
        return ""


def _set_domain_disabled(d: Dynamic, domain: str, disabled: bool) -> Dynamic:
    key = _domain_key(d, domain)
    if key is None:
        raise EditError(f"domain {domain!r} does not exist")
    n = _copy(d)
    n.Domains[key].Disabled = disabled
    return n


def disable_domain(d: Dynamic, domain: str) -> Dynamic:
    """Mark a domain disabled: no incoming mail or logins for it, configuration kept."""
    return _set_domain_disabled(d, domain, True)


def enable_domain(d: Dynamic, domain: str) -> Dynamic:
    """Undo disable_domain."""
    return _set_domain_disabled(d, domain, False)


def disable_account_login(d: Dynamic, name: str, message: str) -> Dynamic:
    """Refuse logins to an account with message (shown to the user); delivery continues."""
    if name not in d.Accounts:
        raise EditError(f"account {name!r} does not exist")
    if not message.strip() or "\n" in message:
        raise EditError("a single-line, non-empty message is required")
    n = _copy(d)
    n.Accounts[name].LoginDisabled = message
    return n


def enable_account_login(d: Dynamic, name: str) -> Dynamic:
    """Allow logins to an account again."""
    if name not in d.Accounts:
        raise EditError(f"account {name!r} does not exist")
    n = _copy(d)
    n.Accounts[name].LoginDisabled = ""
    return n


def _alias_key(d: Dynamic, address: str) -> tuple[str, Domain, str | None]:
    """(domain key, Domain, existing alias key or None) for an alias address."""
    a, key, dom = _addr(d, address)
    if a.catchall or not a.localpart:
        raise EditError("an alias needs a local part")
    want = canonical_localpart(a.localpart, dom)
    for lp in dom.Aliases:
        if canonical_localpart(lp, dom) == want:
            return key, dom, lp
    return key, dom, None


def _members(d: Dynamic, addresses: list[str]) -> list[str]:
    out = []
    for m in addresses:
        if find_address(d, m) is None:
            raise EditError(f"{m!r} is not an address of an account")
        out.append(m)
    return out


def alias_add(
    d: Dynamic,
    address: str,
    addresses: list[str],
    post_public: bool = False,
    list_members: bool = False,
    allow_msg_from: bool = False,
) -> Dynamic:
    """Create an alias with member addresses (each an existing account address)."""
    key, _, existing = _alias_key(d, address)
    if existing is not None:
        raise EditError(f"alias {address!r} already exists")
    if find_address(d, address) is not None:
        raise EditError(f"{address!r} is an account address")
    if not addresses:
        raise EditError("an alias needs at least one member address")
    members = _members(d, addresses)
    n = _copy(d)
    lp = parse_address(address).localpart
    n.Domains[key].Aliases[lp] = Alias(members, post_public, list_members, allow_msg_from)
    return n


def alias_update(
    d: Dynamic,
    address: str,
    post_public: bool | None = None,
    list_members: bool | None = None,
    allow_msg_from: bool | None = None,
) -> Dynamic:
    """Change the settings of an alias; None leaves a setting as it is."""
    key, _, lp = _alias_key(d, address)
    if lp is None:
        raise EditError(f"alias {address!r} does not exist")
    n = _copy(d)
    al = n.Domains[key].Aliases[lp]
    if post_public is not None:
        al.PostPublic = post_public
    if list_members is not None:
        al.ListMembers = list_members
    if allow_msg_from is not None:
        al.AllowMsgFrom = allow_msg_from
    return n


def alias_remove(d: Dynamic, address: str) -> Dynamic:
    """Remove an alias."""
    key, _, lp = _alias_key(d, address)
    if lp is None:
        raise EditError(f"alias {address!r} does not exist")
    n = _copy(d)
    del n.Domains[key].Aliases[lp]
    return n


def alias_add_addresses(d: Dynamic, address: str, addresses: list[str]) -> Dynamic:
    """Add member addresses to an alias."""
    key, _, lp = _alias_key(d, address)
    if lp is None:
        raise EditError(f"alias {address!r} does not exist")
    members = _members(d, addresses)
    n = _copy(d)
    al = n.Domains[key].Aliases[lp]
    have = {_canonical(d, m) for m in al.Addresses}
    for m in members:
        c = _canonical(d, m)
        if c in have:
            raise EditError(f"{m!r} is already a member of {address!r}")
        have.add(c)
        al.Addresses.append(m)
    return n


def alias_remove_addresses(d: Dynamic, address: str, addresses: list[str]) -> Dynamic:
    """Remove member addresses from an alias; an alias keeps at least one member."""
    key, _, lp = _alias_key(d, address)
    if lp is None:
        raise EditError(f"alias {address!r} does not exist")
    n = _copy(d)
    al = n.Domains[key].Aliases[lp]
    drop = set()
    for m in addresses:
        c = _canonical(d, m)
        if c not in {_canonical(d, x) for x in al.Addresses}:
            raise EditError(f"{m!r} is not a member of {address!r}")
        drop.add(c)
    left = [m for m in al.Addresses if _canonical(d, m) not in drop]
    if not left:
        raise EditError(f"alias {address!r} would have no members left; remove the alias instead")
    al.Addresses = left
    return n
