"""Account credentials in the account database: setting a password and reading the stored
secrets for SASL and web login (see app/sasl/stored.py for what is stored and why).

Setting a password (as mox): the password is normalized with PRECIS OpaqueString
(RFC 8265), then SCRAM-SHA-1 and SCRAM-SHA-256 secrets (RFC 5802, RFC 7677: salt, iteration
count, StoredKey, ServerKey) and the CRAM-MD5 HMAC-MD5 inner/outer states (RFC 2195) are
derived and stored. No plaintext and no reversible form of the password is kept; PLAIN and
LOGIN are verified by rederiving the SCRAM-SHA-256 StoredKey.

Storage: the account's key/value settings (``Account.setting`` / ``set_setting``, in the
account database, written through the account's writer), key ``credentials``, as JSON text
with base64 fields so it can be inspected and migrated.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Protocol

from app.sasl import md5state
from app.sasl.precis import PasswordError, normalize_password, normalize_username
from app.sasl.stored import (
    DEFAULT_ITERATIONS,
    CramMD5Secret,
    HashName,
    ScramSecret,
    StoredCredentials,
    derive_credentials,
)

__all__ = [
    "PasswordError",
    "Settings",
    "clear_password",
    "decode_credentials",
    "encode_credentials",
    "load_credentials",
    "make_lookup",
    "normalize_password",
    "normalize_username",
    "set_password",
    "verify_password",
]

SETTING_KEY = "credentials"


class Settings(Protocol):
    """The account settings API of app.store.account.Account."""

    def setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str | None) -> None: ...


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _scram_json(s: ScramSecret | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "salt": _b64(s.salt),
        "iterations": s.iterations,
        "storedkey": _b64(s.stored_key),
        "serverkey": _b64(s.server_key),
    }


def _scram_from(hash_name: HashName, d: Any) -> ScramSecret | None:
    if d is None:
        return None
    return ScramSecret(
        hash_name,
        base64.b64decode(d["salt"]),
        int(d["iterations"]),
        base64.b64decode(d["storedkey"]),
        base64.b64decode(d["serverkey"]),
    )


def encode_credentials(creds: StoredCredentials) -> str:
    """JSON text: ``{"scramsha1": {...}, "scramsha256": {...}, "crammd5": {"ipad", "opad"}}``."""
    cram = None
    if creds.cram_md5 is not None:
        cram = {
            "ipad": _b64(md5state.pack_state(creds.cram_md5.inner)),
            "opad": _b64(md5state.pack_state(creds.cram_md5.outer)),
        }
    return json.dumps(
        {
            "scramsha1": _scram_json(creds.scram_sha1),
            "scramsha256": _scram_json(creds.scram_sha256),
            "crammd5": cram,
        },
        sort_keys=True,
    )


def decode_credentials(text: str) -> StoredCredentials:
    """Inverse of encode_credentials; raises ValueError on malformed data."""
    try:
        d = json.loads(text)
        cram = d.get("crammd5")
        return StoredCredentials(
            scram_sha1=_scram_from("sha1", d.get("scramsha1")),
            scram_sha256=_scram_from("sha256", d.get("scramsha256")),
            cram_md5=(
                CramMD5Secret(
                    md5state.unpack_state(base64.b64decode(cram["ipad"])),
                    md5state.unpack_state(base64.b64decode(cram["opad"])),
                )
                if cram
                else None
            ),
        )
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed stored credentials: {exc}") from None


def set_password(account: Settings, password: str, iterations: int = DEFAULT_ITERATIONS) -> None:
    """Derive and store new secrets for ``password`` (fresh salts). Raises PasswordError
    when OpaqueString refuses the password (empty, control characters)."""
    creds = derive_credentials(password, iterations)
    account.set_setting(SETTING_KEY, encode_credentials(creds))


def clear_password(account: Settings) -> None:
    """Remove the stored secrets: password logins fail until a new password is set."""
    account.set_setting(SETTING_KEY, None)


def load_credentials(account: Settings) -> StoredCredentials | None:
    """The stored secrets, or None when no password was ever set."""
    text = account.setting(SETTING_KEY)
    return decode_credentials(text) if text else None


def verify_password(account: Settings, password: str) -> bool:
    """Check a plaintext password (web login, PLAIN) against the stored secrets."""
    creds = load_credentials(account)
    return creds is not None and creds.verify_password(password)


def make_lookup(
    account_for_login: Callable[[str], str | None],
    account_settings: Callable[[str], Settings],
) -> Callable[[str], StoredCredentials | None]:
    """The SASL credential lookup ``(username) -> StoredCredentials | None`` for servers.

    ``account_for_login`` maps an NFC-normalized login address to its account name (config:
    address lookup, disabled accounts give None); ``account_settings`` returns the account
    (``store.account(name)``). A corrupt stored value counts as no credentials.
    """

    def lookup(username: str) -> StoredCredentials | None:
        account = account_for_login(normalize_username(username))
        if account is None:
            return None
        try:
            return load_credentials(account_settings(account))
        except ValueError:
            return None

    return lookup
