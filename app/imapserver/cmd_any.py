"""Commands valid in every state (RFC 9051 section 6.1): CAPABILITY, NOOP, LOGOUT, and ID
(RFC 2971)."""

from __future__ import annotations

from app.imap import Parser, writer
from app.imapserver.session import Session, State


async def cmd_capability(s: Session, p: Parser, tag: str) -> str:
    p.end()
    from app.imapserver.conn import capability_list

    s.untagged("CAPABILITY " + " ".join(capability_list(s)))
    return "CAPABILITY completed"


async def cmd_noop(s: Session, p: Parser, tag: str) -> str:
    p.end()
    return "NOOP completed"


async def cmd_logout(s: Session, p: Parser, tag: str) -> str:
    p.end()
    s.untagged("BYE logging out")
    s.state = State.LOGOUT
    return "LOGOUT completed"


async def cmd_id(s: Session, p: Parser, tag: str) -> str:
    """ID: log what the client says about itself, answer with our name (RFC 2971 section 3.1)."""
    p.sp()
    params: dict[str, str | None] = {}
    if not p.take(b"NIL"):
        p.expect(b"(")
        while not p.take(b")"):
            if params:
                p.sp()
            key = p.string()
            p.sp()
            params[key] = p.nstring()
            if len(params) > 30:
                from app.imapserver.errors import Bad

                raise Bad("too many ID parameters")
    p.end()
    if params:
        s.log.debug("client id", **{k.replace(" ", "_")[:30]: (v or "")[:200] for k, v in params.items()})
    s.untagged(b"ID " + writer.plist([b'"name"', b'"moxpy"']))
    return "ID completed"
