"""Control-channel handlers behind ``moxpy queue ...`` (registered by app/serve.py:
``for cmd, h in handlers(queue).items(): ctl.register(cmd, h)``).

Arguments are JSON values: filter commands take a filter object first (keys ``ids``, ``account``,
``from``, ``to``, ``hold``, ``submitted``, ``nextattempt``, ``transport``, ``n``). Results are
JSON values; listings are written as text (in frames, a queue can be long) and return their
count; message bytes travel base64-encoded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from app.ctl.protocol import CtlError
from app.queue.model import Filter, parse_duration
from app.queue.queue import Queue, QueueError
from app.runtime import run_blocking

Handler = Callable[[Any], Awaitable[Any]]


def parse_filter(obj: Any) -> Filter:
    """A Filter from its JSON form; CtlError on bad values."""
    if obj is None:
        return Filter()
    if not isinstance(obj, dict):
        raise CtlError("filter must be an object")
    try:
        hold = obj.get("hold")
        transport = obj.get("transport")
        f = Filter(
            ids=[int(x) for x in obj.get("ids") or []],
            account=str(obj.get("account") or ""),
            from_=str(obj.get("from") or ""),
            to=str(obj.get("to") or ""),
            hold=None if hold is None else bool(hold),
            submitted=str(obj.get("submitted") or ""),
            next_attempt=str(obj.get("nextattempt") or ""),
            transport=None if transport is None else str(transport),
            max=int(obj.get("n") or 0),
        )
        for spec in (f.submitted, f.next_attempt):
            if spec:
                if spec[0] not in "<>":
                    raise ValueError(f"time filter must start with < or >: {spec!r}")
                parse_duration(spec[1:])
    except (TypeError, ValueError) as e:
        raise CtlError(f"bad filter: {e}") from None
    return f


def format_msg(m: dict[str, Any]) -> str:
    """One line of ``queue list`` / ``queue retired list`` output for a message summary."""
    extra = ""
    if m.get("Hold"):
        extra += " hold"
    if m.get("Transport"):
        extra += f" transport {m['Transport']}"
    if m.get("RequireTLS") is not None:
        extra += f" requiretls {'yes' if m['RequireTLS'] else 'no'}"
    if "Success" in m:
        extra += " delivered" if m["Success"] else " failed"
        extra += f" lastactivity {m['LastActivity']}"
    else:
        extra += f" next {m['NextAttempt']}"
    results = m.get("Results") or []
    if results and not results[-1].get("success"):
        extra += f" error {json.dumps(results[-1].get('error', ''))}"
    return (
        f"{m['ID']} queued {m['Queued']} from:{m['Sender'] or '<>'} to:{m['Recipient']} "
        f"attempts {m['Attempts']}{extra}\n"
    )


async def _write_lines(req: Any, lines: list[str]) -> int:
    """Stream output in frames of at most 1000 lines (a listing can exceed one frame)."""
    if not lines:
        await req.write("(none)\n")
    for i in range(0, len(lines), 1000):
        await req.write("".join(lines[i : i + 1000]))
    return len(lines)


def _arg(req: Any, i: int, default: Any = None) -> Any:
    return req.args[i] if len(req.args) > i else default


def handlers(queue: Queue) -> dict[str, Handler]:
    """The ``queue.*`` control commands for a running queue."""

    async def call(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await run_blocking(fn, *args)
        except QueueError as e:
            raise CtlError(str(e)) from None
        except ValueError as e:
            raise CtlError(str(e)) from None

    async def q_list(req: Any) -> Any:
        f = parse_filter(_arg(req, 0))
        sort = str(_arg(req, 1, "nextattempt"))
        asc = bool(_arg(req, 2, True))
        msgs = await call(queue.list_msgs, f, sort, asc)
        return await _write_lines(req, [format_msg(m.summary()) for m in msgs])

    async def q_hold(req: Any) -> Any:
        return await call(queue.hold, parse_filter(_arg(req, 0)), True)

    async def q_unhold(req: Any) -> Any:
        return await call(queue.hold, parse_filter(_arg(req, 0)), False)

    async def q_schedule(req: Any) -> Any:
        try:
            seconds = parse_duration(str(_arg(req, 1, "0")))
        except ValueError as e:
            raise CtlError(str(e)) from None
        return await call(queue.schedule, parse_filter(_arg(req, 0)), seconds, bool(_arg(req, 2, False)))

    async def q_transport(req: Any) -> Any:
        return await call(queue.set_transport, parse_filter(_arg(req, 0)), str(_arg(req, 1, "")))

    async def q_requiretls(req: Any) -> Any:
        v = str(_arg(req, 1, ""))
        value = {"yes": True, "no": False, "default": None}
        if v not in value:
            raise CtlError("requiretls must be yes, no or default")
        return await call(queue.set_requiretls, parse_filter(_arg(req, 0)), value[v])

    async def q_fail(req: Any) -> Any:
        return await call(queue.fail, parse_filter(_arg(req, 0)))

    async def q_drop(req: Any) -> Any:
        return await call(queue.drop, parse_filter(_arg(req, 0)))

    async def q_dump(req: Any) -> Any:
        try:
            mid = int(_arg(req, 0))
        except (TypeError, ValueError):
            raise CtlError("need a message id") from None
        data = await call(queue.dump, mid)
        # Base64 in frames (a message can exceed one frame); chunks of a multiple of 3 bytes
        # encode to pieces that concatenate to the encoding of the whole.
        step = 3 * 256 * 1024
        for i in range(0, len(data), step):
            await req.write(base64.b64encode(data[i : i + step]).decode())
        return len(data)

    async def hr_list(req: Any) -> Any:
        return [vars(r) for r in await call(queue.holdrules)]

    async def hr_add(req: Any) -> Any:
        r = await call(
            queue.holdrule_add, str(_arg(req, 0, "")), str(_arg(req, 1, "")), str(_arg(req, 2, ""))
        )
        return vars(r)

    async def hr_remove(req: Any) -> Any:
        try:
            rid = int(_arg(req, 0))
        except (TypeError, ValueError):
            raise CtlError("need a hold rule id") from None
        await call(queue.holdrule_remove, rid)
        return None

    async def rt_list(req: Any) -> Any:
        f = parse_filter(_arg(req, 0))
        got = await call(queue.retired, f, bool(_arg(req, 1, False)))
        return await _write_lines(req, [format_msg(r.summary()) for r in got])

    async def rt_print(req: Any) -> Any:
        try:
            mid = int(_arg(req, 0))
        except (TypeError, ValueError):
            raise CtlError("need a message id") from None
        got = await call(queue.retired, Filter(ids=[mid]))
        if not got:
            raise CtlError(f"no retired message with id {mid}")
        return got[0].summary()

    async def sp_list(req: Any) -> Any:
        return [vars(s) for s in await call(queue.suppress_list, str(_arg(req, 0, "")))]

    async def sp_add(req: Any) -> Any:
        account, address = str(_arg(req, 0, "")), str(_arg(req, 1, ""))
        if not account or not address:
            raise CtlError("need account and address")
        cfg = queue.deps.config
        if cfg is not None and hasattr(cfg, "account") and cfg.account(account) is None:
            raise CtlError(f"unknown account {account!r}")
        added = await call(queue.suppress_add, account, address, True, "added manually")
        if not added:
            raise CtlError("address already in suppression list")
        return None

    async def sp_remove(req: Any) -> Any:
        await call(queue.suppress_remove, str(_arg(req, 0, "")), str(_arg(req, 1, "")))
        return None

    async def sp_lookup(req: Any) -> Any:
        s = await call(queue.suppress_lookup, str(_arg(req, 0, "")), str(_arg(req, 1, "")))
        return None if s is None else vars(s)

    return {
        "queue.list": q_list,
        "queue.hold": q_hold,
        "queue.unhold": q_unhold,
        "queue.schedule": q_schedule,
        "queue.transport": q_transport,
        "queue.requiretls": q_requiretls,
        "queue.fail": q_fail,
        "queue.drop": q_drop,
        "queue.dump": q_dump,
        "queue.holdrules.list": hr_list,
        "queue.holdrules.add": hr_add,
        "queue.holdrules.remove": hr_remove,
        "queue.retired.list": rt_list,
        "queue.retired.print": rt_print,
        "queue.suppress.list": sp_list,
        "queue.suppress.add": sp_add,
        "queue.suppress.remove": sp_remove,
        "queue.suppress.lookup": sp_lookup,
    }
