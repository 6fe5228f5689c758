"""The spf/dkim/dmarc/dnsbl/dns/mtasts/tlsrpt subcommands: as a subprocess with MOXPY_TEST_ZONEFILE,
and by calling the run functions with a Context."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import cmd_auth
from app.cli.command import CommandError, Context, RunFn, UsageError
from app.mailauth import dkimkeys
from tests.conftest import INTEROP, ROOT
from tests.mailauth.keys import MESSAGE, rsa_key, txt_rdata

ZONE = f"""
example.org.                 TXT  "v=spf1 ip4:192.0.2.0/24 -all"
example.org.                 MX   10 mail.example.org.
mail.example.org.            A    192.0.2.1
1.2.0.192.in-addr.arpa.      PTR  mail.example.org.
_dmarc.example.org.          TXT  "v=DMARC1; p=reject; rua=mailto:dmarc@example.org,mailto:ext@reports.example"
example.org._report._dmarc.reports.example. TXT "v=DMARC1"
sel._domainkey.example.org.  TXT  {txt_rdata(dkimkeys.txt_record(rsa_key()))}
_smtp._tls.example.org.      TXT  "v=TLSRPTv1; rua=mailto:tls@example.org"
2.0.0.127.bl.example.        A    127.0.0.2
"""


@pytest.fixture
def zonefile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    z = tmp_path / "zone.txt"
    z.write_text(ZONE)
    monkeypatch.setenv("MOXPY_TEST_ZONEFILE", str(z))
    monkeypatch.setenv("MOXPY_TEST_ZONE_AUTHENTIC", "example.org")
    return z


def run(fn: RunFn, args: list[str], stdin: str = "", config: Path | None = None) -> str:
    out = io.StringIO()
    ctx = Context(
        config_path=config or Path("config/mox.conf"),
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=io.StringIO(),
    )
    assert fn(ctx, args) == 0
    return out.getvalue()


def moxpy(*args: str, stdin: bytes = b"", env_zone: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    import os

    env = dict(os.environ)
    if env_zone is not None:
        env["MOXPY_TEST_ZONEFILE"] = str(env_zone)
    return subprocess.run(
        [sys.executable, "-m", "app", *args], input=stdin, capture_output=True, cwd=ROOT, env=env, timeout=60
    )


def test_subprocess_spf_and_dns(zonefile: Path) -> None:
    p = moxpy("spf", "check", "example.org", "192.0.2.9", env_zone=zonefile)
    assert p.returncode == 0, p.stderr
    assert b"status: pass (with dnssec)" in p.stdout
    p = moxpy("dns", "lookup", "mx", "example.org", env_zone=zonefile)
    assert p.returncode == 0 and b"- 10 mail.example.org" in p.stdout
    p = moxpy("spf", "parse", "v=spf1", "bogus:x", env_zone=zonefile)
    assert p.returncode == 1 and b"invalid spf record" in p.stderr


def test_subprocess_dkim_keys_roundtrip(tmp_path: Path) -> None:
    p = moxpy("dkim", "gened25519")
    assert p.returncode == 0 and p.stdout.startswith(b"-----BEGIN PRIVATE KEY-----")
    t = moxpy("dkim", "txt", stdin=p.stdout)
    assert t.returncode == 0 and t.stdout.startswith(b"v=DKIM1;k=ed25519;p=")


def test_spf_commands(zonefile: Path) -> None:
    assert "status: fail" in run(cmd_auth.cmd_spf_check, ["example.org", "198.51.100.1"])
    assert run(cmd_auth.cmd_spf_lookup, ["example.org"]) == "v=spf1 ip4:192.0.2.0/24 -all\n"
    assert run(cmd_auth.cmd_spf_parse, ["v=spf1", "mx", "-all"]) == ""
    with pytest.raises(CommandError):
        run(cmd_auth.cmd_spf_lookup, ["nothing.example"])
    with pytest.raises(UsageError):
        run(cmd_auth.cmd_spf_check, ["example.org"])


def test_dkim_commands(zonefile: Path, tmp_path: Path) -> None:
    out = run(cmd_auth.cmd_dkim_lookup, ["sel", "example.org"])
    assert "key type rsa" in out and "with dnssec" in out
    from app.mailauth import dkim

    signed = dkim.sign(MESSAGE, "example.org", [dkim.SignSelector("sel", rsa_key())]) + MESSAGE
    f = tmp_path / "msg.eml"
    f.write_bytes(signed)
    out = run(cmd_auth.cmd_dkim_verify, [str(f)])
    assert "domain=example.org selector=sel algorithm=rsa-sha256 status=pass (with dnssec)" in out
    f.write_bytes(MESSAGE)
    assert run(cmd_auth.cmd_dkim_verify, [str(f)]) == "no dkim-signature headers\n"
    with pytest.raises(CommandError):
        run(cmd_auth.cmd_dkim_txt, [], stdin="not a key")


def test_dkim_sign_with_mox_config(tmp_path: Path) -> None:
    conf = tmp_path / "config"
    shutil.copytree(INTEROP / "mox-localserve", conf)
    msg = MESSAGE.replace(b"alice@example.org", b"mox@localhost")
    f = tmp_path / "msg.eml"
    f.write_bytes(msg)
    out = run(cmd_auth.cmd_dkim_sign, [str(f)], config=conf / "mox.conf")
    assert (
        out.startswith("DKIM-Signature: v=1; a=ed25519-sha256;")
        and "d=localhost;" in out
        and "s=localserve;" in out
    )
    assert out.endswith(msg.decode())
    f.write_bytes(MESSAGE)  # From domain not configured
    with pytest.raises(CommandError):
        run(cmd_auth.cmd_dkim_sign, [str(f)], config=conf / "mox.conf")


def test_dmarc_commands(zonefile: Path) -> None:
    out = run(cmd_auth.cmd_dmarc_lookup, ["sub.example.org"])
    assert "_dmarc.example.org (with dnssec)" in out and "p=reject" in out
    out = run(
        cmd_auth.cmd_dmarc_verify, ["198.51.100.1", "x@example.org", "helo.example"], stdin=MESSAGE.decode()
    )
    assert "dmarc: fail, policy reject, reject true" in out
    out = run(
        cmd_auth.cmd_dmarc_verify, ["192.0.2.7", "x@example.org", "helo.example"], stdin=MESSAGE.decode()
    )
    assert "dmarc: pass" in out
    out = run(cmd_auth.cmd_dmarc_checkreportaddrs, ["example.org"])
    assert "mailto:dmarc@example.org: same organizational domain" in out
    assert "mailto:ext@reports.example: authorized" in out


def test_dnsbl_dns_tlsrpt_mtasts(zonefile: Path) -> None:
    assert run(cmd_auth.cmd_dnsbl_check, ["bl.example", "127.0.0.2"]).startswith("listed")
    assert run(cmd_auth.cmd_dnsbl_check, ["bl.example", "127.0.0.3"]).startswith("not listed")
    assert run(cmd_auth.cmd_dnsbl_checkhealth, ["bl.example"]) == "healthy: bl.example\n"
    with pytest.raises(CommandError):
        run(cmd_auth.cmd_dnsbl_checkhealth, ["none.example"])
    assert "- mail.example.org" in run(cmd_auth.cmd_dns_lookup, ["ptr", "192.0.2.1"])
    assert "- 192.0.2.1" in run(cmd_auth.cmd_dns_lookup, ["ips", "mail.example.org"])
    with pytest.raises(UsageError):
        run(cmd_auth.cmd_dns_lookup, ["bogus", "example.org"])
    with pytest.raises(CommandError):
        run(cmd_auth.cmd_dns_lookup, ["a", "nothing.example"])
    assert "mailto:tls@example.org" in run(cmd_auth.cmd_tlsrpt_lookup, ["example.org"])
    with pytest.raises(CommandError):
        run(cmd_auth.cmd_mtasts_lookup, ["example.org"])  # no record


def test_commands_registered() -> None:
    from app.cli import registry

    for words in [
        ["spf", "check"],
        ["dkim", "sign"],
        ["dmarc", "checkreportaddrs"],
        ["dnsbl", "checkhealth"],
        ["dns", "lookup"],
        ["mtasts", "lookup"],
        ["tlsrpt", "lookup"],
    ]:
        found = registry.find([*words, "x"])
        assert found is not None and list(found[0].words) == words and found[1] == ["x"]
