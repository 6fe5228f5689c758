"""ARC (RFC 8617) with dkimpy: verify the chain of an incoming message and seal when forwarding.

mox has no ARC; moxpy adds the chain validation outcome to Authentication-Results (``arc=``) and can
seal forwarded messages. Key lookups go through our Resolver via dkimpy's ``dnsfunc`` hook.
Signing is RSA-SHA256 only (dkimpy's ARC implementation supports no other algorithm).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import dkim as dkimpy

from app.dns.errors import DNSError, DNSTemporary
from app.dns.resolver import Resolver
from app.mailauth.dkimkeys import PrivateKey

NONE = "none"
PASS = "pass"
FAIL = "fail"
TEMPERROR = "temperror"

MAX_INSTANCES = 50  # RFC 8617 §4.2.1

_quiet = logging.getLogger("moxpy.arc")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False
_quiet.setLevel(logging.CRITICAL + 1)  # dkimpy logs every bad signature; we report results instead


class ARCSealError(Exception):
    """Sealing failed: bad key, unsupported key type, no Authentication-Results for the authserv-id."""


@dataclass(frozen=True)
class ARCResult:
    """Chain validation status (``cv``: none, pass, fail; temperror when keys could not be fetched),
    the highest instance seen, and the reason for non-pass."""

    status: str
    instance: int = 0
    reason: str = ""
    domains: tuple[str, ...] = ()

    @property
    def cv(self) -> str:
        """The cv= value for our own seal (RFC 8617 §5.1.1): temperror counts as fail."""
        return PASS if self.status == PASS else (NONE if self.status == NONE else FAIL)


def _dnsfunc(resolver: Resolver, state: dict[str, str]) -> object:
    def get_txt(name: bytes, timeout: float = 5) -> bytes | None:
        n = name.decode("ascii", "replace").rstrip(".")
        try:
            ans = resolver.lookup_txt_raw_sync(n)
        except DNSTemporary as e:
            state["temp"] = str(e)
            return None
        except DNSError:
            return None
        return ans.records[0] if ans.records else None

    return get_txt


def verify(resolver: Resolver, data: bytes) -> ARCResult:
    """Validate the ARC chain of a message (RFC 8617 §5.2)."""
    state: dict[str, str] = {}
    try:
        cv, results, reason = dkimpy.arc_verify(data, logger=_quiet, dnsfunc=_dnsfunc(resolver, state))
    except Exception as e:  # malformed ARC sets can make dkimpy fail in many ways
        return ARCResult(FAIL, reason=f"{type(e).__name__}: {str(e)[:200]}")
    status = {dkimpy.CV_Pass: PASS, dkimpy.CV_Fail: FAIL, dkimpy.CV_None: NONE}.get(cv, FAIL)
    instance = max((int(r.get("instance", 0)) for r in results), default=0)
    domains = tuple(
        r.get("as-domain", b"").decode("utf-8", "replace") if isinstance(r.get("as-domain"), bytes) else ""
        for r in results
    )
    header = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    if status == NONE and re.search(
        rb"(?im)^arc-(seal|message-signature|authentication-results)\s*:", header
    ):
        return ARCResult(FAIL, 0, "malformed arc header set", ())
    if status == FAIL and "temp" in state:
        return ARCResult(TEMPERROR, instance, f"key lookup: {state['temp']}", domains)
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason or "")
    return ARCResult(status, instance, text[:200], domains)


def seal(
    data: bytes, domain: str, selector: str, key: PrivateKey, authserv_id: str, timestamp: int | None = None
) -> bytes:
    """The ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results) to prepend.

    ``data`` must already carry our Authentication-Results header for ``authserv_id`` (it becomes
    the ARC-Authentication-Results). Raises ARCSealError.
    """
    if key.algorithm != "rsa":
        raise ARCSealError("ARC sealing needs an rsa key")
    try:
        headers = dkimpy.arc_sign(
            data,
            selector.encode(),
            domain.encode("idna"),
            key.pkcs1_pem,
            authserv_id.encode(),
            timestamp=timestamp,
            logger=_quiet,
        )
    except Exception as e:
        raise ARCSealError(f"arc sealing: {e}") from None
    if not headers:
        raise ARCSealError(
            "arc sealing produced nothing (no Authentication-Results for the authserv-id, or chain failed)"
        )
    return b"".join(headers)
