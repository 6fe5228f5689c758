"""imaptest's scripted tests (../shared/interop/imaptest-scripts) against our IMAP server: one
test per script; scripts needing capabilities we do not advertise are skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.imapserver import capabilities
from tests.conftest import INTEROP
from tests.imapserver.server import PASSWORD, IMAPTestServer, start
from tests.imaptest.runner import Run
from tests.imaptest.script import load

SCRIPTS = INTEROP / "imaptest-scripts"
NAMES = (
    sorted(p.name for p in SCRIPTS.iterdir() if not p.name.endswith(".mbox") and p.is_file())
    if SCRIPTS.is_dir()
    else []
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IMAPTestServer]:
    yield from start(tmp_path_factory.mktemp("imaptest"))


def advertised() -> set[str]:
    caps = capabilities.advertised(
        tls=True, tls_available=True, require_tls=False, authenticated=True, client_cert=False, append_limit=1
    )
    return {c.upper().split("=")[0] if c.upper().startswith("APPENDLIMIT") else c.upper() for c in caps}


# Known differences, each checked to fail (strict) so a fix is noticed:
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=True)) if n in KNOWN else n
        for n in NAMES
    ],
)
def test_script(name: str, server: IMAPTestServer) -> None:
    sc = load(SCRIPTS / name)
    missing = [c for c in sc.capabilities if c.upper() not in advertised()]
    if missing:
        pytest.skip(f"needs {' '.join(missing)}, not advertised")
    if sc.extra_users:
        pytest.skip("needs a second user")
    user = f"u{abs(hash(name)) % 10**8}"
    server.add_user(user)
    errors = Run(sc, server.port, user, PASSWORD).run()
    # Script text may hold raw bytes (surrogate escapes): keep the report plain UTF-8.
    report = "\n".join(errors).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    assert not errors, report
