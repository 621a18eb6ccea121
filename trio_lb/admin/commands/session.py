"""Commands about the CLI session itself (src/cli.c's own keywords in HAProxy 2.6)."""

from __future__ import annotations

import os
from typing import Any

from trio_lb.admin import messages
from trio_lb.admin.messages import info
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.config.keywords import parse_time_err
from trio_lb.errors import CommandError


@command(("help",), None)
def help_(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return session.help_text(list(args[1:]))


@command(("prompt",), None)
def prompt(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    session.toggle_prompt()


@command(("quit",), None)
def quit_(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    session.quit()


@command(("operator",), "operator                                : lower the level of the current CLI session to operator")
@command(("user",), "user                                    : lower the level of the current CLI session to user")
def lower_level(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    if args.at(1) == "-":
        session.suppress_lf()  # even for the Permission denied that may follow
    if not session.lower_level(args[0]):
        raise CommandError(messages.PERMISSION_DENIED)


@command(("show", "cli", "level"), "show cli level                          : display the level of the current CLI session")
def show_cli_level(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return info(f"{session.level}\n")


@command(("set", "timeout"), "set timeout [cli] <delay>               : change a timeout setting")
def set_timeout(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    if args.at(2) != "cli":
        raise CommandError(messages.TIMEOUT_ONLY_CLI)
    if not args.at(3):
        raise CommandError(messages.TIMEOUT_EXPECTS_INTEGER)
    res = parse_time_err(args.at(3), "s")  # seconds unless a unit is given, rounded up
    if res.value is None or res.value < 1:
        raise CommandError(messages.TIMEOUT_INVALID)
    session.timeout = float(res.value)


@command(("set", "severity-output"), "set severity-output [none|number|string]: set presence of severity level in feedback information")
def set_severity_output(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    value = args.at(2)
    if value not in messages.SEVERITY_OUTPUTS:
        raise CommandError(messages.SEVERITY_OUTPUT_REQUIRED)
    # "none" is HAProxy's 0, which means "as the socket says" (its `severity-output` option)
    session.severity_output = session.socket_severity_output if value == "none" else value


@command(("expert-mode",), None, "admin")
@command(("experimental-mode",), None, "admin")
def expert_mode(ctx: Any, args: Args, payload: str | None, session: Session) -> str | None:
    attr = "expert" if args[0] == "expert-mode" else "experimental"
    if not args.at(1):
        return info(messages.mode_state(args[0], getattr(session, attr)))
    setattr(session, attr, args.at(1) == "on")
    return None


@command(("show", "version"), "show version                            : show version of the current process")
def show_version(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    version = getattr(ctx, "version", None)
    if version is None:
        from trio_lb.stats.info import VERSION as version
    return info(f"{version}\n")


@command(("show", "env"), "show env [var]                          : dump environment variables known to the process", "operator")
def show_env(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    """The process environment (`ctx.environ` when the caller provides one), in its order."""
    environ = getattr(ctx, "environ", None)
    if environ is None:
        environ = os.environ
    entries = [f"{key}={value}" for key, value in environ.items()]
    name = args.at(2)
    if not name:
        return "".join(f"{entry}\n" for entry in entries)
    for entry in entries:  # strncmp(var, name, len) == 0 && var[len] == '='
        if entry.startswith(name) and entry[len(name): len(name) + 1] == "=":
            return f"{entry}\n"
    raise CommandError(messages.ENV_NOT_FOUND)
