"""Address lookup for delivery, following mox's rules (separators, case, catchall, postmaster,
aliases, disabled domains, implicit report addresses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Config, load
from tests.config.conftest import edit_file

DOMAINS = """Domains:
	localhost:
		LocalpartCatchallSeparator: +
	example.org:
		LocalpartCatchallSeparators:
			- +
			- =
		DMARC:
			Localpart: dmarc-reports
			Account: mox
			Mailbox: DMARC
		TLSRPT:
			Localpart: tls-reports
			Account: other
			Mailbox: TLSRPT
		Aliases:
			team:
				Addresses:
					- mox@localhost
					- bob@example.org
	case.example:
		LocalpartCaseSensitive: true
	off.example:
		Disabled: true
Accounts:
	mox:
		Domain: localhost
		Destinations:
			mox@localhost: nil
			@case.example:
				Mailbox: Catchall
			off@off.example: nil
			""@localhost:
				Mailbox: Empty
			"quoted name"@localhost: nil
	other:
		Domain: example.org
		Destinations:
			bob@example.org:
				Mailbox: Bob
			Alice@case.example: nil
			carol: nil
"""


@pytest.fixture
def cfg(confdir: Path) -> Config:
    (confdir / "domains.conf").write_text(DOMAINS)
    edit_file(
        confdir / "mox.conf",
        "Postmaster:\n\tAccount: mox",
        "HostTLSRPT:\n\tAccount: other\n\tMailbox: HostTLS\n\tLocalpart: tls-host\nPostmaster:\n\tAccount: mox",
    )
    return load(confdir / "mox.conf")


@pytest.mark.parametrize(
    ("localpart", "domain", "account", "key", "mailbox"),
    [
        ("mox", "localhost", "mox", "mox@localhost", ""),
        ("MOX", "LocalHost", "mox", "mox@localhost", ""),
        ("mox+tag", "localhost", "mox", "mox@localhost", ""),
        ("mox+a+b", "localhost", "mox", "mox@localhost", ""),
        ("bob", "example.org", "other", "bob@example.org", "Bob"),
        ("bob=list", "example.org", "other", "bob@example.org", "Bob"),
        ("Bob+x=y", "example.org", "other", "bob@example.org", "Bob"),
        ("carol", "example.org", "other", "carol", ""),
        ("Alice", "case.example", "other", "Alice@case.example", ""),
        ("alice", "case.example", "mox", "@case.example", "Catchall"),
        ("anyone", "case.example", "mox", "@case.example", "Catchall"),
        ("dmarc-reports", "example.org", "mox", "dmarc-reports@example.org", "DMARC"),
        ("tls-reports", "example.org", "other", "tls-reports@example.org", "TLSRPT"),
        ("tls-host", "localhost", "other", "tls-host@localhost", "HostTLS"),
        ("postmaster", "localhost", "mox", "postmaster", "Inbox"),
        ("PostMaster", "example.org", "mox", "postmaster", "Inbox"),
        ("", "localhost", "mox", '""@localhost', "Empty"),
        ("Quoted Name", "localhost", "mox", '"quoted name"@localhost', ""),
    ],
)
def test_lookup(cfg: Config, localpart: str, domain: str, account: str, key: str, mailbox: str) -> None:
    m = cfg.lookup_address(localpart, domain)
    assert m is not None, (localpart, domain)
    assert (m.account, m.key, m.destination.Mailbox) == (account, key, mailbox)


@pytest.mark.parametrize(
    ("localpart", "domain"),
    [
        ("nobody", "localhost"),
        ("mox", "unknown.example"),
        ("off", "off.example"),  # disabled domain
        ("team", "example.org"),  # an alias, not an account address
        ("mox", "bad domain!"),
        ("mox-tag", "localhost"),  # - is not a separator of localhost
    ],
)
def test_no_match(cfg: Config, localpart: str, domain: str) -> None:
    assert cfg.lookup_address(localpart, domain) is None


def test_postmaster_can_be_refused(cfg: Config) -> None:
    assert cfg.lookup_address("postmaster", "localhost", allow_postmaster=False) is None


def test_alias(cfg: Config) -> None:
    a = cfg.lookup_alias("Team+x", "EXAMPLE.org")
    assert a is not None
    assert a.address == "team@example.org"
    assert a.alias.Addresses == ["mox@localhost", "bob@example.org"]
    assert cfg.lookup_alias("mox", "localhost") is None


def test_implicit_addresses_listed(cfg: Config) -> None:
    assert sorted(cfg.account_addresses("other")) == [
        "Alice@case.example",
        "bob@example.org",
        "carol@example.org",
        "tls-host@localhost",
        "tls-reports@example.org",
    ]


def test_destination_with_separator_refused(confdir: Path) -> None:
    (confdir / "domains.conf").write_text(DOMAINS.replace("mox@localhost: nil", "mox+x@localhost: nil"))
    with pytest.raises(Exception, match="catchall separator"):
        load(confdir / "mox.conf")


def test_duplicate_destination_refused(confdir: Path) -> None:
    (confdir / "domains.conf").write_text(DOMAINS.replace("carol: nil", "MOX@localhost: nil"))
    with pytest.raises(Exception, match="also a destination of account 'mox'"):
        load(confdir / "mox.conf")


def test_alias_member_must_exist(confdir: Path) -> None:
    (confdir / "domains.conf").write_text(DOMAINS.replace("- bob@example.org", "- ghost@example.org"))
    with pytest.raises(Exception, match="not an address of an account"):
        load(confdir / "mox.conf")


def test_report_address_may_be_an_address_of_the_same_account(confdir: Path) -> None:
    text = DOMAINS.replace("Localpart: dmarc-reports", "Localpart: mox\n\t\t\tDomain: localhost")
    (confdir / "domains.conf").write_text(text)
    cfg = load(confdir / "mox.conf")
    m = cfg.lookup_address("mox", "localhost")
    assert m is not None and (m.account, m.destination.Mailbox) == ("mox", "DMARC")


def test_report_address_of_another_account_refused(confdir: Path) -> None:
    text = DOMAINS.replace("Localpart: tls-reports", "Localpart: mox\n\t\t\tDomain: localhost")
    (confdir / "domains.conf").write_text(text)
    with pytest.raises(Exception, match="also a destination of account 'mox'"):
        load(confdir / "mox.conf")
