"""DKIM signing of submitted messages with the sending domain's configured selectors
(domains.conf ``DKIM.Sign``), keys loaded from their files once and cached by modification time.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from app import mlog
from app.mailauth import dkim
from app.mailauth.dkimkeys import load_private_key

log = mlog.get("smtpserver")


class Signer:
    def __init__(self, config: Any) -> None:
        self.config = config
        self._keys: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _path(self, name: str) -> Path:
        resolve = getattr(self.config, "resolve_path", None)
        if callable(resolve):
            return Path(resolve(name))
        return Path(getattr(self.config, "config_dir", ".")) / name

    def _key(self, file: str) -> Any:
        path = self._path(file)
        mtime = os.stat(path).st_mtime
        with self._lock:
            cached = self._keys.get(str(path))
            if cached is not None and cached[0] == mtime:
                return cached[1]
        key = load_private_key(path.read_bytes())
        with self._lock:
            self._keys[str(path)] = (mtime, key)
        return key

    def selectors(self, domain: str) -> list[dkim.SignSelector]:
        try:
            d = self.config.domain(domain)
        except (KeyError, ValueError):
            return []
        if d is None:
            return []
        out: list[dkim.SignSelector] = []
        for name in d.DKIM.Sign:
            sel = d.DKIM.Selectors.get(name)
            if sel is None:
                continue
            try:
                key = self._key(sel.PrivateKeyFile)
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
