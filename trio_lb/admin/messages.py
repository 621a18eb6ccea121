"""HAProxy 2.6's exact CLI reply strings, and the two kinds of reply a command can give.

HAProxy writes a command's reply in one of two ways (src/cli.c): a *message* (cli_msg, cli_err,
cli_dynmsg) carries a syslog severity and gets a `[err]: ` / `[3]: ` prefix when the session asked
for one with `set severity-output`; a *dump* (a command's own I/O handler: `show stat`,
`show env`, ...) is written as is. A handler returns a plain `str` for a dump and a `Message`
(see `info()`) for a message; a raised CommandError is a message of severity `err`.
"""

from __future__ import annotations

from typing import Self

# syslog severities, src/log.c log_levels[]
LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
LOG_ERR = 3
LOG_INFO = 6

SEVERITY_OUTPUTS = ("none", "number", "string")


class Message(str):
    """Reply text that HAProxy emits through its message path (prefixable with a severity)."""

    severity: int = LOG_INFO

    def __new__(cls, text: str, severity: int = LOG_INFO) -> Self:
        msg = super().__new__(cls, text)
        msg.severity = severity
        return msg


def info(text: str) -> Message:
    """An informational message (`show version`, `show cli level`, `help`)."""
    return Message(text, LOG_INFO)


def error(text: str) -> Message:
    return Message(text, LOG_ERR)


def with_severity(text: str, severity: int, output: str) -> str:
    """cli_output_msg(): prefix `text` according to the session's severity-output mode."""
    if output == "number":
        return f"[{severity}]: {text}"
    if output == "string":
        return f"[{LOG_LEVELS[severity]}]: {text}"
    return text


# -- session-wide ------------------------------------------------------------------------------

PERMISSION_DENIED = "Permission denied\n"
EXPERT_ONLY = "This command is restricted to expert mode only.\n"
EXPERIMENTAL_ONLY = "This command is restricted to experimental mode only.\n"

# -- help and unknown commands (cli_gen_usage_msg) ---------------------------------------------

HELP_HEADER = "The following commands are valid at this level:\n"
UNKNOWN_HEADER = "Unknown command. Please enter one of the following commands only:\n"
MAYBE_HEADER = "Unknown command, but maybe one of the following ones is a better match:\n"
ALWAYS_LISTED = (
    "  help [<command>]                        : list matching or all commands\n"
    "  prompt                                  : toggle interactive mode with prompt\n"
    "  quit                                    : disconnect\n"
)

# -- session commands ----------------------------------------------------------------------------

TIMEOUT_EXPECTS_INTEGER = "Expects an integer value.\n"
TIMEOUT_INVALID = "Invalid timeout value.\n"
TIMEOUT_ONLY_CLI = "'set timeout' only supports 'cli'.\n"
SEVERITY_OUTPUT_REQUIRED = "one of 'none', 'number', 'string' is a required argument\n"
ENV_NOT_FOUND = "Variable not found\n"


def mode_state(mode: str, on: bool) -> str:
    """`expert-mode` / `experimental-mode` without argument."""
    return f"{mode} is {'ON' if on else 'OFF'}\n"
