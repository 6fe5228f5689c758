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
    code = 0
    if lp.endswith("temperror"):
        code = c.C451_LOCAL_ERR
    elif lp.endswith("permerror"):
        code = c.C550_MAILBOX_UNAVAIL
    elif lp.endswith("timeout"):
        return NeedsError(stage, None, timeout=True)
    elif (m := _NUM.search(lp)) and 400 <= int(m.group(1)) <= 600:
        code = int(m.group(1))
    if not code:
        return None
    return NeedsError(
        stage, SMTPError(code, c.SE_OTHER0, f"failure with code {code} due to special localpart")
    )


async def recipient_error(s: Session, localpart: str, what: str) -> SMTPError | None:
    """After DATA (any prefix: ``rcptto...`` ones already failed at RCPT): the error a
    recipient's local part asks for, or None. A timeout hangs, then fails the command."""
    if not s.ctx.deps.localserve:
        return None
    ne = needs_error(localpart)
    if ne is None:
        return None
    if ne.timeout:
        s.log.info("timing out due to special localpart")
        await s.flush()
        await asyncio.sleep(TIMEOUT_SECONDS)
        raise SMTPError(c.C451_LOCAL_ERR, c.SE_SYS_OTHER0, f"timing out {what} due to special localpart")
    return ne.error


async def submission_error(s: Session, txn: Transaction) -> None:
    """localserve submission: the first recipient asking for an error fails the message."""
    for r in txn.rcpts:
        err = await recipient_error(s, r.path.localpart, "submission")
        if err is not None:
            raise err
