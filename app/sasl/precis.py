"""Normalization of SASL passwords and user names.

Passwords: the PRECIS OpaqueString profile (RFC 8265 section 4.2, which RFC 7677 and the
SASLprep successor rules point to), as mox does when setting and checking passwords.
User names: Unicode NFC (mox normalizes login addresses with NFC before lookup).
"""

from __future__ import annotations

import unicodedata

import precis_i18n

_OPAQUE = precis_i18n.get_profile("OpaqueString")


class PasswordError(ValueError):
    """The password is not acceptable under the OpaqueString profile (empty, control characters)."""


def normalize_password(password: str) -> str:
    """OpaqueString-enforced form of ``password``; raises PasswordError if disallowed."""
    try:
        out: str = _OPAQUE.enforce(password)
    except UnicodeError as exc:
        raise PasswordError(f"password not allowed: {exc}") from None
    return out


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFC", username)
