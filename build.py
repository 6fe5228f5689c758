#!/usr/bin/env python3
"""Build ``dist/moxpy.pyz``: one executable zipapp holding moxpy, its assets and its pinned
dependencies, made with shiv.

    python build.py                       # for this machine
    python build.py --target manylinux_x86_64
    python build.py --target musllinux_aarch64 --python-version 3.12
    python build.py --target win_amd64    # no uvloop on Windows

Bytecode is compiled at build time with unchecked-hash pycs, so a start never recompiles
(this matters where PYTHONDONTWRITEBYTECODE is set, and when the cache is read-only). The
pyz's ``__main__`` picks the directory shiv unpacks native libraries into (see LAUNCHER) and
removes unpacked copies of older builds.
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent

TARGETS = {
    "manylinux_x86_64": ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"],
    "manylinux_aarch64": ["manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64"],
    "musllinux_x86_64": ["musllinux_1_1_x86_64", "musllinux_1_2_x86_64"],
    "musllinux_aarch64": ["musllinux_1_1_aarch64", "musllinux_1_2_aarch64"],
    "win_amd64": ["win_amd64"],
}

# The zipapp's entry: choose the unpack directory, clean stale builds, then run shiv's bootstrap.
LAUNCHER = r'''# moxpy zipapp launcher (written by build.py)
import os
import sys


def _usable(path):
    """A directory we may unpack into: created if missing, owned by us, not writable by others."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        if hasattr(os, "geteuid"):
            st = os.stat(path)
            if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                return False
        probe = os.path.join(path, ".probe-%d" % os.getpid())
        with open(probe, "w"):
            pass
        os.unlink(probe)
        return True
    except OSError:
        return False


def _root():
    for var in ("MOXPY_CACHE", "SHIV_ROOT"):
        if os.environ.get(var):
            return os.environ[var]
    here = os.path.dirname(os.path.abspath(sys.argv[0]))
    cands = [os.path.join(here, ".moxpy-cache")]
    home = os.path.expanduser("~")
    if home and home != "~":
        cands.append(os.path.join(home, ".cache", "moxpy"))
    import tempfile

    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    cands.append(os.path.join(tempfile.gettempdir(), "moxpy-cache-%d" % uid))
    for c in cands:
        if _usable(c):
            return c
    sys.stderr.write("moxpy: no writable directory to unpack into; set MOXPY_CACHE\n")
    sys.exit(1)


def _clean(root, keep):
    import shutil
    import time

    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        p = os.path.join(root, name)
        if name.lstrip(".").startswith("moxpy") and keep not in name and os.path.isdir(p):
            try:
                if time.time() - os.stat(p).st_mtime > 3600:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass


_r = _root()
os.environ["SHIV_ROOT"] = _r
import _bootstrap  # noqa: E402

with _bootstrap.current_zipfile() as _z:
    import json

    _build = json.loads(_z.read("environment.json").decode())["build_id"]
_clean(_r, _build)
_bootstrap.bootstrap()
'''


def pinned_requirements(target: str | None) -> list[str]:
    """The runtime dependencies from pyproject.toml, uvloop dropped for Windows."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs: list[str] = []
    for dep in data["project"]["dependencies"]:
        spec, _, _marker = dep.partition(";")
        if "uvloop" in spec and (target == "win_amd64" or (target is None and sys.platform == "win32")):
            continue
        reqs.append(spec.strip())
    return reqs


def runtime_closure(target: str | None) -> list[str]:
    """Every runtime distribution with its installed (pinned) version: the project's dependencies
    and theirs, with markers evaluated for the target platform."""
    from importlib import metadata

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    env = dict(default_environment())
    if target == "win_amd64":
        env.update(sys_platform="win32", platform_system="Windows", os_name="nt")
    elif target is not None:
        env.update(sys_platform="linux", platform_system="Linux", os_name="posix")
    seen: dict[str, str] = {}
    todo = [Requirement(r) for r in pinned_requirements(target)]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        key = req.name.lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = metadata.version(req.name)
        todo += [Requirement(r) for r in metadata.requires(req.name) or []]
    return sorted(f"{k}=={v}" for k, v in seen.items())


def pip_install(site: Path, target: str | None, pyver: str) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile"]
    cmd += ["--target", str(site)]
    if target is None:
        subprocess.run([*cmd, *pinned_requirements(target)], check=True)
        return
    # Other platforms: the pinned closure, without dependency resolution; binary wheels for
    # the target where a distribution has them, pure-Python source distributions otherwise.
    plat = ["--python-version", pyver, "--implementation", "cp", "--no-deps"]
    for p in TARGETS[target]:
        plat += ["--platform", p]
    subprocess.run([*cmd, *plat, *runtime_closure(target)], check=True)


def copy_app(site: Path) -> None:
    shutil.copytree(
        ROOT / "app", site / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True
    )
    assets = ROOT / "assets"
    if assets.is_dir():
        shutil.copytree(
            assets, site / "app" / "assets", ignore=shutil.ignore_patterns("node_modules"), dirs_exist_ok=True
        )


def compile_site(site: Path) -> None:
    """Compile every module with unchecked-hash pycs (valid whatever the file times after unpacking)."""
    compileall.compile_dir(
        str(site),
        quiet=2,
        workers=os.cpu_count() or 1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def replace_main(pyz: Path) -> None:
    """Rewrite the archive with our launcher as __main__.py, keeping the shebang prefix."""
    raw = pyz.read_bytes()
    nl = raw.index(b"\n") + 1
    shebang = raw[:nl] if raw.startswith(b"#!") else b""
    tmp = pyz.with_suffix(".tmp")
    with zipfile.ZipFile(pyz) as src, open(tmp, "wb") as out:
        out.write(shebang)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = LAUNCHER.encode() if info.filename == "__main__.py" else src.read(info)
                dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    tmp.chmod(0o755)
    tmp.replace(pyz)


def build(out: Path, target: str | None, pyver: str, interpreter: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="moxpy-build-") as tmpd:
        site = Path(tmpd) / "site-packages"
        site.mkdir()
        pip_install(site, target, pyver)
        copy_app(site)
        if target is None or pyver == f"{sys.version_info.major}.{sys.version_info.minor}":
            compile_site(site)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "shiv",
                "--site-packages",
                str(site),
                "-e",
                "app.cli.main:entry",
                "-o",
                str(out),
                "-p",
                interpreter,
                "--compressed",
                "--reproducible",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    replace_main(out)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=sorted(TARGETS), help="build for another platform from pinned wheels")
    p.add_argument("--python-version", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    p.add_argument("-o", "--output", type=Path, default=ROOT / "dist" / "moxpy.pyz")
    p.add_argument("--interpreter", default="/usr/bin/env python3")
    a = p.parse_args()
    out = a.output
    if a.target and a.output == ROOT / "dist" / "moxpy.pyz":
        out = ROOT / "dist" / f"moxpy-{a.target}-py{a.python_version}.pyz"
    build(out, a.target, a.python_version, a.interpreter)
    size = out.stat().st_size
    print(f"{out}: {size} bytes ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
