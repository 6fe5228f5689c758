"""Real DNSSEC: unbound validating in front of nsd, both on 127.0.0.1 ports in a temp dir.

The test signs ``signed.test`` with ldns-signzone, gives unbound its DS as trust anchor, and serves
``unsigned.test`` unsigned. DnsResolver must report authentic answers (AD bit) only for the former.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from app.dns import DNSNotFound, DnsResolver
from tests.conftest import require_tool

ZONE = """$ORIGIN {name}.
$TTL 300
@ IN SOA ns.{name}. hostmaster.{name}. 1 3600 600 86400 300
@ IN NS ns.{name}.
ns IN A 127.0.0.1
@ IN TXT "v=spf1 ip4:192.0.2.10 -all"
@ IN MX 10 mail.{name}.
mail IN A 192.0.2.10
mail IN AAAA 2001:db8::10
_25._tcp.mail IN TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000000
"""


def _free_port() -> int:
    # A port free for both UDP and TCP.
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def _wait_dns(port: int, name: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    r = DnsResolver([f"127.0.0.1:{port}"], timeout=1.0)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace') if log.exists() else ''}")
        try:
            r.lookup_txt_sync(name)
            return
        except Exception:
            r.cache.clear()
            time.sleep(0.2)
    raise RuntimeError(
        f"dns server on port {port} did not answer: {log.read_text(errors='replace') if log.exists() else ''}"
    )


@pytest.fixture(scope="module")
def unbound_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    keygen = require_tool("ldns-keygen")
    signzone = require_tool("ldns-signzone")
    nsd = require_tool("nsd")
    unbound = require_tool("unbound")
    d = tmp_path_factory.mktemp("dnssec")
    for name in ("signed.test", "unsigned.test"):
        (d / f"{name}.zone").write_text(ZONE.format(name=name))
    zsk = subprocess.run(
        [keygen, "-a", "ECDSAP256SHA256", "signed.test"], cwd=d, check=True, capture_output=True, text=True
    ).stdout.strip()
    ksk = subprocess.run(
        [keygen, "-a", "ECDSAP256SHA256", "-k", "signed.test"],
        cwd=d,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run([signzone, "signed.test.zone", zsk, ksk], cwd=d, check=True, capture_output=True)
    ds = (d / f"{ksk}.ds").read_text().strip()

    nsd_port = _free_port()
    (d / "nsd.conf").write_text(f"""server:
    ip-address: 127.0.0.1@{nsd_port}
    port: {nsd_port}
    username: ""
    chroot: ""
    zonesdir: "{d}"
    zonelistfile: "{d}/zone.list"
    database: ""
    xfrdfile: "{d}/xfrd.state"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    xfrdir: "{d}"
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: signed.test
    zonefile: signed.test.zone.signed
zone:
    name: unsigned.test
    zonefile: unsigned.test.zone
""")
    ub_port = _free_port()
    (d / "unbound.conf").write_text(f"""server:
    interface: 127.0.0.1@{ub_port}
    port: {ub_port}
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    use-syslog: no
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "validator iterator"
    trust-anchor: "{ds}"
    val-permissive-mode: no
    harden-dnssec-stripped: yes
    num-threads: 1
    verbosity: 1
    domain-insecure: "unsigned.test"
    # unbound answers the special-use "test." itself unless told not to (RFC 6761).
    local-zone: "test." nodefault
remote-control:
    control-enable: no
stub-zone:
    name: "signed.test"
    stub-addr: 127.0.0.1@{nsd_port}
stub-zone:
    name: "unsigned.test"
    stub-addr: 127.0.0.1@{nsd_port}
""")
    procs: list[subprocess.Popen[bytes]] = []
    with open(d / "nsd.stderr", "wb") as nsd_err, open(d / "unbound.stderr", "wb") as ub_err:
        try:
            yield from _run(nsd, unbound, d, nsd_port, ub_port, nsd_err, ub_err, procs)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _run(
    nsd: str,
    unbound: str,
    d: Path,
    nsd_port: int,
    ub_port: int,
    nsd_err: IO[bytes],
    ub_err: IO[bytes],
    procs: list[subprocess.Popen[bytes]],
) -> Iterator[int]:
    """Start nsd, then unbound in front of it; yield unbound's port once both answer."""
    p_nsd = subprocess.Popen(
        [nsd, "-d", "-c", str(d / "nsd.conf")], stdout=subprocess.DEVNULL, stderr=nsd_err
    )
    procs.append(p_nsd)
    _wait_dns(nsd_port, "signed.test", p_nsd, d / "nsd.stderr")
    p_ub = subprocess.Popen(
        [unbound, "-d", "-c", str(d / "unbound.conf")], stdout=subprocess.DEVNULL, stderr=ub_err
    )
    procs.append(p_ub)
    _wait_dns(ub_port, "signed.test", p_ub, d / "unbound.stderr")
    yield ub_port


def test_signed_zone_is_authentic(unbound_port: int) -> None:
    r = DnsResolver([f"127.0.0.1:{unbound_port}"], timeout=5)
    txt = r.lookup_txt_sync("signed.test")
    assert txt.records == ["v=spf1 ip4:192.0.2.10 -all"]
    assert txt.authentic
    mx = r.lookup_mx_sync("signed.test")
    assert mx.authentic and mx.records[0].host == "mail.signed.test"
    tlsa = r.lookup_tlsa_sync(25, "tcp", "mail.signed.test")
    assert tlsa.authentic and tlsa.records[0].usage == 3
    ips = r.lookup_ip_sync("mail.signed.test")
    assert ips.authentic and sorted(ips.records) == ["192.0.2.10", "2001:db8::10"]


def test_unsigned_zone_is_not_authentic(unbound_port: int) -> None:
    r = DnsResolver([f"127.0.0.1:{unbound_port}"], timeout=5)
    txt = r.lookup_txt_sync("unsigned.test")
    assert txt.records == ["v=spf1 ip4:192.0.2.10 -all"]
    assert not txt.authentic
    assert not r.lookup_tlsa_sync(25, "tcp", "mail.unsigned.test").authentic


def test_authentic_nxdomain(unbound_port: int) -> None:
    r = DnsResolver([f"127.0.0.1:{unbound_port}"], timeout=5)
    with pytest.raises(DNSNotFound) as e:
        r.lookup_txt_sync("nonexistent.signed.test")
    assert e.value.authentic
    with pytest.raises(DNSNotFound) as e2:
        r.lookup_txt_sync("nonexistent.unsigned.test")
    assert not e2.value.authentic


def test_async_lookups_and_shared_cache(unbound_port: int) -> None:
    r = DnsResolver([f"127.0.0.1:{unbound_port}"], timeout=5)

    async def go() -> tuple[bool, bool]:
        a = await r.lookup_txt("signed.test")
        b = await r.lookup_txt("unsigned.test")
        return a.authentic, b.authentic

    assert asyncio.run(go()) == (True, False)
    hits = r.cache.hits
    assert r.lookup_txt_sync("signed.test").authentic  # from the cache filled by the async side
    assert r.cache.hits == hits + 1


def test_dnssec_through_spf(unbound_port: int) -> None:
    from app.mailauth import spf

    r = DnsResolver([f"127.0.0.1:{unbound_port}"], timeout=5)
    res = spf.check_host(r, "192.0.2.10", "signed.test", "x@signed.test", "mail.signed.test")
    assert res.status == "pass" and res.authentic
    res = spf.check_host(r, "192.0.2.11", "unsigned.test", "x@unsigned.test", "mail.unsigned.test")
    assert res.status == "fail" and not res.authentic
