"""The queue delivering to in-test SMTP servers through a MockResolver: one transaction per
submission and domain, retries after 4xx, failure DSNs after 5xx, delayed DSN after the 5th
attempt, failure after 8, suppression, hold rules, per-domain exclusivity, connection reuse,
smarthost with STARTTLS and SCRAM, Fail transport, routes, null MX, localserve."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from app.dns import MockResolver
from app.queue import Filter, Queue, QueueDeps, Recipient, deliver
from app.runtime import run_blocking
from tests.queue.helpers import MSG, ZONE, CollectingDelivery, dsn_status, make_config, wait_for
from tests.smtpclient.test_client import client_tls, server_tls
from tests.smtpclient.testserver import SMTPTestServer


def run_queue(
    tmp_path: Path,
    fn: Callable[[Queue, SMTPTestServer, CollectingDelivery], Awaitable[None]],
    srv: SMTPTestServer | None = None,
    config: Any = None,
    localserve: bool = False,
    **deps: Any,
) -> None:
    async def main() -> None:
        s = await (srv or SMTPTestServer()).start()
        ld = CollectingDelivery()
        q = Queue(
            QueueDeps(
                config=config or make_config(),
                data_dir=tmp_path,
                resolver=MockResolver.from_zone(ZONE),
                smtp_port=s.port,
                local_delivery=ld,
                localserve=localserve,
                **deps,
            )
        )
        await q.start()
        try:
            await asyncio.wait_for(fn(q, s, ld), 30)
        finally:
            await q.stop()
            q.close()
            await s.stop()

    asyncio.run(main())


def queued(q: Queue) -> int:
    return len(q.list_msgs(Filter()))


async def retry_now(q: Queue) -> None:
    await run_blocking(q.schedule, Filter(), 0, True)


def test_delivers_one_transaction_per_domain(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        ids = await run_blocking(
            q.add,
            "mjl",
            "mjl@example.org",
            ["a@dest.example", Recipient("b@dest.example", ("FAILURE",)), "c@other.example"],
            MSG,
        )
        assert len(ids) == 3
        await wait_for(lambda: queued(q) == 0)
        byrcpts = sorted(sorted(a for a, _ in m.rcpts) for m in srv.messages)
        assert byrcpts == [["a@dest.example", "b@dest.example"], ["c@other.example"]]
        assert all(m.data == MSG for m in srv.messages)
        retired = q.retired(Filter())
        assert len(retired) == 3 and all(r.success for r in retired)
        assert not ld.delivered

    run_queue(tmp_path, t)


def test_retry_after_temporary_failure(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        (mid,) = await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example"], MSG)
        await wait_for(lambda: [len(m.results) for m in q.list_msgs(Filter())] == [1])
        m = q.list_msgs(Filter())[0]
        assert m.results[-1].code == 451 and not m.results[-1].success
        # Backoff: 7.5 minutes (with a few seconds of jitter) after the first attempt.
        assert 7.5 * 60 - 10 < m.next_attempt - m.last_attempt < 7.5 * 60 + 10  # type: ignore[operator]
        assert not srv.messages
        await retry_now(q)
        await wait_for(lambda: queued(q) == 0)
        assert len(srv.messages) == 1
        r = q.retired(Filter(ids=[mid]))[0]
        assert r.success and r.msg.attempts == 2
        assert not ld.dsns()

    run_queue(tmp_path, t, SMTPTestServer(data_replies=["451 4.3.0 try later"]))


def test_permanent_failure_gives_dsn_and_suppression(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(
            q.add, "mjl", "mjl@example.org", ["perm@dest.example", "ok@dest.example"], MSG, dsn_envid="env1"
        )
        await wait_for(lambda: queued(q) == 0 and len(ld.dsns()) == 1)
        assert [a for a, _ in srv.messages[0].rcpts] == ["ok@dest.example"]
        d = ld.dsns()[0]
        assert d.account == "mjl" and d.mailbox == "Inbox"
        st = dsn_status(d)
        assert len(st) == 1
        assert st[0]["final-recipient"] == "rfc822; perm@dest.example"
        assert st[0]["action"] == "failed" and st[0]["status"] == "5.1.1"
        assert "550" in st[0]["diagnostic-code"]
        assert b"Original-Envelope-Id: env1" in d.data and b"Subject: test message" in d.data
        sup = q.suppress_lookup("mjl", "Perm+tag@dest.example")
        assert sup is not None and not sup.manual
        # A new submission to the suppressed address is not queued.
        ids = await run_blocking(q.add, "mjl", "mjl@example.org", ["perm@dest.example"], MSG)
        assert ids == []

    run_queue(tmp_path, t)


def test_delayed_dsn_after_fifth_and_failure_after_eighth(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.add, "mjl", "mjl@example.org", ["tempfail@dest.example"], MSG)
        for attempt in range(1, 9):
            await wait_for(
                lambda a=attempt: (
                    (q.list_msgs(Filter()) or [SimpleNamespace(attempts=99)])[0].attempts >= a and not q._busy
                )
            )  # type: ignore[misc]
            if attempt < 5:
                assert not ld.dsns()
            if attempt < 8:
                await retry_now(q)
        await wait_for(lambda: queued(q) == 0 and len(ld.dsns()) == 2)
        actions = [dsn_status(d)[0]["action"] for d in ld.dsns()]
        assert actions == ["delayed", "failed"]
        r = q.retired(Filter())[0]
        assert not r.success and r.msg.attempts == 8 and len(r.msg.results) == 8
        # Temporary failures do not suppress.
        assert q.suppress_lookup("mjl", "tempfail@dest.example") is None

    run_queue(tmp_path, t)


def test_notify_never_and_null_sender_get_no_dsn(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.add, "mjl", "mjl@example.org", [Recipient("perm@dest.example", ("NEVER",))], MSG)
        await run_blocking(q.add, "mjl", "", ["perm2@dest.example"], MSG)
        await wait_for(lambda: queued(q) == 0)
        await asyncio.sleep(0.1)
        assert not ld.dsns()

    run_queue(tmp_path, t)


def test_failed_dmarc_report_goes_to_postmaster(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(
            q.add, "", "postmaster@mail.example.org", ["perm@dest.example"], MSG, is_dmarc_report=True
        )
        await wait_for(lambda: queued(q) == 0 and len(ld.dsns()) == 1)
        d = ld.dsns()[0]
        assert (d.account, d.mailbox, d.seen) == ("admin", "Postmaster/dmarc", True)

    run_queue(tmp_path, t)


def test_hold_rules_and_management(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        rule = await run_blocking(q.holdrule_add, "", "", "dest.example")
        ids = await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example", "b@other.example"], MSG)
        await wait_for(lambda: len(srv.messages) == 1)
        held = q.list_msgs(Filter(hold=True))
        assert [m.id for m in held] == [ids[0]]
        assert [r.id for r in q.holdrules()] == [rule.id]
        await run_blocking(q.holdrule_remove, rule.id)
        assert q.set_transport(Filter(ids=[ids[0]]), "") == 1
        assert q.set_requiretls(Filter(ids=[ids[0]]), False) == 1
        assert q.list_msgs(Filter(ids=[ids[0]]))[0].requiretls is False
        assert q.dump(ids[0]) == MSG
        assert q.hold(Filter(to="@dest.example"), False) == 1
        await wait_for(lambda: queued(q) == 0)
        assert len(srv.messages) == 2

    run_queue(tmp_path, t)


def test_fail_and_drop(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.holdrule_add, "", "", "")
        a = await run_blocking(q.add, "mjl", "mjl@example.org", ["a@dest.example"], MSG)
        b = await run_blocking(q.add, "mjl", "mjl@example.org", ["b@dest.example"], MSG)
        assert await run_blocking(q.fail, Filter(ids=a)) == 1
        assert await run_blocking(q.drop, Filter(ids=b)) == 1
        assert queued(q) == 0
        assert len(ld.dsns()) == 1 and dsn_status(ld.dsns()[0])[0]["final-recipient"].endswith(
            "a@dest.example"
        )
        assert [r.msg.id for r in q.retired(Filter())] == a
        assert not srv.messages

    run_queue(tmp_path, t)


def test_one_delivery_per_domain_and_connection_reuse(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.holdrule_add, "", "", "")
        for i in range(4):
            await run_blocking(q.add, "mjl", "mjl@example.org", [f"u{i}@dest.example"], MSG)
        rules = q.holdrules()
        await run_blocking(q.holdrule_remove, rules[0].id)
        await run_blocking(q.hold, Filter(), False)
        await wait_for(lambda: queued(q) == 0)
        assert len(srv.messages) == 4
        assert srv.peak_active == 1
        assert srv.connections == 1

    run_queue(tmp_path, t, SMTPTestServer(data_delay=0.05))


def test_limits_mailmax_reconnects(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        rule = await run_blocking(q.holdrule_add, "", "", "")
        for i in range(5):
            await run_blocking(q.add, "mjl", "mjl@example.org", [f"u{i}@dest.example"], MSG)
        await run_blocking(q.holdrule_remove, rule.id)
        await run_blocking(q.hold, Filter(), False)
        await wait_for(lambda: queued(q) == 0)
        assert len(srv.messages) == 5 and srv.connections == 3

    run_queue(tmp_path, t, SMTPTestServer(extensions=["PIPELINING", "LIMITS MAILMAX=2"]))


def test_concurrency_limit(tmp_path: Path) -> None:
    zone = ZONE + "".join(f"d{i}.example. MX 10 mx.dest.example.\n" for i in range(14))

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        q.deps.resolver = MockResolver.from_zone(zone)
        await run_blocking(q.add, "mjl", "mjl@example.org", [f"u@d{i}.example" for i in range(14)], MSG)
        await wait_for(lambda: queued(q) == 0)
        assert len(srv.messages) == 14
        assert 1 < srv.peak_active <= 3

    run_queue(tmp_path, t, SMTPTestServer(data_delay=0.2), max_concurrent=3)


def test_smarthost_submission_with_auth_via_route(tmp_path: Path) -> None:
    transports = {
        "relay": SimpleNamespace(
            Submission=SimpleNamespace(
                Host="localhost",
                Port=0,
                Auth=SimpleNamespace(Username="mjl", Password="s3cret", Mechanisms=[]),
            )
        )
    }
    srv = SMTPTestServer(tls_context=server_tls(), users={"mjl": "s3cret"})
    routes = [SimpleNamespace(ToDomain=[".example"], FromDomain=[], MinimumAttempts=0, Transport="relay")]

    async def t(q: Queue, s: SMTPTestServer, ld: CollectingDelivery) -> None:
        transports["relay"].Submission.Port = s.port
        await run_blocking(q.add, "mjl", "mjl@example.org", ["x@sub.example", "y@sub.example"], MSG)
        await wait_for(lambda: queued(q) == 0)
        m = s.messages[0]
        assert m.tls and m.auth_user == "mjl" and len(m.rcpts) == 2
        assert any(x.startswith(b"C: AUTH SCRAM-SHA-256 ") for x in s.transcript)

    cfg = make_config(transports=transports, routes=routes)
    run_queue(tmp_path, t, srv, config=cfg, tls_context=client_tls())


def test_fail_transport_and_minimum_attempts_route(tmp_path: Path) -> None:
    transports = {
        "block": SimpleNamespace(Fail=SimpleNamespace(SMTPCode=554, SMTPMessage="blocked by policy"))
    }
    account_routes = [
        SimpleNamespace(
            ToDomain=["dest.example"], FromDomain=["example.org"], MinimumAttempts=1, Transport="block"
        )
    ]

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.add, "mjl", "mjl@example.org", ["tempx@dest.example"], MSG)
        await wait_for(
            lambda: bool(q.list_msgs(Filter())) and q.list_msgs(Filter())[0].attempts == 1 and not q._busy
        )
        await retry_now(q)  # second attempt matches the route: Fail transport
        await wait_for(lambda: queued(q) == 0)
        st = dsn_status(ld.dsns()[0])[0]
        assert "blocked by policy" in st["diagnostic-code"]
        assert q.suppress_lookup("mjl", "tempx@dest.example") is None

    run_queue(tmp_path, t, config=make_config(transports=transports, account_routes=account_routes))


def test_null_mx_fails_permanently(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.add, "mjl", "mjl@example.org", ["a@nullmx.example"], MSG)
        await wait_for(lambda: queued(q) == 0 and len(ld.dsns()) == 1)
        assert dsn_status(ld.dsns()[0])[0]["status"] == "5.1.10"

    run_queue(tmp_path, t)


def test_future_release(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(
            q.add,
            "mjl",
            "mjl@example.org",
            ["a@dest.example"],
            MSG,
            hold_until=time.time() + 3600,
            future_release="HOLDFOR=3600",
        )
        await asyncio.sleep(0.2)
        m = q.list_msgs(Filter())[0]
        assert m.attempts == 0 and m.next_attempt > time.time() + 3500 and m.future_release == "HOLDFOR=3600"
        await retry_now(q)
        await wait_for(lambda: queued(q) == 0)

    run_queue(tmp_path, t)


def test_localserve_special_localparts(tmp_path: Path) -> None:
    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(
            q.add,
            "mox",
            "mox@localhost",
            ["bob@remote.example", "x550@remote.example", "ytemperror@remote.example"],
            MSG,
        )
        await wait_for(lambda: len(q.list_msgs(Filter())) == 1 and not q._busy and len(ld.dsns()) == 1)
        assert [d.account for d in ld.delivered if b"multipart/report" not in d.data] == ["bob"]
        assert q.list_msgs(Filter())[0].recipient == "ytemperror@remote.example"
        assert dsn_status(ld.dsns()[0])[0]["final-recipient"].endswith("x550@remote.example")
        assert srv.connections == 0

    run_queue(tmp_path, t, localserve=True)


def test_localserve_timeout_localpart_hangs(tmp_path: Path, monkeypatch: Any) -> None:
    """A local part ending in "timeout" hangs the local delivery (an hour in mox; shortened
    here), then fails temporarily; other domains are delivered meanwhile."""
    monkeypatch.setattr(deliver, "LOCALSERVE_TIMEOUT", 1.5)

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        await run_blocking(q.add, "mox", "mox@localhost", ["xtimeout@slow.example"], MSG)
        await run_blocking(q.add, "mox", "mox@localhost", ["bob@fast.example"], MSG)
        await wait_for(lambda: len(ld.delivered) == 1)
        # Still hanging: the attempt has started (counted at pick-up) but has no result yet.
        [m] = q.list_msgs(Filter())
        assert (
            m.recipient == "xtimeout@slow.example" and m.last_result() is None and "slow.example" in q._busy
        )
        await wait_for(lambda: q.list_msgs(Filter())[0].last_result() is not None and not q._busy)
        [m] = q.list_msgs(Filter())
        r = m.last_result()
        assert r is not None and not r.success and "timeout" in r.error
        assert srv.connections == 0 and not ld.dsns()

    run_queue(tmp_path, t, localserve=True)


def test_idn_domain_and_smtputf8(tmp_path: Path) -> None:
    zone = ZONE + "xn--bcher-kva.example. MX 10 mx.dest.example.\n"

    async def t(q: Queue, srv: SMTPTestServer, ld: CollectingDelivery) -> None:
        q.deps.resolver = MockResolver.from_zone(zone)
        # Unicode domain: queued under its A-label, delivered with the A-label; the message asked
        # for SMTPUTF8 but its addresses are ASCII, so a server without it still gets it.
        rule = await run_blocking(q.holdrule_add, "", "", "")
        ids = await run_blocking(
            q.add, "mjl", "mjl@example.org", ["a@B\u00fccher.example"], MSG, smtputf8=True
        )
        assert q.list_msgs(Filter(ids=ids))[0].rcpt_domain == "xn--bcher-kva.example"
        await run_blocking(q.holdrule_remove, rule.id)
        await run_blocking(q.hold, Filter(), False)
        await wait_for(lambda: queued(q) == 0)
        assert srv.messages[0].rcpts[0][0] == "a@xn--bcher-kva.example"
        assert "SMTPUTF8" not in srv.messages[0].mail_params
        # A non-ASCII localpart needs SMTPUTF8: permanent failure with a DSN.
        await run_blocking(q.add, "mjl", "mjl@example.org", ["j\u00f6rg@dest.example"], MSG, smtputf8=True)
        await wait_for(lambda: queued(q) == 0 and len(ld.dsns()) == 1)
        st = dsn_status(ld.dsns()[0])[0]
        assert st["status"] == "5.6.7" and st["final-recipient"] == "utf-8; j\u00f6rg@dest.example"

    run_queue(tmp_path, t, SMTPTestServer(extensions=["PIPELINING", "ENHANCEDSTATUSCODES"]))
