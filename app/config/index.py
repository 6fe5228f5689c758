"""Building the lookup index of a (mox.conf, domains.conf) pair, checking on the way what only
shows when all addresses are seen together: unique destinations, catchall separators inside
configured addresses, report addresses, alias members, FromID login addresses.
"""

from __future__ import annotations

from collections.abc import Iterator

from app.config.accounts import Destination
from app.config.domains import Domain, Dynamic
from app.config.errors import Problems
from app.config.lookup import AddressMatch, AliasMatch, Index, canonical_localpart, separators
from app.config.names import address_key, check_localpart, normalize_domain, parse_address
from app.config.static import Static


def _norm(name: str) -> str:
    try:
        return normalize_domain(name)
    except ValueError:
        return ""


class IndexBuilder:
    """Fills an Index step by step; problems go to pr (domains.conf) or spr (mox.conf)."""

    def __init__(self, static: Static, dyn: Dynamic, pr: Problems, spr: Problems) -> None:
        self.static = static
        self.dyn = dyn
        self.pr = pr
        self.ix = Index(
            postmaster_account=static.Postmaster.Account,
            postmaster_mailbox=static.Postmaster.Mailbox,
            accounts=dict(dyn.Accounts),
        )
        self.ix.hostname = _norm(static.Hostname)  # an invalid one is reported by the static checks
        if self.ix.hostname:
            self.ix.postmaster_domains.add(self.ix.hostname)
        for lst in static.Listeners.values():
            if lst.Hostname and lst.SMTP.Enabled and _norm(lst.Hostname):
                self.ix.postmaster_domains.add(_norm(lst.Hostname))
        for what, acc in (
            ("Postmaster", static.Postmaster.Account),
            ("HostTLSRPT", static.HostTLSRPT.Account),
        ):
            if acc and acc not in dyn.Accounts:
                spr.add(f"{what}.Account", f"account {acc!r} is not in the Accounts of domains.conf")

    def add_domains(self) -> Iterator[tuple[str, Domain]]:
        """Index the domains by normalized name; yields those that are valid and unique."""
        for key, d in self.dyn.Domains.items():
            try:
                dom = normalize_domain(key)
            except ValueError as e:
                self.pr.add(f"Domains.{key}", str(e))
                continue
            if dom in self.ix.domains:
                self.pr.add(f"Domains.{key}", f"same domain as {self.ix.domains[dom]!r}")
                continue
            self.ix.domains[dom] = key
            self.ix.domain_configs[dom] = d
            yield key, d

    def add_dest(
        self, path: str, account: str, key: str, addr: str, dest: Destination, report: bool = False
    ) -> None:
        """Index one destination. A report address (DMARC/TLS reports) may coincide with an
        address of the same account; as in mox, the report destination then wins."""
        try:
            a = parse_address(addr)
        except ValueError as e:
            self.pr.add(path, str(e))
            return
        d = self.ix.domain_configs.get(a.domain)
        if d is None:
            if a.domain != self.ix.hostname or a.catchall:
                self.pr.add(path, f"domain {a.domain!r} of address {addr!r} is not configured in Domains")
                return
            # Host-level addresses (TLS reports) live at the host name, which need not be a domain.
            canonical = address_key(a.localpart.lower(), a.domain)
        elif a.catchall:
            canonical = a.key
        else:
            for sep in separators(d):
                if sep in a.localpart:
                    self.pr.add(path, f"local part of {addr!r} contains catchall separator {sep!r}")
            canonical = address_key(canonical_localpart(a.localpart, d), a.domain)
        prev = self.ix.destinations.get(canonical)
        if prev is not None and not (report and prev.account == account):
            self.pr.add(path, f"address {canonical!r} is also a destination of account {prev.account!r}")
            return
        self.ix.destinations[canonical] = AddressMatch(account, key, dest, canonical)

    def add_account_destinations(self) -> None:
        for name, acc in self.dyn.Accounts.items():
            for addr, dest in acc.Destinations.items():
                path = f"Accounts.{name}.Destinations.{addr}"
                full = addr
                if "@" not in addr:
                    if not acc.Domain:
                        self.pr.add(path, "a bare local part needs the account's Domain")
                        continue
                    full = f"{addr}@{acc.Domain}"
                self.add_dest(path, name, addr, full, dest)

    def add_report_destinations(self) -> None:
        """DMARC and TLS report addresses are implicit destinations of their account."""
        for key, d in self.dyn.Domains.items():
            for what, rep in (("DMARC", d.DMARC), ("TLSRPT", d.TLSRPT)):
                if rep is None or rep.Account not in self.dyn.Accounts:
                    continue
                rdom = key
                if rep.Domain:
                    rdom = _norm(rep.Domain)
                    if rdom not in self.ix.domains:
                        self.pr.add(
                            f"Domains.{key}.{what}.Domain", f"domain {rep.Domain!r} is not configured"
                        )
                        continue
                addr = f"{rep.Localpart}@{rdom}"
                dest = Destination(Mailbox=rep.Mailbox)
                self.add_dest(f"Domains.{key}.{what}", rep.Account, addr, addr, dest, report=True)
        h = self.static.HostTLSRPT
        if h.Localpart and h.Account in self.dyn.Accounts and self.ix.hostname:
            addr = f"{h.Localpart}@{self.ix.hostname}"
            self.add_dest("", h.Account, addr, addr, Destination(Mailbox=h.Mailbox), report=True)

    def add_aliases(self) -> None:
        for key, d in self.dyn.Domains.items():
            dom = _norm(key)
            if self.ix.domains.get(dom) != key:
                continue  # invalid or duplicate domain, reported already
            for lp, alias in d.Aliases.items():
                path = f"Domains.{key}.Aliases.{lp}"
                try:
                    check_localpart(lp)
                except ValueError as e:
                    self.pr.add(path, str(e))
                    continue
                canonical = address_key(canonical_localpart(lp, d), dom)
                if canonical in self.ix.destinations:
                    self.pr.add(path, f"alias address {canonical!r} is also an account address")
                    continue
                if not alias.Addresses:
                    self.pr.add(f"{path}.Addresses", "an alias needs at least one address")
                for i, member in enumerate(alias.Addresses):
                    if self._account_address(member) is None:
                        self.pr.add(f"{path}.Addresses[{i}]", f"{member!r} is not an address of an account")
                self.ix.aliases[canonical] = AliasMatch(dom, canonical_localpart(lp, d), alias)

    def _account_address(self, addr: str) -> AddressMatch | None:
        """The exact (non-catchall) account destination of addr, if any."""
        try:
            a = parse_address(addr)
        except ValueError:
            return None
        d = self.ix.domain_configs.get(a.domain)
        if a.catchall or d is None:
            return None
        return self.ix.destinations.get(address_key(canonical_localpart(a.localpart, d), a.domain))

    def check_fromid_addresses(self) -> None:
        for name, acc in self.dyn.Accounts.items():
            for i, addr in enumerate(acc.FromIDLoginAddresses):
                path = f"Accounts.{name}.FromIDLoginAddresses[{i}]"
                m = self._account_address(addr)
                if m is None or m.account != name:
                    self.pr.add(path, f"{addr!r} is not an address of this account")
                    continue
                d = self.ix.domain_configs[parse_address(addr).domain]
                if not separators(d):
                    self.pr.add(path, "its domain has no catchall separator")
