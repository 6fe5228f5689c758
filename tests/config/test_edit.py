"""Pure domains.conf edits: results, refusals with clear messages, and that every result passes
the full consistency checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.config import Config, Dynamic, edit, load, validate_dynamic
from app.config.edit import EditError


@pytest.fixture
def cfg(confdir: Path) -> Config:
    return load(confdir / "mox.conf")


def ok(cfg: Config, d: Dynamic) -> Dynamic:
    validate_dynamic(cfg.static, d, cfg.config_dir, "domains.conf")
    return d


def test_account_add_and_remove(cfg: Config) -> None:
    d0 = cfg.dynamic
    d = ok(cfg, edit.add_account(d0, "bob", "Bob@LocalHost"))
    assert "bob" not in d0.Accounts  # input untouched
    acc = d.Accounts["bob"]
    assert list(acc.Destinations) == ["Bob@localhost"]
    assert acc.Domain == "localhost"
    assert acc.JunkFilter is not None and acc.AutomaticJunkFlags.Enabled
    d = ok(cfg, edit.remove_account(d, "bob"))
    assert "bob" not in d.Accounts


@pytest.mark.parametrize(
    ("fn", "msg"),
    [
        (lambda d: edit.add_account(d, "mox", "x@localhost"), "already exists"),
        (lambda d: edit.add_account(d, "bob", "mox@localhost"), "already used by account 'mox'"),
        (lambda d: edit.add_account(d, "bob", "MOX+x@localhost"), "catchall separator"),
        (lambda d: edit.add_account(d, "bob", "bob@nowhere.example"), "not configured"),
        (lambda d: edit.add_account(d, "bob", "@localhost"), "catchall"),
        (lambda d: edit.add_account(d, "../evil", "e@localhost"), "invalid account name"),
        (lambda d: edit.add_account(d, "bob", "no-at-sign"), "no @"),
        (lambda d: edit.remove_account(d, "ghost"), "does not exist"),
        (lambda d: edit.add_address(d, "x@localhost", "ghost"), "does not exist"),
        (lambda d: edit.add_address(d, "Mox@localhost", "mox"), "already used"),
        (lambda d: edit.remove_address(d, "ghost@localhost"), "does not exist"),
        (lambda d: edit.remove_address(d, "mox@localhost"), "last address"),
        (lambda d: edit.add_domain(d, "LOCALHOST"), "already exists"),
        (lambda d: edit.add_domain(d, "bad_domain!"), "invalid"),
        (lambda d: edit.remove_domain(d, "localhost"), "still has address"),
        (lambda d: edit.remove_domain(d, "nowhere.example"), "does not exist"),
        (lambda d: edit.disable_domain(d, "nowhere.example"), "does not exist"),
        (lambda d: edit.disable_account_login(d, "mox", ""), "message is required"),
        (lambda d: edit.disable_account_login(d, "ghost", "no"), "does not exist"),
        (lambda d: edit.alias_add(d, "mox@localhost", ["mox@localhost"]), "account address"),
        (lambda d: edit.alias_add(d, "team@localhost", []), "at least one"),
        (lambda d: edit.alias_add(d, "team@localhost", ["ghost@localhost"]), "not an address of an account"),
        (lambda d: edit.alias_remove(d, "team@localhost"), "does not exist"),
        (lambda d: edit.alias_update(d, "team@localhost", post_public=True), "does not exist"),
    ],
)
def test_refusals(cfg: Config, fn: Callable[[Dynamic], Dynamic], msg: str) -> None:
    with pytest.raises(EditError, match=msg):
        fn(cfg.dynamic)


def test_addresses(cfg: Config) -> None:
    d = ok(cfg, edit.add_address(cfg.dynamic, "second@localhost", "mox"))
    d = ok(cfg, edit.add_address(d, "@localhost", "mox"))
    assert set(d.Accounts["mox"].Destinations) == {"mox@localhost", "second@localhost", "@localhost"}
    assert edit.find_address(d, "SECOND+tag@localhost") == ("mox", "second@localhost")
    d = ok(cfg, edit.remove_address(d, "Second@localhost"))
    assert "second@localhost" not in d.Accounts["mox"].Destinations


def test_domains(cfg: Config) -> None:
    d = ok(cfg, edit.add_domain(cfg.dynamic, "Example.ORG", "newacct", "admin"))
    assert "example.org" in d.Domains
    assert list(d.Accounts["newacct"].Destinations) == ["admin@example.org"]
    d = ok(cfg, edit.add_domain(d, "bücher.example", "mox"))
    assert "postmaster@bücher.example" in d.Accounts["mox"].Destinations
    d = ok(cfg, edit.disable_domain(d, "example.org"))
    assert d.Domains["example.org"].Disabled
    d = ok(cfg, edit.enable_domain(d, "example.org"))
    assert not d.Domains["example.org"].Disabled
    d = ok(cfg, edit.add_domain(d, "empty.example"))
    d = ok(cfg, edit.remove_domain(d, "EMPTY.example"))
    assert "empty.example" not in d.Domains


def test_login_disable(cfg: Config) -> None:
    d = ok(cfg, edit.disable_account_login(cfg.dynamic, "mox", "account suspended, contact admin"))
    assert d.Accounts["mox"].LoginDisabled == "account suspended, contact admin"
    d = ok(cfg, edit.enable_account_login(d, "mox"))
    assert d.Accounts["mox"].LoginDisabled == ""


def test_aliases(cfg: Config) -> None:
    d = ok(cfg, edit.add_account(cfg.dynamic, "bob", "bob@localhost"))
    d = ok(cfg, edit.alias_add(d, "team@localhost", ["mox@localhost"], post_public=True))
    al = d.Domains["localhost"].Aliases["team"]
    assert (al.Addresses, al.PostPublic, al.ListMembers) == (["mox@localhost"], True, False)
    d = ok(cfg, edit.alias_update(d, "Team@localhost", list_members=True))
    assert d.Domains["localhost"].Aliases["team"].ListMembers
    assert d.Domains["localhost"].Aliases["team"].PostPublic
    d = ok(cfg, edit.alias_add_addresses(d, "team@localhost", ["bob@localhost"]))
    assert d.Domains["localhost"].Aliases["team"].Addresses == ["mox@localhost", "bob@localhost"]
    with pytest.raises(EditError, match="already a member"):
        edit.alias_add_addresses(d, "team@localhost", ["BOB@localhost"])
    d = ok(cfg, edit.alias_remove_addresses(d, "team@localhost", ["mox@localhost"]))
    assert d.Domains["localhost"].Aliases["team"].Addresses == ["bob@localhost"]
    with pytest.raises(EditError, match="no members left"):
        edit.alias_remove_addresses(d, "team@localhost", ["bob@localhost"])
    with pytest.raises(EditError, match=r"already used|already an alias"):
        edit.add_address(d, "team@localhost", "mox")
    with pytest.raises(EditError, match="no members left"):
        edit.remove_account(d, "bob")
    d = ok(cfg, edit.alias_remove(d, "team@localhost"))
    assert d.Domains["localhost"].Aliases == {}
    d = ok(cfg, edit.remove_account(d, "bob"))


def test_edits_through_update_dynamic(cfg: Config, confdir: Path) -> None:
    cfg.update_dynamic(lambda d: edit.add_account(d, "carol", "carol@localhost"))
    cfg.update_dynamic(lambda d: edit.alias_add(d, "all@localhost", ["carol@localhost", "mox@localhost"]))
    fresh = load(confdir / "mox.conf")
    m = fresh.lookup_address("carol", "localhost")
    assert m is not None and m.account == "carol"
    a = fresh.lookup_alias("all", "localhost")
    assert a is not None and a.alias.Addresses == ["carol@localhost", "mox@localhost"]
