"""Results of one step of a server-side SASL exchange (RFC 4422 section 3).

A server mechanism is fed the client's responses one by one and answers each with a
``Challenge`` (send it, wait for the next response), a ``Success`` or a ``Failure``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.sasl.stored import StoredCredentials


@dataclass(frozen=True)
class Challenge:
    """Send ``data`` to the client (SMTP ``334``, IMAP ``+``; base64-encoded by the protocol)."""

    data: bytes


@dataclass(frozen=True)
class Success:
    """Authentication succeeded for ``username`` (NFC-normalized authentication identity)."""

    username: str
    authzid: str = ""


@dataclass(frozen=True)
class Failure:
    """Authentication failed.

    ``reason`` is for the log, never for the client. ``malformed`` is true when the client
    broke the protocol (IMAP BAD / SMTP 501) rather than giving wrong credentials
    (IMAP NO / SMTP 535). ``username`` is the identity the client tried, when known (for
    the login-attempt record).
    """

    reason: str
    malformed: bool = False
    username: str = ""


Outcome = Challenge | Success | Failure

CredentialLookup = Callable[[str], StoredCredentials | None]
"""``(username) -> StoredCredentials | None``: the stored secrets of a login address.

The username is NFC-normalized. It runs inside ``step()``, which therefore belongs in the
executor (``await run_blocking(mech.step, data)``) like the key derivation it triggers.
"""


class ServerMechanism(Protocol):
    """A server-side SASL state machine. Call ``step`` with the initial response (or None
    when the client sent none) and then with each response, until Success or Failure.
    A client's ``*`` cancellation is handled by the protocol server, not here."""

    @property
    def name(self) -> str: ...

    def step(self, response: bytes | None) -> Outcome: ...
