"""METADATA (RFC 5464): GETMETADATA and SETMETADATA for the server (mailbox "") and per
mailbox. Entries are "/private/..." or "/shared/..." (stored alike, as mox does); the store
enforces the count and size limits (TOOMANY, MAXSIZE)."""

from __future__ import annotations

from app import store
from app.imap import Parser, writer
from app.imapserver.cmd_mailbox import store_error
from app.imapserver.errors import Bad
from app.imapserver.names import parse_mailbox, to_client
from app.imapserver.session import Session
from app.runtime import run_blocking


def _check_entry(e: str) -> str:
    low = e.lower()
    if not (low.startswith("/private/") or low.startswith("/shared/")) or low.endswith("/") or "//" in low:
        raise Bad(f"invalid metadata entry {e}")
    if any(c in e for c in "*%") or any(ord(c) < 0x20 for c in e):
        raise Bad(f"invalid characters in metadata entry {e}")
    parts = low.split("/")
    if len(parts) > 2 and parts[2] == "vendor" and len(parts) < 5:
        raise Bad("vendor entries need at least 4 components")
    return low


def _entries(p: Parser) -> list[str]:
    if p.take(b"("):
        out = [p.astring()]
        while not p.take(b")"):
            p.sp()
            out.append(p.astring())
        return out
    return [p.astring()]


async def _mailbox_id(s: Session, name: str) -> int | None:
    if name == "":
        return None
    try:
        mb = await run_blocking(s.account.mailbox, name)
    except store.StoreError as e:
        raise store_error(e)
    return int(mb.id)


async def cmd_getmetadata(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    maxsize: int | None = None
    depth = "0"
    if p.take(b"("):
        while not p.take(b")"):
            opt = p.atom_upper()
            p.sp()
            if opt == "MAXSIZE":
                maxsize = p.number()
            elif opt == "DEPTH":
                depth = p.atom_upper()
                if depth not in ("0", "1", "INFINITY"):
                    raise Bad("invalid DEPTH")
            else:
                raise Bad(f"unknown GETMETADATA option {opt}")
            p.take_sp()
        p.sp()
    raw_name = p.astring()
    name = parse_mailbox(s, Parser(writer.astring(raw_name))) if raw_name else ""
    p.sp()
    wanted = [_check_entry(e) for e in _entries(p)]
    p.end()
    mbid = await _mailbox_id(s, name)
    anns: list[store.Annotation] = await run_blocking(s.account.annotations, mbid)
    items: list[bytes] = []
    longest = 0
    for a in sorted(anns, key=lambda x: x.key):
        ok = False
        for w in wanted:
            if a.key == w:
                ok = True
            elif a.key.startswith(w + "/"):
                rest = a.key[len(w) + 1 :]
                ok = depth == "INFINITY" or (depth == "1" and "/" not in rest)
            if ok:
                break
        if not ok:
            continue
        if maxsize is not None and len(a.value) > maxsize:
            longest = max(longest, len(a.value))
            continue
        value = writer.string(a.value, s.utf8) if a.is_string else writer.literal(a.value, b"\x00" in a.value)
        items.append(writer.astring(a.key) + b" " + value)
    if items:
        s.untagged(b"METADATA " + (to_client(s, name) if name else b'""') + b" " + writer.plist(items))
    if longest:
        return f"[METADATA LONGENTRIES {longest}] GETMETADATA completed"
    return "GETMETADATA completed"


async def cmd_setmetadata(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    raw_name = p.astring()
    name = parse_mailbox(s, Parser(writer.astring(raw_name))) if raw_name else ""
    p.sp()
    p.expect(b"(")
    pairs: list[tuple[str, bytes | None, bool]] = []
    while not p.take(b")"):
        key = _check_entry(p.astring())
        p.sp()
        value: bytes | None
        is_string = True
        if p.take(b"NIL"):
            value = None
        elif p.peek_byte() in (0x7B, 0x7E):
            value, binary = p.literal(allow_binary=True)
            is_string = not binary
        else:
            value = p.string_bytes()
        pairs.append((key, value, is_string))
        p.take_sp()
    p.end()
    if not pairs:
        raise Bad("no metadata entries")
    mbid = await _mailbox_id(s, name)
    for key, value, is_string in pairs:
        try:
            await run_blocking(
                s.account.set_annotation, mbid, key, value, is_string=is_string, origin=s.subscription
            )
        except store.StoreError as e:
            raise store_error(e)
    return "SETMETADATA completed"
