"""Account database schema, numbered migrations and connection setup.

``PRAGMA user_version`` holds the schema version. Migrations run in order at open inside one
transaction; a database whose version is above ``SCHEMA_VERSION`` was written by a newer moxpy
and is refused rather than risk corrupting it.

Message bytes live in ``chunk`` rows of at most ``CHUNK_SIZE`` bytes keyed by ``data_id``, never
in the ``message`` row: SQLite rewrites a whole row on UPDATE, so flag changes stay cheap, and a
read at an offset opens only the chunk that holds it. Copies of a message share one ``msgdata``
row; it is deleted with its chunks and FTS row when the last message using it is gone.
"""

from __future__ import annotations

from pathlib import Path

import apsw

from app.store.errors import AccountUnavailable, NewerSchema
from app.store.sqlq import q

CHUNK_SIZE = 128 * 1024
APPLICATION_ID = 0x6D6F7870  # "moxp"

_V1 = """
CREATE TABLE syncstate (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    modseq INTEGER NOT NULL,                 -- last modseq handed out, account-wide
    highest_deleted_modseq INTEGER NOT NULL, -- highest modseq of a removed tombstone
    next_uidvalidity INTEGER NOT NULL,
    disk_usage INTEGER NOT NULL,             -- sum of message sizes, for quota
    last_message_id INTEGER NOT NULL         -- ids are never reused (they are also thread ids)
);
INSERT INTO syncstate VALUES (1, 1, 0, 1, 0, 0);

CREATE TABLE mailbox (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES mailbox(id),
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL,
    special_use TEXT NOT NULL DEFAULT '',
    keywords TEXT NOT NULL DEFAULT '',
    createseq INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    unread INTEGER NOT NULL DEFAULT 0,
    unseen INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mailbox_parent ON mailbox(parent_id);

CREATE TABLE subscription (name TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE TABLE msgdata (
    id INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    nchunks INTEGER NOT NULL,
    parsed BLOB NOT NULL
);

CREATE TABLE chunk (
    id INTEGER PRIMARY KEY,
    data_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE UNIQUE INDEX chunk_data ON chunk(data_id, seq);

CREATE TABLE message (
    id INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    createseq INTEGER NOT NULL,
    data_id INTEGER NOT NULL,
    size INTEGER NOT NULL,
    received REAL NOT NULL,
    savedate REAL NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0,
    answered INTEGER NOT NULL DEFAULT 0,
    flagged INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    draft INTEGER NOT NULL DEFAULT 0,
    forwarded INTEGER NOT NULL DEFAULT 0,
    junk INTEGER NOT NULL DEFAULT 0,
    notjunk INTEGER NOT NULL DEFAULT 0,
    phishing INTEGER NOT NULL DEFAULT 0,
    mdnsent INTEGER NOT NULL DEFAULT 0,
    keywords TEXT NOT NULL DEFAULT '',
    preview TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    subject_base TEXT NOT NULL DEFAULT '',
    thread_id INTEGER NOT NULL DEFAULT 0,
    thread_parent_ids TEXT NOT NULL DEFAULT '',
    thread_missing_link INTEGER NOT NULL DEFAULT 0,
    thread_muted INTEGER NOT NULL DEFAULT 0,
    thread_collapsed INTEGER NOT NULL DEFAULT 0,
    mailbox_orig_id INTEGER NOT NULL DEFAULT 0,
    mailbox_destined_id INTEGER NOT NULL DEFAULT 0,
    trained_junk INTEGER,
    remote_ip TEXT NOT NULL DEFAULT '',
    remote_ip_masked1 TEXT NOT NULL DEFAULT '',
    remote_ip_masked2 TEXT NOT NULL DEFAULT '',
    remote_ip_masked3 TEXT NOT NULL DEFAULT '',
    ehlo_domain TEXT NOT NULL DEFAULT '',
    mail_from TEXT NOT NULL DEFAULT '',
    mail_from_localpart TEXT NOT NULL DEFAULT '',
    mail_from_domain TEXT NOT NULL DEFAULT '',
    rcpt_to_localpart TEXT NOT NULL DEFAULT '',
    rcpt_to_domain TEXT NOT NULL DEFAULT '',
    msg_from_localpart TEXT NOT NULL DEFAULT '',
    msg_from_domain TEXT NOT NULL DEFAULT '',
    msg_from_org_domain TEXT NOT NULL DEFAULT '',
    ehlo_validated INTEGER NOT NULL DEFAULT 0,
    mail_from_validated INTEGER NOT NULL DEFAULT 0,
    msg_from_validated INTEGER NOT NULL DEFAULT 0,
    ehlo_validation TEXT NOT NULL DEFAULT '',
    mail_from_validation TEXT NOT NULL DEFAULT '',
    msg_from_validation TEXT NOT NULL DEFAULT '',
    dkim_domains TEXT NOT NULL DEFAULT '',
    orig_ehlo_domain TEXT NOT NULL DEFAULT '',
    orig_dkim_domains TEXT NOT NULL DEFAULT '',
    is_reject INTEGER NOT NULL DEFAULT 0,
    is_forward INTEGER NOT NULL DEFAULT 0,
    is_mailing_list INTEGER NOT NULL DEFAULT 0,
    is_dsn INTEGER NOT NULL DEFAULT 0,
    received_tls_version INTEGER NOT NULL DEFAULT 0,
    received_tls_cipher_suite INTEGER NOT NULL DEFAULT 0,
    received_require_tls INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX message_mailbox_uid ON message(mailbox_id, uid);
CREATE INDEX message_mailbox_modseq ON message(mailbox_id, modseq);
-- Covers "UIDs, modseqs and flags of a mailbox" (IMAP SELECT/FETCH FLAGS, CONDSTORE) without
-- touching the wide message rows.
CREATE INDEX message_mailbox_flags ON message(
    mailbox_id, uid, modseq, seen, answered, flagged, deleted, draft, forwarded, junk, notjunk, phishing,
    mdnsent, keywords
);
CREATE INDEX message_data ON message(data_id);
CREATE INDEX message_msgid ON message(message_id) WHERE message_id != '';
CREATE INDEX message_subject ON message(subject_base, received) WHERE subject_base != '';
CREATE INDEX message_thread ON message(thread_id);
CREATE INDEX message_ip1 ON message(remote_ip_masked1, received) WHERE remote_ip_masked1 != '';
CREATE INDEX message_ip2 ON message(remote_ip_masked2, received) WHERE remote_ip_masked2 != '';
CREATE INDEX message_ip3 ON message(remote_ip_masked3, received) WHERE remote_ip_masked3 != '';
CREATE INDEX message_ehlo ON message(ehlo_domain, received) WHERE ehlo_domain != '';
CREATE INDEX message_mailfrom ON message(mail_from_domain, received) WHERE mail_from_domain != '';
CREATE INDEX message_msgfrom ON message(msg_from_domain, received) WHERE msg_from_domain != '';
CREATE INDEX message_msgfrom_org ON message(msg_from_org_domain, received) WHERE msg_from_org_domain != '';

CREATE TABLE expunged (
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

CREATE TABLE annotation (
    mailbox_id INTEGER NOT NULL,   -- 0: server (account) level
    key TEXT NOT NULL,
    is_string INTEGER NOT NULL,
    value BLOB NOT NULL,
    createseq INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, key)
) WITHOUT ROWID;

CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- Word index (unicode61, case and diacritics folded). A trigram index would answer IMAP's
-- substring SEARCH exactly but costs over ten times as much per delivery (measured: ~5 ms for
-- 5 KB of text). rowid = msgdata.id: copies share one index entry.
CREATE VIRTUAL TABLE fts USING fts5(
    text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
);
"""

