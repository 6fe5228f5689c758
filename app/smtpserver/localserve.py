"""mox localserve's special local parts (spec section 6.2): a recipient or sender whose local
part ends in ``temperror`` (451), ``permerror`` (550), ``timeout`` (hang) or a number 400-600
(that code) fails on purpose, so mail software can be tested against errors. By default the
error is given after DATA; a local part starting with ``mailfrom`` or ``rcptto`` fails at MAIL
FROM or RCPT TO instead.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from app.smtp import codes as c
from app.smtp.reply import SMTPError
from app.smtpserver.session import Session, Transaction

_NUM = re.compile(r"([0-9]{3})$")
TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class NeedsError:
    """The failure a special local part asks for; ``timeout`` means: never answer."""

    stage: str  # "mailfrom", "rcptto" or "data"
    error: SMTPError | None
    timeout: bool = False


def needs_error(localpart: str) -> NeedsError | None:
    """The requested failure for a local part, or None for a normal one."""
    lp = localpart.lower()
    stage = "mailfrom" if lp.startswith("mailfrom") else "rcptto" if lp.startswith("rcptto") else "data"
    if lp.endswith("temperror"):
        return NeedsError(stage, SMTPError(c.C451_LOCAL_ERR, c.SE_OTHER0, "error for testing (temperror)"))
    if lp.endswith("permerror"):
        return NeedsError(stage, SMTPError(c.C550_MAILBOX_UNAVAIL, c.SE_OTHER0, "error for testing (permerror)"))
    if lp.endswith("timeout"):
        return NeedsError(stage, None, timeout=True)
    m = _NUM.search(lp)
    if m:
        code = int(m.group(1))
        if 400 <= code <= 600:
            return NeedsError(stage, SMTPError(code, c.SE_OTHER0, f"error for testing ({code})"))
    return None


async def data_error(s: Session, txn: Transaction) -> None:
    """localserve: recipients (and senders) whose local part asks for an error at DATA get it."""
    if not s.ctx.deps.localserve:
        return
    for lp in [txn.mail_from.localpart] + [r.path.localpart for r in txn.rcpts]:
        ne = needs_error(lp)
        if ne is None or ne.stage != "data":
            continue
        if ne.timeout:
            await s.flush()
            await asyncio.sleep(TIMEOUT_SECONDS)
        if ne.error is not None:
            raise ne.error
