"""QUOTA (RFC 9208): one quota root "" per account with the STORAGE resource, in KiB.
Without a configured limit there is no quota root."""

from __future__ import annotations

from app import store
from app.imap import Parser
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import No
from app.imapserver.names import parse_mailbox, to_client
from app.imapserver.session import Session
from app.runtime import run_blocking


async def _usage(s: Session) -> tuple[int, int]:
    used, limit = await run_blocking(s.account.quota_usage)
    return int(used), int(limit)


def _quota_line(used: int, limit: int) -> str:
    return f'QUOTA "" (STORAGE {(used + 1023) // 1024} {limit // 1024})'


async def cmd_getquotaroot(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    name = parse_mailbox(s, p)
    p.end()
    try:
        await run_blocking(s.account.mailbox, name)
    except store.StoreError as e:
        raise store_error(e)
    used, limit = await _usage(s)
    if limit > 0:
        s.untagged(b"QUOTAROOT " + to_client(s, name) + b' ""')
        s.untagged(_quota_line(used, limit))
    else:
        s.untagged(b"QUOTAROOT " + to_client(s, name))
    return "GETQUOTAROOT completed"


async def cmd_getquota(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    root = p.astring()
    p.end()
    used, limit = await _usage(s)
    if root != "" or limit <= 0:
        raise No("no such quota root", "NONEXISTENT")
    s.untagged(_quota_line(used, limit))
    return "GETQUOTA completed"
