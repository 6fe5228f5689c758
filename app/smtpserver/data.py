"""DATA (RFC 5321 section 4.1.1.4) and BDAT (RFC 3030): receiving the message, with SMTP
smuggling protection and the size limit enforced while reading, then handing it to submission
or incoming delivery.
"""

from __future__ import annotations

import asyncio

from app.smtp import codes as c
from app.smtp.command import Command
from app.smtp.data import ERR_SMUGGLING, ERR_TOO_LARGE, normalize_chunked
from app.smtp.reply import SMTPError
from app.smtp.wire import ChunkEnd, DataChunk, DataEnd
from app.smtpserver.session import Session

DATA_DEADLINE = 30 * 60  # mox: a whole DATA transfer may take at most 30 minutes

SMUGGLING = SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_SYNTAX2, "invalid bare \\r or \\n, may be smtp smuggling")


def _too_large() -> SMTPError:
    return SMTPError(c.C552_STORAGE_EXCEEDED, c.SE_SYS_MSG_LIMIT4, "message too large")


async def data(s: Session, cmd: Command) -> None:
    txn = s.txn
    assert txn is not None
    if cmd.arg:
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "no parameters allowed")
    if txn.bdat is not None:
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "cannot mix BDAT and DATA")
    if not txn.rcpts:
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "missing RCPT TO")
    s.reply(c.C354_CONTINUE, "", "see you at the bare dot")
    s.wire.start_data(s.max_size)
    buf = bytearray()
    try:
        async with asyncio.timeout(DATA_DEADLINE):
            while True:
                ev = await s.next_event()
                if isinstance(ev, DataChunk):
                    buf += ev.data
                elif isinstance(ev, DataEnd):
                    break
    except TimeoutError:
        raise SMTPError(c.C421_SERVICE_UNAVAIL, c.SE_PROTO_OTHER0, "data transfer took too long") from None
    s.reset_transaction()
    if ev.error == ERR_SMUGGLING:
        s.log.info("smtp smuggling attempt or broken client: bare cr/lf in data", size=ev.size)
        raise SMUGGLING
    if ev.error == ERR_TOO_LARGE:
        raise _too_large()
    await handle_message(s, txn, bytes(buf))


def _parse_bdat(arg: str) -> tuple[int, bool]:
    parts = arg.split(" ")
    if not 1 <= len(parts) <= 2 or not parts[0].isdigit() or len(parts[0]) > 12:
        # Without a size the stream cannot be kept in sync: close (RFC 3030 section 4.2).
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad BDAT syntax", close=True)
    last = len(parts) == 2
    if last and parts[1].upper() != "LAST":
        raise SMTPError(c.C501_BAD_PARAM_SYNTAX, c.SE_PROTO_SYNTAX2, "bad BDAT syntax", close=True)
    return int(parts[0]), last


async def bdat(s: Session, cmd: Command) -> None:
    size, last = _parse_bdat(cmd.arg)
    s.wire.start_bdat(size)
    txn = s.txn
    usable = txn is not None and bool(txn.rcpts)
    if usable and txn is not None and txn.bdat is None:
        txn.bdat = bytearray()
    while True:
        ev = await s.next_event()
        if isinstance(ev, DataChunk):
            if usable and txn is not None and txn.bdat is not None and txn.bdat_error is None:
                if len(txn.bdat) + len(ev.data) > s.max_size:
                    txn.bdat_error = _too_large()
                    txn.bdat = bytearray()
                else:
                    txn.bdat += ev.data
        elif isinstance(ev, ChunkEnd):
            break
    # RFC 3030 section 4.2: the chunk is read before any error is given.
    if txn is None:
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "missing MAIL FROM")
    if not usable:
        raise SMTPError(c.C503_BAD_CMD_SEQ, c.SE_PROTO_CMD1, "missing RCPT TO")
    if not last:
        s.reply(c.C250_COMPLETED, c.SE_OTHER0, f"{size} bytes received")
        return
    s.reset_transaction()
    if txn.bdat_error is not None:
        raise txn.bdat_error
    msg = normalize_chunked(bytes(txn.bdat or b""))
    if msg is None:
        raise SMTPError(c.C500_BAD_SYNTAX, c.SE_PROTO_SYNTAX2, "invalid bare \\r in message")
    await handle_message(s, txn, msg)


def _check_8bit(s: Session, txn: object, msg: bytes) -> None:
    """RFC 6152 and RFC 6531: 8-bit content needs BODY=8BITMIME, UTF-8 header fields need
    SMTPUTF8. Clients often forget; mox (and we) only refuse in pedantic mode, and otherwise
    record what the message really needs."""
    from app.smtpserver.msgheaders import header_end
    from app.smtpserver.session import Transaction

    assert isinstance(txn, Transaction)
    if msg.isascii():
        return
    utf8_headers = not msg[: header_end(msg)].isascii()
    if s.ctx.deps.pedantic:
        if s.submission and not txn.body_8bit:
            raise SMTPError(
                c.C500_BAD_SYNTAX, c.SE_MSG_OTHER0, "message with non-us-ascii requires 8bitmime extension"
            )
        if utf8_headers and not txn.smtputf8:
            raise SMTPError(
                c.C550_MAILBOX_UNAVAIL,
                c.SE_MSG_OTHER0,
                "smtputf8 extension is required but was not added to the MAIL command",
            )
    if utf8_headers:
        txn.smtputf8 = True


async def handle_message(s: Session, txn: object, msg: bytes) -> None:
    from app.smtpserver import delivery, submit
    from app.smtpserver.session import Transaction

    assert isinstance(txn, Transaction)
    _check_8bit(s, txn, msg)
    if s.submission:
        await submit.submit(s, txn, msg)
    else:
        await delivery.deliver(s, txn, msg)
    s.good_txns += 1
