"""Transports and routes read from real mox.conf/domains.conf text (app.config), and route
order: account, then sender domain, then global routes; first match wins."""

from __future__ import annotations

from types import SimpleNamespace

from app.config import parse_dynamic_text, parse_static_text
from app.queue import settings

STATIC = """Hostname: mail.example.org
LogLevel: info
DataDir: data
User: mox
Listeners:
	local:
		IPs:
			- 127.0.0.1
Postmaster:
	Account: mjl
	Mailbox: postmaster
Transports:
	relay:
		Submissions:
			Host: smtp.relay.example
			Auth:
				Username: u
				Password: p
				Mechanisms:
					- SCRAM-SHA-256
	plain:
		SMTP:
			Host: mx.relay.example
			Port: 2525
			NoSTARTTLS: true
	proxy:
		Socks:
			Address: 127.0.0.1:1080
			RemoteIPs:
				- 198.51.100.1
			RemoteHostname: out.example.org
	v4:
		Direct:
			DisableIPv6: true
	block:
		Fail:
			SMTPCode: 550
			SMTPMessage: not to them
"""

DOMAINS = """Domains:
	example.org:
		Routes:
			-
				ToDomain:
					- .corp.example
					- bücher.example
				Transport: plain
Accounts:
	mjl:
		Domain: example.org
		KeepRetiredMessagePeriod: 2h
		Destinations:
			mjl@example.org: nil
		Routes:
			-
				ToDomain:
					- blocked.example
				Transport: block
Routes:
	-
		MinimumAttempts: 3
		Transport: relay
	-
		FromDomain:
			- other.example
		Transport: proxy
"""


def config() -> SimpleNamespace:
    return SimpleNamespace(static=parse_static_text(STATIC), dynamic=parse_dynamic_text(DOMAINS))


def test_transports_from_config() -> None:
    t = settings.transports(config())
    r = t["relay"].smarthost
    assert r is not None and (r.kind, r.host, r.port) == ("submissions", "smtp.relay.example", 465)
    assert r.auth is not None and r.auth.mechanisms == ("SCRAM-SHA-256",)
    p = t["plain"].smarthost
    assert p is not None and (p.kind, p.port, p.no_starttls) == ("smtp", 2525, True)
    assert (
        t["proxy"].socks_address == "127.0.0.1:1080" and t["proxy"].socks_remote_hostname == "out.example.org"
    )
    assert t["v4"].is_direct and t["v4"].direct_disable_ipv6 and not t["v4"].direct_disable_ipv4
    assert t["block"].is_fail and t["block"].fail_code == 550
    assert settings.hostname(config()) == "mail.example.org"
    assert settings.keep_retired_period(config(), "mjl") == 7200
    assert settings.keep_retired_period(config(), "nosuch") == 0


def test_route_order() -> None:
    c = config()
    rt = settings.route_transport
    assert rt(c, "mjl", "example.org", "blocked.example", 5) == "block"  # account first
    assert rt(c, "mjl", "example.org", "a.corp.example", 0) == "plain"  # domain: subdomains
    assert rt(c, "mjl", "example.org", "xn--bcher-kva.example", 0) == "plain"  # IDN pattern
    assert rt(c, "mjl", "example.org", "corp.example", 0) == ""  # ".corp.example" is subdomains only
    assert rt(c, "mjl", "example.org", "x.example", 2) == ""
    assert rt(c, "mjl", "example.org", "x.example", 3) == "relay"  # global, after attempts
    assert rt(c, "other", "other.example", "x.example", 0) == "proxy"
