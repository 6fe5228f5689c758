"""DKIM verification and signing (RFC 6376) with dkimpy, keys looked up through our Resolver.

Verification gives a result per DKIM-Signature (at most MAX_SIGNATURES are evaluated), with mox's
policy on top of RFC 6376: signatures with ``l=`` are refused (body length limits let anyone append
content), the Subject header must be signed, rsa-sha1 fails (RFC 8301 §3.1), RSA keys under 1024
bits fail (RFC 8301 §3.2), and the key record's ``h=``, ``k=``, ``s=`` and ``t=s`` are honoured
(RFC 6376 §3.6.1). Statuses are RFC 8601's: none, pass, fail, policy, neutral, temperror, permerror.

Signing follows mox: per-selector canonicalization and hash, header "sealing" (each signed header
is listed once more than it occurs so none can be added later), and optional ``x=`` expiration.
"""

from __future__ import annotations

import base64
import collections
import functools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import dkim as dkimpy
import dkim.util as dkimpy_util
from dkim.canonicalization import CanonicalizationPolicy

from app.dns.errors import DNSError, DNSTemporary, is_not_found
from app.dns.resolver import Resolver
from app.mailauth import dkimcrypto, dkimparse
from app.mailauth.dkimkeys import DKIMKeyError, KeyRecord, PrivateKey, parse_key_record

NONE = "none"
PASS = "pass"
FAIL = "fail"
POLICY = "policy"
NEUTRAL = "neutral"
TEMPERROR = "temperror"
PERMERROR = "permerror"

MAX_SIGNATURES = 10

# mox's default signed headers.
DEFAULT_HEADERS: tuple[str, ...] = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "References",
    "In-Reply-To",
    "Subject",
    "Date",
    "Message-Id",
    "Content-Type",
)


class DKIMSignError(Exception):
    """Signing failed (bad key, message without From header, ...)."""


@dataclass(frozen=True)
class DKIMResult:
    """Outcome of verifying one DKIM-Signature header.

    ``header_b`` is a prefix of the signature (RFC 6008) to tell signatures apart in
    Authentication-Results; ``authentic`` whether the key record was DNSSEC-validated.
    """

    status: str
    domain: str = ""
    selector: str = ""
    identity: str = ""
    algorithm: str = ""
    header_b: str = ""
    reason: str = ""
    authentic: bool = False
    record: KeyRecord | None = None
    key_bits: int = 0  # RSA key size, for the Authentication-Results comment

    @property
    def passed(self) -> bool:
        return self.status == PASS


def _loose_tags(value: bytes) -> dict[str, str]:
    """Best-effort tag parse of a broken signature, only for reporting d=/s=/b=."""
    out: dict[str, str] = {}
    for part in value.decode("utf-8", "replace").split(";"):
        k, sep, v = part.partition("=")
        if sep:
            out.setdefault(k.strip(), "".join(v.split()))
    return out


# Key records repeat (one per sending domain and selector); KeyRecord is frozen.
_parse_key_record = functools.lru_cache(maxsize=512)(parse_key_record)


def _with(r: DKIMResult, **changes: Any) -> DKIMResult:
    """``dataclasses.replace`` for DKIMResult, several times faster (a verification makes a few)."""
    return DKIMResult(**{**r.__dict__, **changes})


def _text(v: bytes | None) -> str:
    return v.decode("utf-8", "replace") if v else ""


class _Parsed(NamedTuple):
    """A message split for DKIM: [name, value] header pairs and the CRLF body (dkimparse)."""

    headers: list[Any]
    body: bytes


def _headerprep(value: bytes) -> tuple[dict[bytes, bytes], list[bytes]]:
    """dkimpy's ``verify_headerprep`` without its DKIM object: the tags of a DKIM-Signature
    value (validated as dkimpy does) and its h= names in lower case. Raises dkimpy's exceptions."""
    try:
        sig = dkimpy_util.parse_tag_value(value)
    except dkimpy_util.InvalidTagValueList as e:
        raise dkimpy.MessageFormatError(e) from None
    dkimpy.validate_signature_fields(sig)
    return sig, [x.lower() for x in re.split(rb"\s*:\s*", sig[b"h"])]


