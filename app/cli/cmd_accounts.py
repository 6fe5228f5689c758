"""Subcommands of this area (see app/cli/registry.py)."""

from __future__ import annotations

from app.cli.command import Command

COMMANDS: list[Command] = []
