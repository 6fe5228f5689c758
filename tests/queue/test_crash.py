"""SIGKILL of a process that is adding to the queue loses nothing that add() acknowledged, and
delivery resumes after a restart on the same data directory."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.dns import MockResolver
from app.queue import Filter, Queue, QueueDeps
from tests.conftest import ROOT
from tests.queue.helpers import ZONE, CollectingDelivery, make_config, wait_for
from tests.smtpclient.testserver import SMTPTestServer

CHILD = """
import asyncio, sys
from pathlib import Path
from app.queue import Queue, QueueDeps
from tests.queue.helpers import make_config

async def main():
    q = Queue(QueueDeps(config=make_config(), data_dir=Path(sys.argv[1])))
    q.holdrule_add("", "", "")  # nothing leaves while we are killed
    await q.start()
    i = 0
    while True:
        msg = b"Subject: n%d\\r\\nMessage-ID: <n%d@example.org>\\r\\n\\r\\n" % (i, i) + b"x" * 3000 + b"\\r\\n"
        ids = q.add("mjl", "mjl@example.org", ["r%d@dest.example" % i], msg)
        print(ids[0], i, flush=True)
        i += 1

asyncio.run(main())
"""


@pytest.mark.timeout(60)
def test_sigkill_loses_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True
    )
    acked: dict[int, int] = {}
    assert p.stdout is not None
    while len(acked) < 25:
        line = p.stdout.readline()
        assert line, "child died"
        mid, i = line.split()
        acked[int(mid)] = int(i)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()

    async def main() -> None:
        srv = await SMTPTestServer().start()
        q = Queue(
            QueueDeps(
                config=make_config(),
                data_dir=tmp_path,
                resolver=MockResolver.from_zone(ZONE),
                smtp_port=srv.port,
                local_delivery=CollectingDelivery(),
            )
        )
        try:
            present = {m.id for m in q.list_msgs(Filter())}
            assert set(acked) <= present
            for m in q.list_msgs(Filter(ids=list(acked))):
                assert q.dump(m.id).startswith(b"Subject: n%d\r\n" % acked[m.id])
            for r in q.holdrules():
                q.holdrule_remove(r.id)
            q.hold(Filter(), False)
            await q.start()
            await wait_for(lambda: not q.list_msgs(Filter()), 30)
            got = {a for m in srv.messages for a, _ in m.rcpts}
            assert {f"r{i}@dest.example" for i in acked.values()} <= got
        finally:
            await q.stop()
            q.close()
            await srv.stop()

    asyncio.run(main())


def test_stop_during_delivery_keeps_message(tmp_path: Path) -> None:
    async def main() -> None:
        srv = await SMTPTestServer(data_delay=5).start()
        deps = QueueDeps(
            config=make_config(),
            data_dir=tmp_path,
            resolver=MockResolver.from_zone(ZONE),
            smtp_port=srv.port,
            local_delivery=CollectingDelivery(),
        )
        q = Queue(deps)
        await q.start()
        (mid,) = q.add("mjl", "mjl@example.org", ["a@dest.example"], b"Subject: x\r\n\r\nx\r\n")
        await wait_for(lambda: srv.active == 1 and bool(q._busy))
        await asyncio.wait_for(q.stop(), 5)
        q.close()
        srv.data_delay = 0
        q = Queue(deps)
        try:
            m = q.list_msgs(Filter(ids=[mid]))[0]
            assert m.attempts == 1 and not m.results  # the attempt was recorded, its outcome never came
            await q.start()
            q.schedule(Filter(), 0, True)
            await wait_for(lambda: not q.list_msgs(Filter()))
            assert q.retired(Filter())[0].success
        finally:
            await q.stop()
            q.close()
            await srv.stop()

    asyncio.run(main())