def _verify_one(
    resolver: Resolver,
    d: _Parsed,
    sig_header: tuple[bytes, bytes],
    body_hashes: dict[tuple[bool, str], bytes],
) -> DKIMResult:
    try:
        sig, include_headers = _headerprep(sig_header[1])
    except Exception as e:  # malformed header values can trip dkimpy in unexpected ways
        loose = _loose_tags(sig_header[1])
        why = str(e) if isinstance(e, dkimpy.DKIMException) else type(e).__name__
        return DKIMResult(
            PERMERROR,
            loose.get("d", "").lower(),
            loose.get("s", ""),
            loose.get("i", ""),
            loose.get("a", ""),
            loose.get("b", "")[:12],
            reason=f"invalid signature: {why}",
        )
    domain = _text(sig[b"d"]).lower().rstrip(".")
    selector = _text(sig[b"s"])
    algorithm = _text(sig[b"a"]).lower()
    identity = _text(sig.get(b"i"))
    header_b = "".join(_text(sig[b"b"]).split())[:12]
    base = DKIMResult(PERMERROR, domain, selector, identity, algorithm, header_b)

    # mox's policy (dkim/policy.go) and RFC 8301.
    if b"l" in sig:
        return _with(base, status=POLICY, reason="l= body length limit not accepted")
    if b"from" not in include_headers:
        return _with(base, reason="from header not signed (RFC 6376 §6.1.1)")
    if b"subject" not in include_headers:
        return _with(base, status=POLICY, reason="subject header not signed")
    if algorithm == "rsa-sha1":
        return _with(base, status=FAIL, reason="rsa-sha1 not accepted (RFC 8301)")

    name = f"{selector}._domainkey.{domain}"
    try:
        ans = resolver.lookup_txt_sync(name)
    except DNSTemporary as e:
        return _with(base, status=TEMPERROR, reason=f"key lookup: {e}")
    except DNSError as e:
        why = "no key record" if is_not_found(e) else f"key lookup: {e}"
        return _with(base, status=PERMERROR, reason=why, authentic=e.authentic)
    records = [r for r in ans.records if r.strip()]
    if len(records) != 1:
        return _with(
            base,
            status=PERMERROR,
            reason=f"{len(records)} key records, need exactly one",
            authentic=ans.authentic,
        )
    txt = records[0]
    try:
        rec = _parse_key_record(txt)
    except DKIMKeyError as e:
        return _with(base, status=PERMERROR, reason=f"key record: {e}", authentic=ans.authentic)
    base2 = _with(
        base,
        authentic=ans.authentic,
        record=rec,
        key_bits=dkimcrypto.key_bits(rec.key_type, rec.public_key) if rec.public_key else 0,
    )
    if rec.revoked:
        return _with(base2, status=PERMERROR, reason="key revoked")
    keytype, _, hashname = algorithm.partition("-")
    if rec.key_type != keytype:
        return _with(base2, status=PERMERROR, reason=f"key type {rec.key_type} does not match a={algorithm}")
    if not rec.allows_hash(hashname):
        return _with(base2, status=PERMERROR, reason=f"hash {hashname} not allowed by key record h=")
    if "*" not in rec.services and "email" not in rec.services:
        return _with(base2, status=PERMERROR, reason="key record not for email (s=)")
    if "s" in rec.flags and identity:
        idom = identity.rsplit("@", 1)[-1].lower().rstrip(".")
        if idom != domain:
            return _with(base2, status=PERMERROR, reason="i= domain must equal d= for key with t=s")
    try:
        _check(d, sig, include_headers, sig_header, rec.key_type, rec.public_key, hashname, body_hashes)
    except dkimcrypto.SignatureError as e:
        return _with(base2, status=e.status, reason=str(e)[:200])
    except Exception as e:  # hostile input must never escape as an exception
        return _with(base2, status=PERMERROR, reason=f"verifying: {type(e).__name__}")
    return _with(base2, status=PASS)


def _check(
    d: _Parsed,
    sig: dict[bytes, bytes],
    include_headers: list[bytes],
    sig_header: tuple[bytes, bytes],
    keytype: str,
    p: str,
    hashname: str,
    body_hashes: dict[tuple[bool, str], bytes],
) -> None:
    """Body hash, header hash and signature check (RFC 6376 §6.1.3); raises SignatureError."""
    pol, relaxed = dkimcrypto.policy(sig.get(b"c", b"simple/simple"))
    if hashname not in dkimcrypto.HASHES:
        raise dkimcrypto.SignatureError(PERMERROR, f"unknown hash {hashname}")
    bh_got = body_hashes.get((relaxed, hashname))
    if bh_got is None:
        bh_got = dkimcrypto.HASHES[hashname](dkimcrypto.canonical_body(d.body, relaxed)).digest()
        body_hashes[(relaxed, hashname)] = bh_got
    try:
        bh_want = base64.b64decode(re.sub(rb"\s+", b"", sig[b"bh"]), validate=True)
        signature = base64.b64decode(re.sub(rb"\s+", b"", sig[b"b"]), validate=True)
    except ValueError:
        raise dkimcrypto.SignatureError(PERMERROR, "bh= or b= is not valid base64") from None
    if bh_got != bh_want:
        raise dkimcrypto.SignatureError(FAIL, "body hash mismatch")
    include = list(include_headers)
    if b"from" in include:
        include.append(b"from")  # as dkimpy: an added second From header breaks the signature
    digest = dkimcrypto.header_digest(d.headers, pol, include, sig_header, hashname)
    dkimcrypto.verify_signature(keytype, p, hashname, digest, signature)


