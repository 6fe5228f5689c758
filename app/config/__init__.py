"""mox-compatible configuration: ``mox.conf`` (static) and ``domains.conf`` (dynamic) in
mox's sconf format, typed with mox's field names, checked like mox, reloaded on change and
written back atomically.

Public API::

    cfg = load(Path("config/mox.conf"))          # raises ConfigError (str: "file:line: ...")
    cfg.static.Listeners["local"].SMTP.Port
    cfg.dynamic.Accounts["mox"].Destinations
    cfg.lookup_address("mox+tag", "localhost")    # -> AddressMatch(account, key, destination, ...)
    cfg.reload_if_changed(); cfg.update_dynamic(lambda d: edit.add_address(d, "x@localhost", "mox"))
    dump_static(static), dump_dynamic(dynamic), parse_duration("1h30m"), format_duration(90.0)
"""

from __future__ import annotations

from app.config import schema
from app.config.accounts import Account, Destination, Ruleset
from app.config.config import Config, load, parse_static, validate_dynamic, write_atomic
from app.config.domains import Alias, Domain, Dynamic
from app.config.duration import Duration, format_duration, parse_duration
from app.config.errors import ConfigError, ConfigErrors
from app.config.lookup import AddressMatch, AliasMatch
from app.config.names import normalize_domain, unicode_domain
from app.config.static import Listener, Static


def dump_static(static: Static) -> str:
    """mox.conf text for a Static."""
    return schema.dump(static)


def dump_dynamic(dynamic: Dynamic) -> str:
    """domains.conf text for a Dynamic."""
    return schema.dump(dynamic)


def parse_static_text(text: str, filename: str = "mox.conf") -> Static:
    """Parse mox.conf text into a Static (syntax and types only, no consistency checks)."""
    return schema.parse_as(Static, text, filename)[0]


def parse_dynamic_text(text: str, filename: str = "domains.conf") -> Dynamic:
    """Parse domains.conf text into a Dynamic (syntax and types only, no consistency checks)."""
    return schema.parse_as(Dynamic, text, filename)[0]


__all__ = [
    "Account",
    "AddressMatch",
    "Alias",
    "AliasMatch",
    "Config",
    "ConfigError",
    "ConfigErrors",
    "Destination",
    "Domain",
    "Duration",
    "Dynamic",
    "Listener",
    "Ruleset",
    "Static",
    "dump_dynamic",
    "dump_static",
    "format_duration",
    "load",
    "normalize_domain",
    "parse_duration",
    "parse_dynamic_text",
    "parse_static",
    "parse_static_text",
    "unicode_domain",
    "validate_dynamic",
    "write_atomic",
]
