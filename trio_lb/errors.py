"""The small error taxonomy shared by every layer (stdlib only)."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem tied to a file and line, as `haproxy -c` reports it."""

    def __init__(self, msg: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.file = file
        self.line = line

    def location(self) -> str:
        if self.file is None:
            return ""
        return f"parsing [{self.file}:{self.line}] : "


class CommandError(Exception):
    """An admin command failed; `text` is HAProxy's exact reply."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class NoServerAvailable(Exception):
    """No usable server in the backend (maps to 503)."""


class ConnectError(Exception):
    """The server refused or reset the connection attempt."""


class ConnectTimeout(ConnectError):
    """`timeout connect` expired."""
