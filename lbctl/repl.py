"""lbctl's interactive shell over the Runtime API.

How it works: `Repl.run` loops on a prompt_toolkit `PromptSession` (history in a file, Emacs or Vi
keys, an `LbCompleter` built from the server's `help`, a bottom toolbar) and hands every accepted line
to `Repl.execute`, which returns the text to show. `execute` looks the first word up in a table of
lbctl's own commands (watch, drain, ready, servers, help); anything else goes to the server as is, and
the reply is shown as a table when `lbctl.render` knows the command, raw otherwise, or in red with an
"error: " prefix when `lbctl.client.is_error` says it is an error. The client reconnects by itself; when
the socket is unreachable the message is shown and the shell keeps running. Slow commands (`watch`,
`drain`) draw on the prompt_toolkit output while they run; `watch` polls the input for a key between
frames (keys typed ahead of the prompt count too). Ctrl-C cancels the line or the running command,
Ctrl-D, `quit` and `exit` leave. Toolbar data and completion names are cached for two seconds.
"""

from __future__ import annotations

import os
import re
import select
import time
from typing import Callable

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input, create_input
from prompt_toolkit.input.typeahead import get_typeahead, store_typeahead
from prompt_toolkit.output import Output, create_output
from prompt_toolkit.shortcuts import print_formatted_text

from lbctl import drain as draining
from lbctl import render
from lbctl.client import Client, ServerError, Unreachable, is_error
from lbctl.completion import Cached, LbCompleter, Names, help_commands

DEFAULT_HISTORY = "~/.lbctl_history"
REFRESH = 2.0  # seconds: toolbar and completion names are fetched at most this often
WATCH_INTERVAL = 2.0

RED, RESET = "\x1b[31m", "\x1b[0m"
OWN_HELP: tuple[tuple[str, str], ...] = (
    ("watch <command> [interval]", "re-run a command every interval (default 2s) until a key is pressed"),
    ("drain <bk>/<srv> [--timeout <t>]", "set drain, wait for no sessions nor queue, then set maint"),
    ("ready <bk>/<srv>", "put a server back in service (state ready)"),
    ("servers [<backend>]", "compact status of the servers (all or one backend)"),
    ("help", "the server's commands and lbctl's own"),
    ("quit, exit, Ctrl-D", "leave lbctl"),
)
LEAVE = frozenset({"quit", "exit"})


def error_text(message: str) -> str:
    return f"{RED}error: {message.strip()}{RESET}"


def table_names(reply: str) -> list[str]:
    """Stick-table names from a `show table` reply (``# table: st_src, type: ip, ...``)."""
    return re.findall(r"^# table: ([^,\s]+)", reply, re.M)


