"""Basic subcommands: help, version, licenses."""

from __future__ import annotations

from app.cli.command import Command, Context, UsageError


def cmd_help(ctx: Context, args: list[str]) -> int:
    from app.cli import registry
    from app.cli.main import usage_text

    if not args:
        ctx.stdout.write(usage_text())
        return 0
    prefix = tuple(args)
    matched = [c for c in registry.all_commands() if c.words[: len(prefix)] == prefix]
    if not matched:
        raise UsageError(f"no command matches {' '.join(args)!r}")
    for c in matched:
        ctx.stdout.write(f"moxpy {c.name} {c.usage}\n\n\t{c.help}\n\n")
    return 0


def cmd_version(ctx: Context, args: list[str]) -> int:
    import platform

    from app import __version__

    if args:
        raise UsageError("")
    ctx.stdout.write(
        f"moxpy {__version__}\npython {platform.python_version()} {platform.system().lower()}/{platform.machine()}\n"
    )
    return 0


COMMANDS: list[Command] = [
    Command(
        ("help",),
        cmd_help,
        "Print the list of subcommands, or the usage of matching commands.",
        "[COMMAND ...]",
    ),
    Command(("version",), cmd_version, "Print the version of moxpy and of the Python it runs on."),
]
