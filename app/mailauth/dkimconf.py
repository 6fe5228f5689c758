"""DKIM signing selectors from domains.conf (mox's ``DKIM.Selectors`` / ``DKIM.Sign``).

Takes the config objects by shape (attributes named as in mox's config) so this module does not
depend on the config package's classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from app.config.duration import parse_duration_ns
from app.mailauth.dkim import DEFAULT_HEADERS, SignSelector
from app.mailauth.dkimkeys import DKIMKeyError, load_private_key, txt_record


class DKIMConfig(Protocol):
    @property
    def Selectors(self) -> Mapping[str, Any]: ...
    @property
    def Sign(self) -> Sequence[str]: ...


def _expiration(v: object) -> int:
    """Seconds from a Go duration string ("72h") or a number of seconds; raises DKIMKeyError."""
    if isinstance(v, (int, float)):
        return int(v)
    if not v:
        return 0
    try:
        return parse_duration_ns(str(v)) // 1_000_000_000
    except ValueError as e:
        raise DKIMKeyError(f"invalid Expiration {v!r}: {e}") from None


def selectors_from_config(conf: DKIMConfig, config_dir: str | Path) -> list[SignSelector]:
    """The selectors listed in ``Sign``, with keys loaded from ``PrivateKeyFile`` (relative to the
    config directory). Raises DKIMKeyError for a missing selector or unreadable key."""
    out = []
    for name in conf.Sign:
        sel = conf.Selectors.get(name)
        if sel is None:
            raise DKIMKeyError(f"selector {name!r} in Sign is not configured")
        path = Path(config_dir) / str(sel.PrivateKeyFile)
        try:
            key = load_private_key(path.read_bytes())
        except OSError as e:
            raise DKIMKeyError(f"reading dkim key {path}: {e}") from None
        canon = getattr(sel, "Canonicalization", None)
        exp = getattr(sel, "Expiration", "")
        headers = tuple(getattr(sel, "Headers", None) or DEFAULT_HEADERS)
        out.append(
            SignSelector(
                name=name,
                key=key,
                hash=(getattr(sel, "Hash", "") or "sha256").lower(),
                header_relaxed=bool(getattr(canon, "HeaderRelaxed", False)),
                body_relaxed=bool(getattr(canon, "BodyRelaxed", False)),
                headers=headers,
                seal=not bool(getattr(sel, "DontSealHeaders", False)),
                expiration=_expiration(exp),
            )
        )
    return out


def key_records(domain: str, selectors: Sequence[SignSelector]) -> dict[str, str]:
    """The DNS TXT records publishing the selectors' public keys, by owner name
    (``<selector>._domainkey.<domain>``): for DNS record suggestions, and for localserve, which
    verifies DKIM of its own domains against its local keys (as mox) through a MockResolver."""
    d = domain.lower().rstrip(".")
    return {f"{s.name}._domainkey.{d}": txt_record(s.key) for s in selectors}