# Version 2: addresses the account sent to (for reputation: mail from people you wrote to is
# wanted), and an index over the messages the user classified as junk or not, per mailbox of
# first delivery, newest first, which every reputation query walks.
_V2 = """
CREATE TABLE recipient (
    id INTEGER PRIMARY KEY,
    localpart TEXT NOT NULL,
    domain TEXT NOT NULL,
    org_domain TEXT NOT NULL,
    sent REAL NOT NULL
);
CREATE INDEX recipient_address ON recipient(domain, localpart, sent);
CREATE INDEX recipient_org ON recipient(org_domain, sent);
CREATE INDEX message_classified ON message(mailbox_orig_id, received) WHERE junk OR notjunk;
"""

# Version 3: message lists by arrival time (webmail views, newest first).
_V3 = """
CREATE INDEX message_mailbox_received ON message(mailbox_id, received, id);
"""

# Version 4: the covering index of "UIDs, modseqs and flags of a mailbox" holds the flag columns
# packed into one integer (messages.FLAGS_MASK_SQL, bit i = model.FLAG_COLUMN_NAMES[i]) instead of
# ten columns: a narrower index, and queries that select that same expression read it from the
# index instead of computing it per row. (An indexed generated column would not do: SQLite does
# not read such a column from the index.) A test keeps this text equal to FLAGS_MASK_SQL.
FLAGS_MASK_V4 = (
    "(seen << 0) + (answered << 1) + (flagged << 2) + (deleted << 3) + (draft << 4) + (forwarded << 5)"
    " + (junk << 6) + (notjunk << 7) + (phishing << 8) + (mdnsent << 9)"
)
_V4 = f"""
DROP INDEX message_mailbox_flags;
CREATE INDEX message_mailbox_flags ON message(mailbox_id, uid, modseq, ({FLAGS_MASK_V4}), keywords);
"""

