"""``moxpy message parse FILE``: print the parsed MIME structure of a message as JSON."""

from __future__ import annotations

import json

from app.cli.command import Command, CommandError, Context, UsageError


def _decoded_size(data: bytes, p: object) -> int | None:
    from app.message import UnknownCTE, decode_binary
    from app.message.part import Part

    assert isinstance(p, Part)
    if p.parts or p.message is not None:
        return None
    try:
        return len(decode_binary(data, p))
    except UnknownCTE:
        return None


def _part_json(data: bytes, root: object) -> object:
    from app.message.part import Part

    assert isinstance(root, Part)
    done: dict[int, dict[str, object]] = {}
    for p in reversed(list(root.walk())):
        d: dict[str, object] = {
            "MediaType": p.media_type.upper(),
            "MediaSubType": p.media_subtype.upper(),
            "ContentTypeParams": p.params,
            "ContentID": p.content_id or "",
            "ContentDescription": p.description or "",
            "ContentTransferEncoding": (p.cte or "").upper(),
            "ContentDisposition": p.disposition or "",
            "ContentDispositionParams": p.disposition_params,
            "ContentLanguage": p.language,
            "ContentLocation": p.location or "",
            "ContentMD5": p.md5 or "",
            "HeaderOffset": p.header_start,
            "BodyOffset": p.body_start,
            "EndOffset": p.body_end,
            "RawSize": p.size,
            "DecodedSize": _decoded_size(data, p),
            "RawLineCount": p.lines,
            "Parts": [done.pop(id(c)) for c in p.parts],
            "Message": done.pop(id(p.message)) if p.message is not None else None,
            "Defects": p.defects,
        }
        done[id(p)] = d
    return done[id(root)]


def _run_parse(ctx: Context, args: list[str]) -> int:
    if len(args) != 1:
        raise UsageError("need exactly one message file")
    from app.message import envelope, parse

    try:
        with open(args[0], "rb") as f:
            data = f.read()
    except OSError as e:
        raise CommandError(f"reading message: {e.strerror}") from None
    root = parse(data)
    env = envelope(data, root)
    out = {
        "Part": _part_json(data, root),
        "Envelope": {
            "Date": env.date,
            "Subject": env.subject_decoded,
            "From": [a.email() for a in env.from_],
            "To": [a.email() for a in env.to],
            "Cc": [a.email() for a in env.cc],
            "MessageID": env.message_id,
            "InReplyTo": env.in_reply_to,
        },
    }
    ctx.stdout.write(json.dumps(out, indent="\t", ensure_ascii=False) + "\n")
    return 0


COMMANDS: list[Command] = [
    Command(
        ("message", "parse"),
        _run_parse,
        "Parse message, print JSON representation.",
        "moxpy message parse message.eml",
    ),
]
