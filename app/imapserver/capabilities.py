"""Which capabilities a connection advertises (RFC 9051 section 7.2.2) and which extensions a
client may ENABLE (RFC 5161).

The base list is advertised on every connection; STARTTLS, AUTH=PLAIN / LOGINDISABLED and
AUTH=EXTERNAL depend on the connection; an account's IMAPCapabilitiesDisabled removes entries
after login. Only what this server implements completely is listed.
"""

from __future__ import annotations

from collections.abc import Iterable

BASE: tuple[str, ...] = (
    "IMAP4rev2", "IMAP4rev1", "ENABLE", "LITERAL+", "IDLE", "SASL-IR", "BINARY", "UNSELECT", "UIDPLUS",
    "ESEARCH", "SEARCHRES", "MOVE", "UTF8=ACCEPT", "LIST-EXTENDED", "SPECIAL-USE", "CREATE-SPECIAL-USE",
    "LIST-STATUS", "AUTH=SCRAM-SHA-256-PLUS", "AUTH=SCRAM-SHA-256", "AUTH=SCRAM-SHA-1-PLUS",
    "AUTH=SCRAM-SHA-1", "AUTH=CRAM-MD5", "ID", "APPENDLIMIT", "CONDSTORE", "QRESYNC", "STATUS=SIZE",
    "QUOTA", "QUOTA=RES-STORAGE", "METADATA", "SAVEDATE", "WITHIN", "NAMESPACE", "LIST-METADATA", "REPLACE", "MULTISEARCH", "INPROGRESS", "UIDONLY", "NOTIFY", "OBJECTID",
    "MULTIAPPEND", "UNAUTHENTICATE", "CHILDREN", "PREVIEW", "COMPRESS=DEFLATE",
    "SORT", "SORT=DISPLAY", "ESORT", "CONTEXT=SEARCH", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
)  # fmt: skip

ENABLEABLE = frozenset({"IMAP4REV2", "UTF8=ACCEPT", "CONDSTORE", "QRESYNC", "METADATA", "UIDONLY"})

AUTH_PREFIX = "AUTH="


def advertised(
    *,
    tls: bool,
    tls_available: bool,
    require_tls: bool,
    authenticated: bool,
    client_cert: bool,
    append_limit: int,
    disabled: Iterable[str] = (),
    plus_mechanisms: bool = True,
) -> list[str]:
    """The capability list for the current state of a connection."""
    off = {d.upper() for d in disabled}
    out: list[str] = []
    for cap in BASE:
        if cap.endswith("-PLUS") and cap.startswith(AUTH_PREFIX) and not (tls and plus_mechanisms):
            continue
        if cap == "APPENDLIMIT":
            cap = f"APPENDLIMIT={append_limit}"
        name = cap.upper()
        if authenticated and (name in off or name.split("=")[0] in off):
            continue
        out.append(cap)
    if not authenticated:
        if not tls and tls_available:
            out.append("STARTTLS")
        if tls or not require_tls:
            out.append("AUTH=PLAIN")
        else:
            out.append("LOGINDISABLED")
        if client_cert:
            out.append("AUTH=EXTERNAL")
    return out


def is_disabled(cap: str, disabled: Iterable[str]) -> bool:
    """Whether an account disabled a capability (for ENABLE, which then ignores it)."""
    c = cap.upper()
    return any(d.upper() == c for d in disabled)
