"""The shape of a CLI subcommand and the context every subcommand receives."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class UsageError(Exception):
    """Wrong arguments for a subcommand: the CLI prints the usage line and exits with status 2."""


class CommandError(Exception):
    """A subcommand failed in a way the user should read: printed without traceback, exit status 1."""


@dataclass
class Context:
    """What a subcommand needs from the global flags and the process."""

    config_path: Path
    loglevel: str | None = None
    pedantic: bool = False
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)

    @property
    def config_dir(self) -> Path:
        return self.config_path.parent


RunFn = Callable[[Context, list[str]], int]


@dataclass(frozen=True)
class Command:
    """One subcommand: its words (``("config", "test")``), usage, one-line help and function.

    The function gets the arguments after the command words and returns the exit status. It
    raises UsageError for bad arguments and CommandError for failures the user should see.
    Heavy imports belong inside the function so that ``moxpy version`` starts fast.
    """

    words: tuple[str, ...]
    run: RunFn
    help: str
    usage: str = ""
    hidden: bool = False

    @property
    def name(self) -> str:
        return " ".join(self.words)


def default_config_path() -> Path:
    """``$MOXCONF`` or ``config/mox.conf``, as mox."""
    return Path(os.environ.get("MOXCONF") or "config/mox.conf")