class Repl:
    """The interactive shell. `run()` is the loop, `execute(line)` one command."""

    def __init__(self, client: Client, *, vi: bool = False, history_file: str | None = None,
                 all_columns: bool = False, input: Input | None = None, output: Output | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.vi, self.all_columns = client, vi, all_columns
        self.history_file = os.path.expanduser(history_file or os.environ.get("LBCTL_HISTORY", DEFAULT_HISTORY))
        self.input = input if input is not None else create_input()
        self.output = output if output is not None else create_output()
        self.names = Cached(self._fetch_names, REFRESH, clock)
        self.status = Cached(self._status_line, REFRESH, clock)
        self.completer = LbCompleter([], self.names)
        self._has_commands = False
        self.own: dict[str, Callable[[list[str]], str]] = {
            "watch": self._watch, "drain": self._drain, "ready": self._ready,
            "servers": self._servers, "help": self._help,
        }

    # ------------------------------------------------------------------------------- the loop

    def session(self) -> PromptSession[str]:
        return PromptSession(
            message=f"{self.client.address}> ", history=FileHistory(self.history_file),
            completer=self.completer, auto_suggest=AutoSuggestFromHistory(), vi_mode=self.vi,
            bottom_toolbar=lambda: self.status(), refresh_interval=REFRESH,
            input=self.input, output=self.output,
        )

    def run(self) -> int:
        self._load_commands()
        session = self.session()
        while True:
            try:
                line = session.prompt()
            except KeyboardInterrupt:
                continue
            except EOFError:
                return 0
            if line.strip() in LEAVE:
                return 0
            try:
                text = self.execute(line)
            except KeyboardInterrupt:
                text = error_text("interrupted")
            if text:
                self.show(text)

    def show(self, text: str) -> None:
        print_formatted_text(ANSI(text), output=self.output)

    def execute(self, line: str) -> str:
        words = line.split()
        if not words:
            return ""
        handler = self.own.get(words[0])
        try:
            if handler is not None:
                return handler(words[1:])
            return self._server(" ".join(words))
        except ServerError as exc:
            return error_text(exc.reply)
        except Unreachable as exc:
            return error_text(str(exc))

    # ------------------------------------------------------------------------- server commands

    def _server(self, command: str) -> str:
        reply = self.client.run(command)
        if is_error(command, reply):
            return error_text(reply)
        self._load_commands()
        table = render.render(command, reply, all_columns=self.all_columns, color=True)
        return table if table is not None else reply.rstrip("\n")

    def _load_commands(self) -> None:
        if self._has_commands:
            return
        try:
            commands = help_commands(self.client.run("help"))
        except Unreachable:
            return
        if commands:
            self.completer.set_commands(commands)
            self._has_commands = True

    def _fetch_names(self) -> Names:
        try:
            rows = render.parse_stat(self.client.run("show stat"))
            tables = table_names(self.client.run("show table"))
        except Unreachable:
            return [], [], {}, []
        frontends, backends, servers = render.names(rows)
        return frontends, backends, servers, tables

    def _status_line(self) -> str:
        address = self.client.address
        try:
            level = self.client.run("show cli level").strip()
            health = render.health_summary(render.parse_stat(self.client.run("show stat")))
        except Unreachable:
            return f" {address}  unreachable"
        counts = "  ".join(f"{key} {health.get(key, 0)}" for key in ("up", "down", "maint", "drain"))
        return f" {address}  level {level}  {counts}"

    # ---------------------------------------------------------------------- lbctl's own commands

    def _help(self, args: list[str]) -> str:
        if args:
            return self._server(" ".join(["help", *args]))
        reply = self.client.run("help").rstrip("\n")
        own = "\n".join(f"  {usage:<40}: {text}" for usage, text in OWN_HELP)
        return f"{reply}\n\nlbctl commands:\n{own}"

    def _servers(self, args: list[str]) -> str:
        if len(args) > 1:
            return error_text("usage: servers [<backend>]")
        rows = render.parse_stat(self.client.run("show stat"))
        if args and not any(r.get("pxname") == args[0] for r in rows):
            return error_text("No such backend.")
        return render.render_servers(render.server_rows(rows, args[0] if args else None), color=True)

    def _ready(self, args: list[str]) -> str:
        if len(args) != 1:
            return error_text("usage: ready <backend>/<server>")
        try:
            backend, server = draining.split_target(args[0])
        except ValueError as exc:
            return error_text(str(exc))
        draining.ready(self.client, backend, server)
        return f"{args[0]}: ready"

    def _drain(self, args: list[str]) -> str:
        try:
            target, timeout = parse_drain_args(args)
        except ValueError as exc:
            return error_text(f"{exc}\nusage: drain <backend>/<server> [--timeout <t>]")
        peak = -1  # -1: nothing drawn yet

        def progress(p: draining.Progress) -> None:
            nonlocal peak
            peak = max(peak, p.scur + p.qcur)
            self._draw_progress(f"draining {target} {draining.progress_bar(p, peak)}")

        try:
            done = draining.drain(self.client, *draining.split_target(target), timeout=timeout,
                                  on_progress=progress)
        finally:
            if peak >= 0:
                self.output.write_raw("\n")
                self.output.flush()
        if done:
            return f"{target}: drained, now in maint"
        return error_text(f"{target}: still busy after {timeout or 0:g}s; left in drain")

    def _draw_progress(self, line: str) -> None:
        self.output.write_raw("\r" + line)
        self.output.erase_end_of_line()
        self.output.flush()

    def _watch(self, args: list[str]) -> str:
        try:
            command, interval = parse_watch_args(args)
        except ValueError as exc:
            return error_text(f"{exc}\nusage: watch <command> [interval]")
        with self.input.raw_mode():
            while True:
                frame = self.execute(command)
                self.draw_frame(f"Every {interval:g}s: {command}    (press any key to stop)\n\n{frame}")
                if self._key_pressed(interval):
                    return ""

    def draw_frame(self, text: str) -> None:
        self.output.erase_screen()
        self.output.cursor_goto(0, 0)
        self.show(text)

    def _key_pressed(self, timeout: float) -> bool:
        """Wait up to `timeout` for a key; consume it. Keys typed ahead of the prompt count."""
        typed = get_typeahead(self.input)
        if not typed:
            readable, _, _ = select.select([self.input.fileno()], [], [], timeout)
            if not readable:
                return False
            typed = self.input.read_keys() + self.input.flush_keys()
        store_typeahead(self.input, typed[1:])
        return True


def parse_drain_args(args: list[str]) -> tuple[str, float | None]:
    """``["web/web1", "--timeout", "60s"]`` -> ("web/web1", 60.0)."""
    target, timeout, rest = None, None, list(args)
    while rest:
        word = rest.pop(0)
        if word.startswith("--timeout"):
            value = word.partition("=")[2] if "=" in word else (rest.pop(0) if rest else "")
            timeout = draining.parse_duration(value)
        elif target is None:
            draining.split_target(word)
            target = word
        else:
            raise ValueError(f"unexpected argument {word!r}")
    if target is None:
        raise ValueError("missing <backend>/<server>")
    return target, timeout


def parse_watch_args(args: list[str]) -> tuple[str, float]:
    """``["show", "stat", "5"]`` -> ("show stat", 5.0): a last word that reads as a duration is the
    interval."""
    if not args or args[0] == "watch":
        raise ValueError("missing command")
    interval = WATCH_INTERVAL
    if len(args) > 1:
        try:
            interval = draining.parse_duration(args[-1])
            args = args[:-1]
        except ValueError:
            pass
    return " ".join(args), max(interval, 0.01)
