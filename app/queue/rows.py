"""Mapping queue rows to and from Msg records, and management filters to SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.queue.model import Filter, Msg, Result, parse_duration

MSG_COLS = (
    "id, base_id, queued, hold, sender_account, sender_localpart, sender_domain, rcpt_localpart, "
    "rcpt_domain, attempts, max_attempts, next_attempt, last_attempt, results, dialed_ips, has_8bit, "
    "smtputf8, is_dmarc_report, is_tls_report, size, message_id, subject, from_id, transport, "
    "requiretls, future_release, notify, orcpt, dsn_ret, dsn_envid, extra, content_id"
)


def row_to_msg(r: Sequence[Any]) -> Msg:
    notify = r[26]
    return Msg(
        id=r[0],
        base_id=r[1],
        queued=r[2],
        hold=bool(r[3]),
        sender_account=r[4],
        sender_localpart=r[5],
        sender_domain=r[6],
        rcpt_localpart=r[7],
        rcpt_domain=r[8],
        attempts=r[9],
        max_attempts=r[10],
        next_attempt=r[11],
        last_attempt=r[12],
        results=[Result.from_json(x) for x in json.loads(r[13])],
        dialed_ips=json.loads(r[14]),
        has_8bit=bool(r[15]),
        smtputf8=bool(r[16]),
        is_dmarc_report=bool(r[17]),
        is_tls_report=bool(r[18]),
        size=r[19],
        message_id=r[20],
        subject=r[21],
        from_id=r[22],
        transport=r[23],
        requiretls=None if r[24] is None else bool(r[24]),
        future_release=r[25],
        notify=None if notify is None else tuple(x for x in notify.split(",") if x),
        orcpt=r[27],
        dsn_ret=r[28],
        dsn_envid=r[29],
        extra=json.loads(r[30]),
        content_id=r[31],
    )


def msg_values(m: Msg) -> tuple[Any, ...]:
    return (
        m.id,
        m.base_id,
        m.queued,
        int(m.hold),
        m.sender_account,
        m.sender_localpart,
        m.sender_domain,
        m.rcpt_localpart,
        m.rcpt_domain,
        m.attempts,
        m.max_attempts,
        m.next_attempt,
        m.last_attempt,
        json.dumps([x.to_json() for x in m.results]),
        json.dumps(m.dialed_ips),
        int(m.has_8bit),
        int(m.smtputf8),
        int(m.is_dmarc_report),
        int(m.is_tls_report),
        m.size,
        m.message_id,
        m.subject,
        m.from_id,
        m.transport,
        None if m.requiretls is None else int(m.requiretls),
        m.future_release,
        None if m.notify is None else ",".join(m.notify),
        m.orcpt,
        m.dsn_ret,
        m.dsn_envid,
        json.dumps(m.extra),
        m.content_id,
    )


def _addr_clause(prefix: str, value: str, out: list[str], params: list[Any]) -> None:
    if value.startswith("@"):
        out.append(f"{prefix}_domain = ?")
        params.append(value[1:].lower())
    else:
        local, _, domain = value.rpartition("@")
        out.append(f"{prefix}_localpart = ? AND {prefix}_domain = ?")
        params.extend([local, domain.lower()])


def _time_clause(col: str, spec: str, now: float, out: list[str], params: list[Any]) -> None:
    op = spec[:1]
    if op not in "<>" or len(spec) < 2:
        raise ValueError(f"time filter must start with < or >: {spec!r}")
    out.append(f"{col} {op} ?")
    params.append(now + parse_duration(spec[1:]))


def filter_sql(
    f: Filter, now: float, sender_cols: str = "sender", queued_col: str = "queued"
) -> tuple[str, list[Any]]:
    """A WHERE clause (with leading ``WHERE`` or empty) and its parameters for a filter."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.ids:
        clauses.append(f"id IN ({','.join('?' * len(f.ids))})")
        params.extend(f.ids)
    if f.account:
        clauses.append("sender_account = ?")
        params.append(f.account)
    if f.from_:
        _addr_clause(sender_cols, f.from_, clauses, params)
    if f.to:
        _addr_clause("rcpt", f.to, clauses, params)
    if f.hold is not None:
        clauses.append("hold = ?")
        params.append(int(f.hold))
    if f.submitted:
        _time_clause(queued_col, f.submitted, now, clauses, params)
    if f.next_attempt:
        _time_clause("next_attempt", f.next_attempt, now, clauses, params)
    if f.transport is not None:
        clauses.append("transport = ?")
        params.append(f.transport)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params
