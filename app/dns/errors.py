"""DNS lookup errors, told apart the way mail authentication needs (RFC 7208 §5, RFC 8601).

* ``DNSNotFound``: the name does not exist (NXDOMAIN, RCODE 3).
* ``DNSNoData``: the name exists but has no records of the asked type (NOERROR with an empty answer).
* ``DNSTemporary``: the answer could not be had now (SERVFAIL, timeout, unreachable servers); retry later.
* ``DNSPermanent``: the server refused or the question was malformed (REFUSED, FORMERR, invalid name).

Both "not found" kinds carry ``authentic``: a DNSSEC-validated denial matters for DANE (RFC 7672 §2.2).
"""

from __future__ import annotations


class DNSError(Exception):
    """Base class of all lookup errors; ``name`` and ``rdtype`` say what was asked."""

    def __init__(self, msg: str, name: str = "", rdtype: str = "", authentic: bool = False) -> None:
        super().__init__(msg)
        self.name = name
        self.rdtype = rdtype
        self.authentic = authentic


class DNSNotFound(DNSError):
    """NXDOMAIN: the name does not exist."""


class DNSNoData(DNSError):
    """The name exists but has no records of the requested type."""


class DNSTemporary(DNSError):
    """A temporary failure: SERVFAIL, no reachable server, truncated beyond repair."""


class DNSTimeout(DNSTemporary):
    """No answer within the lookup's time limit."""


class DNSPermanent(DNSError):
    """A permanent failure other than absence: REFUSED, FORMERR, a syntactically invalid name."""


def is_not_found(err: BaseException) -> bool:
    """True for NXDOMAIN and for an empty answer (mox's IsNotFound)."""
    return isinstance(err, (DNSNotFound, DNSNoData))


def is_temporary(err: BaseException) -> bool:
    """True for failures worth retrying (temperror in SPF/DKIM/DMARC terms)."""
    return isinstance(err, DNSTemporary)
