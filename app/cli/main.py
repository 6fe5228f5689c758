"""The ``moxpy`` command line: global flags as mox (``-config``, ``-loglevel``, ``-pedantic``),
then a subcommand. Invoked under the name ``sendmail`` it acts as ``moxpy sendmail``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.cli import registry
from app.cli.command import CommandError, Context, UsageError, default_config_path


def usage_text() -> str:
    lines = ["usage: moxpy [-config FILE] [-loglevel LEVEL] [-pedantic] SUBCOMMAND ...", "", "subcommands:"]
    for cmd in registry.all_commands():
        if not cmd.hidden:
            lines.append(f"  {cmd.name:<34} {cmd.help}")
    return "\n".join(lines) + "\n"


def _parse_globals(argv: list[str]) -> tuple[Context, list[str]]:
    config = default_config_path()
    loglevel: str | None = None
    pedantic = False
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        flag, eq, val = argv[i].lstrip("-").partition("=")
        if flag in ("config", "loglevel"):
            if not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag -{flag} needs a value")
                val = argv[i]
            if flag == "config":
                config = Path(val)
            else:
                loglevel = val
        elif flag == "pedantic":
            pedantic = val.lower() not in ("false", "0") if eq else True
        elif flag in ("h", "help"):
            return Context(config_path=config), ["help"]
        else:
            raise UsageError(f"unknown global flag {argv[i]}")
        i += 1
    return Context(config_path=config, loglevel=loglevel, pedantic=pedantic), argv[i:]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0]) if argv is None else "moxpy"
    if prog == "sendmail":
        args = ["sendmail", *args]
    try:
        ctx, rest = _parse_globals(args)
    except UsageError as e:
        sys.stderr.write(f"moxpy: {e}\n{usage_text()}")
        return 2
    if ctx.loglevel:
        from app import mlog

        try:
            mlog.configure(ctx.loglevel)
        except ValueError as e:
            sys.stderr.write(f"moxpy: {e}\n")
            return 2
    if not rest:
        sys.stderr.write(usage_text())
        return 2
    found = registry.find(rest)
    if found is None:
        sys.stderr.write(f"moxpy: unknown subcommand {' '.join(rest[:2])!r}\n{usage_text()}")
        return 2
    cmd, cmdargs = found
    try:
        return cmd.run(ctx, cmdargs)
    except UsageError as e:
        msg = f"moxpy {cmd.name}: {e}\n" if str(e) else ""
        sys.stderr.write(f"{msg}usage: moxpy {cmd.name} {cmd.usage}\n")
        return 2
    except CommandError as e:
        sys.stderr.write(f"moxpy {cmd.name}: {e}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except OSError as e:
        # Files and sockets the user named: report, never a traceback.
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        sys.stderr.write(f"moxpy {cmd.name}: {where}{e.strerror or e}\n")
        return 1


def entry() -> None:
    """Process entry point."""
    sys.exit(main())
