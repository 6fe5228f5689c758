"""A private Postfix instance (Debian's postfix package) for tests: its own config, queue and
data directories in a temporary directory, smtpd on one 127.0.0.1 port only, STARTTLS with a
test certificate, and every message for the domain ``postfix.test`` delivered by the virtual
agent into one Maildir. Started as root with ``postfix -c <dir> start``, stopped with ``stop``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.conftest import require_tool
from tests.harness import free_ports

DOMAIN = "postfix.test"


@dataclass
class Postfix:
    dir: Path
    port: int
    ca: trustme.CA

    @property
    def maildir(self) -> Path:
        return self.dir / "mail" / "box"

    def messages(self) -> list[bytes]:
        out = []
        for sub in ("new", "cur"):
            d = self.maildir / sub
            if d.is_dir():
                out += [p.read_bytes() for p in sorted(d.iterdir())]
        return out

    def log(self) -> str:
        try:
            return (self.dir / "maillog").read_text(errors="replace")
        except OSError:
            return ""

    def wait_messages(self, n: int, timeout: float = 20) -> list[bytes]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.messages()
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(
            f"postfix delivered {len(self.messages())} of {n} messages; log:\n{self.log()[-3000:]}"
        )


def _master_cf(port: int) -> str:
    lines = []
    for line in Path("/etc/postfix/master.cf").read_text().splitlines():
        if not line.strip() or line.startswith("#") or line[0].isspace():
            continue
        f = line.split()
        if len(f) < 8 or f[7] == "pipe":
            continue
        if f[0] == "smtp" and f[1] == "inet":
            f = [f"127.0.0.1:{port}", "inet", "n", "-", "n", "-", "-", "smtpd"]
        f[4] = "n"  # no chroot: the spool is in a temporary directory
        lines.append(" ".join(f))
    return "\n".join(lines) + "\n"


@contextmanager
def running_postfix(extra_main: str = "") -> Iterator[Postfix]:
    postfix = require_tool("postfix")
    if os.geteuid() != 0:
        import pytest

        pytest.skip("postfix instance needs root")
    d = Path(tempfile.mkdtemp(prefix="moxpy-postfix-", dir="/tmp"))
    d.chmod(0o755)
    (port,) = free_ports(1)
    ca = trustme.CA()
    cert = ca.issue_cert(DOMAIN, "localhost")
    try:
        for sub in ("conf", "spool", "data", "mail"):
            (d / sub).mkdir()
        shutil.chown(d / "data", "postfix")
        shutil.chown(d / "mail", 65534, 65534)
        cert.private_key_and_cert_chain_pem.write_to_path(str(d / "conf" / "tls.pem"))
        (d / "conf" / "main.cf").write_text(
            f"""compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = {DOMAIN}
mydomain = {DOMAIN}
mydestination =
alias_maps =
alias_database =
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
mynetworks = 127.0.0.2/32
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_chain_files = {d}/conf/tls.pem
smtpd_tls_security_level = may
relayhost =
maillog_file = {d}/maillog
maillog_file_prefixes = /tmp
{extra_main}
"""
        )
        (d / "conf" / "master.cf").write_text(_master_cf(port))
        r = subprocess.run(
            [postfix, "-c", str(d / "conf"), "start"], capture_output=True, text=True, timeout=60
        )
        pf = Postfix(d, port, ca)
        if r.returncode != 0:
            raise AssertionError(f"postfix start failed: {r.stdout}{r.stderr}{pf.log()}")
        end = time.monotonic() + 20
        import socket

        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > end:
                    raise AssertionError(f"postfix not listening; log:\n{pf.log()}") from None
                time.sleep(0.1)
        yield pf
    finally:
        pid = 0
        try:
            pid = int((d / "spool" / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            pass
        try:
            subprocess.run([postfix, "-c", str(d / "conf"), "stop"], capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            pass  # a master that does not answer is killed below
        end = time.monotonic() + 10
        while pid and time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            if pid:
                # Still there: kill the master; its children exit when it is gone.
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(d, ignore_errors=True)
