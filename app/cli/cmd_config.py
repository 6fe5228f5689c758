"""``moxpy config ...`` subcommands: checking the configuration files and printing annotated
templates of them. (Account, address, domain and alias commands are added below these.)
"""

from __future__ import annotations

from app.cli.command import Command, CommandError, Context, UsageError


def cmd_config_test(ctx: Context, args: list[str]) -> int:
    """Load mox.conf and domains.conf with every consistency check; exit 1 on any problem."""
    from app.config import ConfigError, load

    if args:
        raise UsageError("")
    try:
        load(ctx.config_path)
    except ConfigError as e:
        ctx.stderr.write(f"{e}\n")
        raise CommandError("config has errors")
    ctx.stdout.write("config OK\n")
    return 0


def cmd_config_describe_static(ctx: Context, args: list[str]) -> int:
    from app.config.describe import describe_static

    if args:
        raise UsageError("")
    ctx.stdout.write(describe_static())
    return 0


def cmd_config_describe_domains(ctx: Context, args: list[str]) -> int:
    from app.config.describe import describe_domains

    if args:
        raise UsageError("")
    ctx.stdout.write(describe_domains())
    return 0


COMMANDS: list[Command] = [
    Command(
        ("config", "test"),
        cmd_config_test,
        "Check mox.conf and domains.conf; print 'config OK' or the problems with file:line.",
    ),
    Command(
        ("config", "describe-static"),
        cmd_config_describe_static,
        "Print an annotated template of mox.conf with every field.",
    ),
    Command(
        ("config", "describe-domains"),
        cmd_config_describe_domains,
        "Print an annotated template of domains.conf with every field.",
    ),
]
