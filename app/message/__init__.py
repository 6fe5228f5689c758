"""The message library: everything that reads or writes an Internet message (RFC 5322, MIME).

Public API (import from ``app.message``; the submodules are implementation detail):

Parsing (``parser``, ``part``, ``serial``)
    ``parse(data, pedantic=False) -> Part``
        Offset-preserving MIME tree of a raw message (CRLF or bare LF). Never raises on bad
        input (only ``ParseError`` in pedantic mode); problems go to ``Part.defects``. Iterative:
        10,000 nesting levels and 100,000 parts parse in linear time. ``data`` is bytes,
        bytearray, mmap or memoryview; bodies are never copied (boundaries found with ``find``).
    ``Part``
        ``header_start``/``body_start``/``body_end`` (absolute offsets into ``data``; the header
        section ``data[header_start:body_start]`` includes the blank line), ``size`` (body
        bytes), ``lines`` (body lines, set for text/* and message/*), ``media_type``/
        ``media_subtype`` (lower case), ``params`` (lower-case names, RFC 2231 decoded),
        ``disposition``/``disposition_params``, ``language``, ``location``, ``content_id``,
        ``description``, ``cte`` (lower case, "" when absent), ``md5``, ``parts`` (multipart
        children), ``message`` (the nested message of message/rfc822 and message/global),
        ``defects``. Helpers: ``walk()``, ``find(path)``, ``charset``, ``filename``,
        ``is_multipart``, ``all_defects()``.
        ``Part.to_bytes()`` / ``Part.from_bytes(b)``: compact versioned serialization the store
        keeps with each message.

IMAP (``envelope``, ``bodystructure``, ``section``, ``decode``, ``preview``)
    ``envelope(data, part) -> Envelope``: date, subject, from, sender, reply_to, to, cc, bcc,
        in_reply_to, message_id; raw (undecoded) and decoded forms (``subject_decoded``,
        ``parsed_date``), addresses as ``EnvAddress``; ``Envelope.imap()`` for the wire.
    ``bodystructure(data, part, extensible=True) -> list`` and ``body(data, part)``: nested
        Python lists (str, int, None, list) in the order of RFC 9051 section 7.5.2; a ``Run``
        (a list subclass) holds items written back to back without spaces or parentheses
        (multipart children, address lists); ``imap_string`` turns it all into the IMAP wire form.
    ``section_bytes(data, part, spec) -> bytes``: "", "1.2", "HEADER", "TEXT", "MIME",
        "1.HEADER.FIELDS (A B)", "HEADER.FIELDS.NOT (...)"; raises ``SectionError``.
    ``decode_binary(data, part) -> bytes`` raising ``UnknownCTE`` (IMAP ``[UNKNOWN-CTE]``);
        ``decode_raw(raw, cte)`` for a raw body already in hand.
    ``decoded_text(data, part) -> str``: body of a text part decoded to str (charset converted).
    ``text_for_search(data, part) -> str``: headers + decoded text parts.
    ``preview(data, part) -> str``: RFC 8970 preview, at most 256 characters.
    ``from_address(data, part) -> Address``: the single From address (DMARC, submission).

Headers (``headers``, ``encoded``)
    ``iter_fields(data, start, end)`` -> (name, raw value) pairs; ``raw_fields`` (offsets);
    ``header_values(data, part, name)``, ``header_value``, ``first_values`` (one pass for many
    names); ``unfold``; ``fold(name, value)``; ``decode_rfc2047(s)``; ``encode_rfc2047(s)``;
    ``header_text(raw)`` (UTF-8, else Latin-1); ``decode_bytes(b, charset)``;
    ``needs_smtputf8(data, part)`` (UTF-8 in any header section).

Threading (``thread``): ``base_subject(s)``, ``thread_subject(s) -> (key, is_response)``,
``message_id(s)``, ``references(refs, in_reply_to)``.

Composing (``compose``): ``Composer`` builds text, alternative, attachments, inline parts and
    message/rfc822 forwards; ``HeaderInjection`` when a header value holds CR or LF.

DSN (``dsn``, ``dsnparse``): ``make_dsn(DSNMessage) -> bytes`` (RFC 3464, RFC 6533 when
    SMTPUTF8); ``parse_dsn(data) -> DSNInfo | None`` with per-recipient ``DSNRecipient``;
    ``is_dsn(part)``.

Addresses live in ``app.smtp.address`` (L0, usable by the SMTP layer too): ``Path``,
``Address``, ``Localpart``, ``Domain``, ``parse_path``, ``parse_address``,
``parse_address_list``.
"""

from __future__ import annotations

from app.message.bodystructure import body, bodystructure, imap_string
from app.message.compose import Attachment, Composer
from app.message.decode import (
    UnknownCTE,
    decode_binary,
    decode_raw,
    decoded_text,
    text_for_search,
)
from app.message.dsn import DSNMessage, DSNRecipientIn, make_dsn
from app.message.dsnparse import DSNInfo, DSNRecipient, is_dsn, parse_dsn
from app.message.encoded import decode_bytes, decode_rfc2047, encode_rfc2047, header_text
from app.message.envelope import EnvAddress, Envelope, Run, env_addresses, envelope, from_address
from app.message.headers import (
    HeaderInjection,
    first_values,
    fold,
    header_value,
    header_values,
    iter_fields,
    needs_smtputf8,
    raw_fields,
    unfold,
)
from app.message.htmltext import html_to_text
from app.message.parser import parse
from app.message.part import Buffer, ParseError, Part
from app.message.preview import preview
from app.message.section import SectionError, parse_section, section_bytes
from app.message.thread import base_subject, message_id, references, thread_subject

__all__ = [
    "Attachment",
    "Buffer",
    "Composer",
    "DSNInfo",
    "DSNMessage",
    "DSNRecipient",
    "DSNRecipientIn",
    "EnvAddress",
    "Envelope",
    "HeaderInjection",
    "ParseError",
    "Part",
    "Run",
    "SectionError",
    "UnknownCTE",
    "base_subject",
    "body",
    "bodystructure",
    "decode_binary",
    "decode_bytes",
    "decode_raw",
    "decode_rfc2047",
    "decoded_text",
    "encode_rfc2047",
    "env_addresses",
    "envelope",
    "first_values",
    "fold",
    "from_address",
    "header_text",
    "header_value",
    "header_values",
    "html_to_text",
    "imap_string",
    "is_dsn",
    "iter_fields",
    "make_dsn",
    "message_id",
    "needs_smtputf8",
    "parse",
    "parse_dsn",
    "parse_section",
    "preview",
    "raw_fields",
    "references",
    "section_bytes",
    "text_for_search",
    "thread_subject",
    "unfold",
]