def verify(resolver: Resolver, data: bytes) -> list[DKIMResult]:
    """Verify each DKIM-Signature in a message (CRLF or LF line endings); [] when there is none."""
    try:
        d = _Parsed(*dkimparse.parse(data))
    except Exception as e:
        if re.search(rb"(?im)^dkim-signature\s*:", data[:65536]):
            return [DKIMResult(PERMERROR, reason=f"parsing message: {type(e).__name__}")]
        return []
    sigheaders = [(k, v) for k, v in d.headers if k.lower() == b"dkim-signature"]
    body_hashes: dict[tuple[bool, str], bytes] = {}
    results = [_verify_one(resolver, d, h, body_hashes) for h in sigheaders[:MAX_SIGNATURES]]
    for _, v in sigheaders[MAX_SIGNATURES:]:
        t = _loose_tags(v)
        results.append(DKIMResult(POLICY, t.get("d", ""), t.get("s", ""), reason="too many signatures"))
    return results


@dataclass(frozen=True)
class SignSelector:
    """One signing configuration (mox's domains.conf ``DKIM.Selectors.<name>``)."""

    name: str
    key: PrivateKey
    hash: str = "sha256"
    header_relaxed: bool = True
    body_relaxed: bool = True
    headers: tuple[str, ...] = DEFAULT_HEADERS
    seal: bool = True
    expiration: int = 0  # seconds; 0 means no x=


@functools.lru_cache(maxsize=64)
def _header_names(headers: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(name.lower().encode() for name in headers)


@functools.lru_cache(maxsize=256)
def _idna(domain: str) -> bytes:
    return domain.lower().encode("idna")  # the idna codec is slow Python; domains repeat


_canon_policy = functools.lru_cache(maxsize=8)(CanonicalizationPolicy.from_c_value)


def _include_headers(present: list[bytes], sel: SignSelector) -> list[bytes]:
    """The h= names: each configured header as often as it is present, plus once more when
    sealing (so an added field breaks the signature)."""
    return list(_include_for(tuple(present), sel.headers, sel.seal))


@functools.lru_cache(maxsize=256)
def _include_for(present: tuple[bytes, ...], headers: tuple[str, ...], seal: bool) -> tuple[bytes, ...]:
    # Cached: the messages of one sender (one program) have the same header fields.
    counts = collections.Counter(h.lower() for h in present)
    extra = 1 if seal else 0
    out: list[bytes] = []
    for h in _header_names(headers):
        n = counts[h] + extra
        if n:
            out += [h] * n
    return tuple(out)


def sign(data: bytes, domain: str, selectors: Sequence[SignSelector], now: float | None = None) -> bytes:
    """DKIM-Signature header lines (CRLF-terminated) to prepend to ``data``, one per selector.

    Raises DKIMSignError when the message cannot be signed (no From header, bad key).
    """
    t = int(now if now is not None else time.time())
    out = b""
    if not selectors:
        return out
    try:
        headers, body = dkimparse.parse(data)  # once for all selectors
    except Exception as e:
        raise DKIMSignError(f"parsing message: {e}") from None
    names = [k for k, _ in headers]
    has_from = any(k.lower() == b"from" for k in names)
    body_hashes: dict[tuple[bool, str], bytes] = {}
    for sel in selectors:
        if sel.key.algorithm == "ed25519":
            algo = b"ed25519-sha256"
        elif sel.hash.lower() == "sha1":
            algo = b"rsa-sha1"
        else:
            algo = b"rsa-sha256"
        include = _include_headers(names, sel)
        if b"from" not in include or not has_from:
            raise DKIMSignError("message has no From header to sign")
        c = (
            (b"relaxed" if sel.header_relaxed else b"simple")
            + b"/"
            + (b"relaxed" if sel.body_relaxed else b"simple")
        )
        canon = _canon_policy(c)
        hashname = algo.decode().split("-")[1]
        bh = body_hashes.get((sel.body_relaxed, hashname))
        if bh is None:
            bh = dkimcrypto.HASHES[hashname](dkimcrypto.canonical_body(body, sel.body_relaxed)).digest()
            body_hashes[(sel.body_relaxed, hashname)] = bh
        fields: list[tuple[bytes, bytes]] = [
            (b"v", b"1"),
            (b"a", algo),
            (b"c", c),
            (b"d", _idna(domain)),
            (b"s", sel.name.encode()),
            (b"t", str(t).encode()),
        ]
        if sel.expiration > 0:
            fields.append((b"x", str(t + sel.expiration).encode()))
        # b= gets a stand-in value so that it is folded onto its own line(s) and the folding of the
        # other tags is the same in the hashed and the final header (as dkimpy does).
        fields += [(b"h", b" : ".join(include)), (b"bh", base64.b64encode(bh)), (b"b", b"0" * 60)]
        value = dkimpy.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(b"DKIM-Signature"))
        value = dkimcrypto.BTAG.sub(b"\\1", value)
        digest = dkimcrypto.header_digest(
            headers, canon, include, (b"DKIM-Signature", b" " + value), hashname
        )
        fields[-1] = (b"b", base64.b64encode(dkimcrypto.sign_digest(sel.key, hashname, digest)))
        final = dkimpy.fold(
            b"; ".join(b"=".join(f) for f in fields) + b"\r\n", namelen=len(b"DKIM-Signature")
        )
        out += b"DKIM-Signature: " + final
    return out