# Index i holds the SQL that takes a database from version i to i+1.
MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4]
SCHEMA_VERSION = len(MIGRATIONS)


def _configure(conn: apsw.Connection) -> None:
    conn.setbusytimeout(30_000)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-16000")
    # Savepoints journal the original of each page they change; keep that in memory.
    conn.execute("PRAGMA temp_store=MEMORY")


def open_writer(account: str, path: Path, create: bool) -> apsw.Connection:
    """Open the writer connection, creating and migrating as needed.

    Raises AccountUnavailable (naming the file) for a missing, unreadable or corrupt database and
    NewerSchema when its version is newer than this code.
    """
    p = str(path)
    if not create and not path.exists():
        raise AccountUnavailable(account, p, "database file does not exist")
    flags = apsw.SQLITE_OPEN_READWRITE | (apsw.SQLITE_OPEN_CREATE if create else 0)
    try:
        conn = apsw.Connection(p, flags=flags)
    except apsw.Error as e:
        raise AccountUnavailable(account, p, f"cannot open: {e}") from None
    try:
        _configure(conn)
        _check_and_migrate(account, p, conn)
    except AccountUnavailable:
        conn.close()
        raise
    except apsw.Error as e:
        conn.close()
        raise AccountUnavailable(account, p, f"not a valid account database: {e}") from None
    return conn


def _check_and_migrate(account: str, p: str, conn: apsw.Connection) -> None:
    version = int(q(conn, "PRAGMA user_version")[0][0])
    appid = int(q(conn, "PRAGMA application_id")[0][0])
    if version == 0:
        ntables = q(conn, "SELECT count(*) FROM sqlite_schema")[0][0]
        if ntables:
            raise AccountUnavailable(account, p, "not a moxpy account database (unknown tables)")
    elif appid != APPLICATION_ID:
        raise AccountUnavailable(account, p, f"not a moxpy account database (application_id {appid:#x})")
    if version > SCHEMA_VERSION:
        raise NewerSchema(
            account,
            p,
            f"database schema version {version} is newer than this moxpy supports ({SCHEMA_VERSION});"
            " upgrade moxpy or restore a backup",
        )
    if version == SCHEMA_VERSION:
        # A full integrity check would read the whole file at every start; damage inside pages
        # is found by verify() (moxpy verifydata) and by the queries that touch it.
        return
    with conn:
        for i in range(version, SCHEMA_VERSION):
            conn.execute(MIGRATIONS[i])
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def open_reader(path: Path) -> apsw.Connection:
    """Open a read-only connection for one reader thread (WAL: never blocked by the writer)."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    conn.setbusytimeout(30_000)
    conn.execute("PRAGMA cache_size=-8000")
    return conn
