"""DKIM signing (RFC 6376 section 5) of submitted messages with the sending domain's configured
selectors (domains.conf ``DKIM.Sign``), keys loaded from their files once and cached by
modification time. The selectors of a domain are kept until its configuration changes (a
reload makes new domain objects); the key files are checked for changes at most once a second.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from app import mlog
from app.mailauth import dkim
from app.mailauth.dkimkeys import load_private_key

log = mlog.get("smtpserver")

RECHECK = 1.0  # seconds between checks of a cached domain's key files


class _Cached:
    """The selectors of one domain configuration and the key files they were made from."""

    __slots__ = ("checked", "domain", "files", "selectors")

    def __init__(
        self, domain: Any, selectors: list[dkim.SignSelector], files: list[tuple[Path, float]]
    ) -> None:
        self.domain = domain
        self.selectors = selectors
        self.files = files
        self.checked = time.monotonic()


class Signer:
    def __init__(self, config: Any) -> None:
        self.config = config
        self._keys: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._domains: dict[str, _Cached] = {}

    def _path(self, name: str) -> Path:
        resolve = getattr(self.config, "resolve_path", None)
        if callable(resolve):
            return Path(resolve(name))
        return Path(getattr(self.config, "config_dir", ".")) / name

    def _key(self, file: str, files: list[tuple[Path, float]] | None = None) -> Any:
        path = self._path(file)
        mtime = os.stat(path).st_mtime
        with self._lock:
            cached = self._keys.get(str(path))
        if cached is not None and cached[0] == mtime:
            key = cached[1]
        else:
            key = load_private_key(path.read_bytes())
            with self._lock:
                self._keys[str(path)] = (mtime, key)
        if files is not None:
            files.append((path, mtime))
        return key

    def _fresh(self, c: _Cached, d: Any) -> bool:
        """Whether cached selectors still hold: same domain configuration, key files unchanged."""
        if c.domain is not d:
            return False
        now = time.monotonic()
        if now - c.checked < RECHECK:
            return True
        for path, mtime in c.files:
            try:
                if os.stat(path).st_mtime != mtime:
                    return False
            except OSError:
                return False
        c.checked = now
        return True

    def selectors(self, domain: str) -> list[dkim.SignSelector]:
        try:
            d = self.config.domain(domain)
        except (KeyError, ValueError):
            return []
        if d is None:
            return []
        c = self._domains.get(domain)
        if c is not None and self._fresh(c, d):
            return c.selectors
        files: list[tuple[Path, float]] = []
        out = self._selectors(domain, d, files)
        if len(files) == sum(1 for name in d.DKIM.Sign if name in d.DKIM.Selectors):
            # Only complete results are kept: a key that failed to load is tried again.
            self._domains[domain] = _Cached(d, out, files)
        return out

    def _selectors(self, domain: str, d: Any, files: list[tuple[Path, float]]) -> list[dkim.SignSelector]:
        out: list[dkim.SignSelector] = []
        for name in d.DKIM.Sign:
            sel = d.DKIM.Selectors.get(name)
            if sel is None:
                continue
            try:
                key = self._key(sel.PrivateKeyFile, files)
            except (OSError, ValueError) as e:
                log.error("loading dkim key", selector=name, domain=domain, err=e)
                continue
            headers = tuple(sel.Headers) if sel.Headers else dkim.DEFAULT_HEADERS
            exp = 0
            if sel.Expiration:
                from app.config.duration import parse_duration

                exp = int(parse_duration(sel.Expiration))
            out.append(
                dkim.SignSelector(
                    name=name,
                    key=key,
                    hash=sel.Hash or "sha256",
                    header_relaxed=sel.Canonicalization.HeaderRelaxed,
                    body_relaxed=sel.Canonicalization.BodyRelaxed,
                    headers=headers,
                    seal=not sel.DontSealHeaders,
                    expiration=exp,
                )
            )
        return out

    def sign(self, domain: str, data: bytes) -> bytes:
        """DKIM-Signature header lines for the message, b"" when the domain has no signing keys."""
        sels = self.selectors(domain)
        if not sels:
            return b""
        try:
            return dkim.sign(data, domain, sels)
        except dkim.DKIMSignError as e:
            log.error("dkim signing", domain=domain, err=e)
        except Exception as e:
            # As mox: a signing fault is logged and the message goes out unsigned.
            log.exception("dkim signing", e, domain=domain)
        return b""
