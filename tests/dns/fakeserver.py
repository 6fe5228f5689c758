"""A tiny UDP DNS server for tests of DnsResolver: scripted answers, SERVFAIL, NXDOMAIN, silence."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


@dataclass
class Script:
    """Per (name, type): records in presentation format, or "servfail", "nxdomain", "drop"."""

    answers: dict[tuple[str, str], list[str] | str] = field(default_factory=dict)
    ad: set[str] = field(default_factory=set)  # names answered with the AD bit
    ttl: int = 300
    queries: list[tuple[str, str]] = field(default_factory=list)


class FakeDNS:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(data)
            except Exception:
                continue
            resp = self._answer(q)
            if resp is not None:
                self.sock.sendto(resp.to_wire(), addr)

    def _answer(self, q: dns.message.Message) -> dns.message.Message | None:
        qq = q.question[0]
        name = qq.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(qq.rdtype)
        self.script.queries.append((name, rdtype))
        resp = dns.message.make_response(q)
        what = self.script.answers.get((name, rdtype))
        if what is None:
            if any(n == name for n, _ in self.script.answers):
                return resp  # no data
            resp.set_rcode(dns.rcode.NXDOMAIN)
            return resp
        if what == "drop":
            return None
        if what == "servfail":
            resp.set_rcode(dns.rcode.SERVFAIL)
            return resp
        if what == "nxdomain":
            resp.set_rcode(dns.rcode.NXDOMAIN)
            return resp
        assert isinstance(what, list)
        resp.answer.append(dns.rrset.from_text_list(qq.name, self.script.ttl, "IN", rdtype, what))
        if name in self.script.ad:
            resp.flags |= dns.flags.AD
        return resp

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()
