"""The outgoing queue (layer 4): durable per-recipient queue in ``data/queue.db``, delivery with
retries and DSNs, routes and transports, hold rules, retired messages, suppression lists, and
localserve's local delivery. See ../shared/spec/mox-features.md §3.

Use::

    q = Queue(QueueDeps(config=cfg, data_dir=dir, resolver=r, store=s, localserve=False))
    ids = await run_blocking(q.add, "mjl", "mjl@example.org",
                             [Recipient("a@example.com")], data, requiretls=None)
    await q.start()     # delivery loop on the running event loop
    ...
    await q.stop()

``add`` is synchronous and durable: it returns after the commit. Callers in asyncio use
``app.runtime.run_blocking``. Control handlers for the CLI: ``app.queue.ctl_handlers.handlers(q)``.
"""

from app.queue.deps import LocalDelivery, LocalDeliveryError, QueueDeps
from app.queue.model import Filter, HoldRule, Msg, Recipient, Result, Retired, Suppression
from app.queue.queue import Queue, QueueError

__all__ = [
    "Filter",
    "HoldRule",
    "LocalDelivery",
    "LocalDeliveryError",
    "Msg",
    "Queue",
    "QueueDeps",
    "QueueError",
    "Recipient",
    "Result",
    "Retired",
    "Suppression",
]
