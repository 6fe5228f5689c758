"""Loading mox.conf + domains.conf: mox's own files, values, and errors naming file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Duration, load, parse_dynamic_text, parse_static_text
from tests.config.conftest import edit_file


def test_mox_localserve_files_load(interop: Path) -> None:
    cfg = load(interop / "mox-localserve" / "mox.conf")
    st = cfg.static
    assert st.Hostname == "localhost"
    assert st.LogLevel == "traceauth"
    assert st.User == "0"
    assert st.Pedantic is True
    assert st.DataDir == "."
    assert cfg.data_dir == (interop / "mox-localserve").resolve()
    assert cfg.config_dir == interop / "mox-localserve"
    assert st.TLS.CA is not None and st.TLS.CA.CertFiles == ["localhost.crt"]
    lst = st.Listeners["local"]
    assert lst.IPs == ["127.0.0.1"]
    assert (lst.SMTP.Enabled, lst.SMTP.Port) == (True, 1025)
    assert (lst.Submission.Port, lst.Submission.NoRequireSTARTTLS) == (1587, True)
    assert lst.Submissions.Port == 1465
    assert (lst.IMAP.Port, lst.IMAP.NoRequireSTARTTLS) == (1143, True)
    assert lst.IMAPS.Port == 1993
    assert (lst.AccountHTTP.Port, lst.AccountHTTP.Path) == (1080, "/account/")
    assert lst.AdminHTTPS.Port == 1443 and lst.AdminHTTPS.Path == ""
    assert lst.MetricsHTTP.Port == 1081
    assert lst.PprofHTTP.Enabled is False
    assert lst.SMTP.FirstTimeSenderDelay is None
    assert lst.TLS is not None
    assert [(k.CertFile, k.KeyFile) for k in lst.TLS.KeyCerts] == [("localhost.crt", "localhost.key")]
    assert cfg.resolve_path("localhost.crt") == interop / "mox-localserve" / "localhost.crt"
    assert (st.Postmaster.Account, st.Postmaster.Mailbox) == ("mox", "Inbox")

    dyn = cfg.dynamic
    dom = dyn.Domains["localhost"]
    assert dom.LocalpartCatchallSeparator == "+"
    assert dom.DKIM.Sign == ["localserve"]
    sel = dom.DKIM.Selectors["localserve"]
    assert (sel.Expiration, sel.PrivateKeyFile) == ("72h", "dkim.localserve.privatekey.pkcs8.pem")
    acc = dyn.Accounts["mox"]
    assert acc.Domain == ""
    assert list(acc.Destinations) == ["mox@localhost"]
    assert acc.KeepRetiredMessagePeriod == Duration(72 * 3600)
    assert isinstance(acc.KeepRetiredMessagePeriod, Duration)
    assert acc.RejectsMailbox == "Rejects"
    assert acc.AutomaticJunkFlags.Enabled is True
    assert acc.AutomaticJunkFlags.JunkMailboxRegexp == "^(junk|spam)"
    assert acc.JunkFilter is not None
    assert acc.JunkFilter.Threshold == 0.95
    assert (acc.JunkFilter.Params.Onegrams, acc.JunkFilter.Params.TopWords) == (True, 10)
    assert acc.JunkFilter.Params.MaxPower == 0.01
    assert acc.NoFirstTimeSenderDelay is True
    assert acc.OutgoingWebhook is None
    wh = dyn.WebHandlers[0]
    assert (wh.LogName, wh.Domain, wh.PathRegexp) == ("workdir", "localhost", "^/workdir/")
    assert wh.WebStatic is not None and wh.WebStatic.ListFiles is True
    assert wh.WebRedirect is None
    assert cfg.account("mox") is acc
    assert cfg.domain("LOCALHOST") is dom
    assert cfg.account_addresses("mox") == ["mox@localhost"]


def test_lead_localserve_config_loads(tmp_path: Path) -> None:
    from app import localserve

    localserve.ensure_config(tmp_path)
    cfg = load(tmp_path / "mox.conf")
    assert cfg.static.Listeners["local"].SMTP.Port == 1025
    assert cfg.lookup_address("mox", "localhost") is not None


def _err(confdir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load(confdir / "mox.conf")
    return ei.value


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_unknown_field_names_file_line(confdir: Path) -> None:
    edit_file(confdir / "mox.conf", "\t\t\tPort: 1025\n", "\t\t\tPort: 1025\n\t\t\tPortt: 1\n")
    e = _err(confdir)
    assert e.file == str(confdir / "mox.conf")
    assert e.line == _line_of(confdir / "mox.conf", "Portt")
    assert "unknown field 'Portt' in Listeners.local.SMTP" in str(e)
    assert str(e).startswith(f"{confdir / 'mox.conf'}:{e.line}: ")


def test_wrong_type_names_file_line(confdir: Path) -> None:
    edit_file(confdir / "domains.conf", "NoFirstTimeSenderDelay: true", "NoFirstTimeSenderDelay: yes")
    e = _err(confdir)
    assert e.file == str(confdir / "domains.conf")
    assert e.line == _line_of(confdir / "domains.conf", "NoFirstTimeSenderDelay")
    assert "expected true or false" in str(e)


@pytest.mark.parametrize(
    ("old", "new", "msg"),
    [
        ("Port: 1993", "Port: 99x", "expected an integer"),
        ("Threshold: 0.950000", "Threshold: high", "expected a number"),
        ("Expiration: 72h", "Expiration: 3 days", "duration"),
        ("KeepRetiredMessagePeriod: 72h0m0s", "KeepRetiredMessagePeriod: 3d", "expected a duration"),
        ("\t\t\t- 127.0.0.1", "\t\t\tx: 127.0.0.1", "expected a list"),
        ("LogLevel: traceauth", "LogLevel:\n\tx: y", "expected a string"),
    ],
)
def test_type_errors(confdir: Path, old: str, new: str, msg: str) -> None:
    f = confdir / (
        "domains.conf" if old.startswith(("Threshold", "Expiration", "KeepRetired")) else "mox.conf"
    )
    edit_file(f, old, new)
    e = _err(confdir)
    assert msg in str(e)
    assert e.line > 0 and e.file == str(f)


def test_missing_required_field(confdir: Path) -> None:
    edit_file(confdir / "mox.conf", "Hostname: localhost\n", "")
    e = _err(confdir)
    assert "missing required field 'Hostname'" in str(e)
    assert e.file == str(confdir / "mox.conf")


def test_missing_required_nested_field_names_block_line(confdir: Path) -> None:
    edit_file(confdir / "mox.conf", "\t\tIMAPS:\n\t\t\tEnabled: true\n", "\t\tIMAPS:\n")
    e = _err(confdir)
    assert "missing required field 'Enabled' (true or false) in Listeners.local.IMAPS" in str(e)
    assert e.line == _line_of(confdir / "mox.conf", "IMAPS:")


def test_overindented_struct_refused_map_accepted(confdir: Path) -> None:
    edit_file(
        confdir / "domains.conf",
        "mox@localhost: nil",
        "mox@localhost:\n\t\t\t\tRulesets:\n\t\t\t\t\t-\n\t\t\t\t\t\tHeadersRegexp:\n"
        "\t\t\t\t\t\t\t\tsubject: test\n\t\t\t\t\t\tMailbox: Test",
    )
    cfg = load(confdir / "mox.conf")
    rs = cfg.dynamic.Accounts["mox"].Destinations["mox@localhost"].Rulesets[0]
    assert rs.HeadersRegexp == {"subject": "test"}
    edit_file(confdir / "mox.conf", "\t\tIMAPS:\n\t\t\tEnabled: true", "\t\tIMAPS:\n\t\t\t\tEnabled: true")
    edit_file(confdir / "mox.conf", "\t\t\tPort: 1993", "\t\t\t\tPort: 1993")
    e = _err(confdir)
    assert "indented too deep" in str(e)
    assert e.line == _line_of(confdir / "mox.conf", "\t\t\t\tEnabled: true")


def test_missing_domains_conf(confdir: Path) -> None:
    (confdir / "domains.conf").unlink()
    e = _err(confdir)
    assert e.file == str(confdir / "domains.conf") and "cannot read" in str(e)


def test_spaces_instead_of_tabs(confdir: Path) -> None:
    edit_file(confdir / "mox.conf", "\t\t\tPort: 1025", "            Port: 1025")
    e = _err(confdir)
    assert "tabs only" in str(e)
    assert e.line == _line_of(confdir / "mox.conf", "            Port: 1025")


CROSS = [
    # (file, old, new, expected message part)
    ("domains.conf", "mox@localhost: nil", "mox@example.org: nil", "is not configured in Domains"),
    ("domains.conf", "\t\tDomain: \n", "\t\tDomain: other.example\n", "not configured in Domains"),
    ("mox.conf", "\tAccount: mox", "\tAccount: nobody", "Postmaster.Account: account 'nobody' is not"),
    ("domains.conf", "PrivateKeyFile: dkim", "PrivateKeyFile: missing-dkim", "does not exist"),
    ("domains.conf", "\t\t\t\t- localserve", "\t\t\t\t- other", "unknown selector 'other'"),
    ("mox.conf", "CertFile: localhost.crt", "CertFile: nothere.crt", "does not exist"),
    ("mox.conf", "\t\t\t- 127.0.0.1", "\t\t\t- 127.0.0.999", "invalid IP address"),
    ("mox.conf", "Port: 1143", "Port: 1025", "cannot share port 1025"),
    ("mox.conf", "Port: 1143", "Port: 70000", "out of range"),
    ("mox.conf", "LogLevel: traceauth", "LogLevel: loud", "unknown log level"),
    ("mox.conf", "Hostname: localhost", "Hostname: bad_host!", "host name"),
    ("domains.conf", "PathRegexp: ^/workdir/", "PathRegexp: /workdir/", "must start with ^"),
    (
        "domains.conf",
        "JunkMailboxRegexp: ^(junk|spam)",
        "JunkMailboxRegexp: ^(junk",
        "invalid regular expression",
    ),
    ("domains.conf", "Threshold: 0.950000", "Threshold: 1.5", "between 0 and 1"),
]


@pytest.mark.parametrize(("fname", "old", "new", "msg"), CROSS)
def test_cross_checks(confdir: Path, fname: str, old: str, new: str, msg: str) -> None:
    edit_file(confdir / fname, old, new)
    e = _err(confdir)
    assert msg in str(e), str(e)


def test_cross_check_points_at_line(confdir: Path) -> None:
    edit_file(confdir / "domains.conf", "mox@localhost: nil", "mox@example.org: nil")
    e = _err(confdir)
    assert e.file == str(confdir / "domains.conf")
    assert e.line == _line_of(confdir / "domains.conf", "mox@example.org")


def test_postmaster_account_error_points_at_mox_conf(confdir: Path) -> None:
    edit_file(confdir / "mox.conf", "\tAccount: mox", "\tAccount: nobody")
    e = _err(confdir)
    assert e.file == str(confdir / "mox.conf")
    assert e.line == _line_of(confdir / "mox.conf", "Account: nobody")


def test_byte_order_mark_tolerated(confdir: Path) -> None:
    p = confdir / "mox.conf"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert load(p).static.Hostname == "localhost"


def test_bad_dkim_key_content(confdir: Path) -> None:
    (confdir / "dkim.localserve.privatekey.pkcs8.pem").write_text("not a key\n")
    assert "cannot load DKIM private key" in str(_err(confdir))


def test_implicit_tls_service_needs_tls(confdir: Path) -> None:
    text = (confdir / "mox.conf").read_text()
    start = text.index("\t\tTLS:\n")
    end = (
        text.index("\t\t# (optional)\n\t\tSMTP:")
        if "\t\t# (optional)\n\t\tSMTP:" in text
        else text.index("\t\tSMTP:")
    )
    (confdir / "mox.conf").write_text(text[:start] + text[end:])
    assert "no TLS configuration" in str(_err(confdir))


def test_several_problems_reported_together(confdir: Path) -> None:
    edit_file(confdir / "mox.conf", "LogLevel: traceauth", "LogLevel: loud")
    edit_file(confdir / "mox.conf", "Port: 1143", "Port: 70000")
    e = _err(confdir)
    assert len(str(e).splitlines()) == 2


def test_domain_normalization_idna(confdir: Path) -> None:
    edit_file(confdir / "domains.conf", "Domains:\n", "Domains:\n\tBücher.Example:\n\t\tDescription: books\n")
    edit_file(
        confdir / "domains.conf",
        "mox@localhost: nil",
        "mox@localhost: nil\n\t\t\tinfo@xn--bcher-kva.example: nil",
    )
    cfg = load(confdir / "mox.conf")
    assert cfg.domain("bücher.example") is cfg.dynamic.Domains["Bücher.Example"]
    assert cfg.domain("XN--BCHER-KVA.EXAMPLE") is cfg.dynamic.Domains["Bücher.Example"]
    m = cfg.lookup_address("Info", "BÜCHER.example")
    assert m is not None and m.account == "mox" and m.canonical == "info@xn--bcher-kva.example"


def test_duplicate_domain_after_normalization(confdir: Path) -> None:
    edit_file(confdir / "domains.conf", "Domains:\n", "Domains:\n\tLocalHost:\n\t\tDescription: dup\n")
    assert "same domain as" in str(_err(confdir))


def test_relative_and_absolute_data_dir(confdir: Path, tmp_path: Path) -> None:
    edit_file(confdir / "mox.conf", "DataDir: .", "DataDir: ../data")
    assert load(confdir / "mox.conf").data_dir == (tmp_path / "data").resolve()
    edit_file(confdir / "mox.conf", "DataDir: ../data", f"DataDir: {tmp_path / 'abs'}")
    assert load(confdir / "mox.conf").data_dir == tmp_path / "abs"


def test_typed_text_round_trip(interop: Path) -> None:
    from app.config import dump_dynamic, dump_static

    st = parse_static_text((interop / "mox-localserve" / "mox.conf").read_text())
    assert parse_static_text(dump_static(st)) == st
    dyn = parse_dynamic_text((interop / "mox-localserve" / "domains.conf").read_text())
    assert parse_dynamic_text(dump_dynamic(dyn)) == dyn
    assert "mox@localhost: nil" in dump_dynamic(dyn)
    assert "KeepRetiredMessagePeriod: 72h0m0s" in dump_dynamic(dyn)


def test_unreadable_paths_give_config_errors(confdir: Path) -> None:
    (confdir / "domains.conf").unlink()
    (confdir / "domains.conf").mkdir()
    e = _err(confdir)
    assert e.file == str(confdir / "domains.conf") and "cannot read" in str(e)
