"""lbctl's command line: scripted use, lbctl's own commands, and the entry to the REPL.

    lbctl [-S SOCKET] [-c CMD]... [--json|--raw] [--all-columns] [--vi] [COMMAND...]

How it works: the command lines to run come from the positional words (`lbctl drain be/web1
--timeout 60s`, `lbctl show info`), from `-c` (repeatable), or, when stdin is not a terminal, one
per line from stdin; with none of these and a terminal on stdin the REPL (lbctl.repl) starts.
`execute()` runs one line: lbctl's own commands (`drain`, `ready`, `servers`, `watch`, `help`)
are handled here on top of the Runtime API; anything else goes to the server as is and its reply
is printed as a table (table commands), as JSON (`--json`) or raw (`--raw`). Server errors go to
stderr. Exit status: 0 success, 1 when the server answered an error (or a drain timed out, or an
lbctl command was misused), 2 when the socket cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from lbctl import __version__
from lbctl.client import Client, ServerError, Unreachable, is_error
from lbctl.drain import Progress, drain, parse_duration, progress_bar, ready, split_target
from lbctl.render import parse_stat, render, render_json, render_servers, server_rows

DEFAULT_SOCKET = "/run/lb/admin.sock"
DEFAULT_WATCH_INTERVAL = 2.0
OK, ERROR, UNREACHABLE = 0, 1, 2

# lbctl's own commands, in the server's `help` layout (syntax padded to 40 columns)
LBCTL_HELP = (
    "lbctl commands:\n"
    "  watch <command> [<interval>]            : re-run a command every interval (default 2s) until a key/Ctrl-C\n"
    "  drain <bk>/<srv> [--timeout <t>]        : set drain, wait until no session nor queue, then set maint\n"
    "  ready <bk>/<srv>                        : put a server back into load balancing (state ready)\n"
    "  servers [<backend>]                     : compact status of the servers (all or of one backend)\n"
    "  help                                    : list the server's commands and lbctl's\n"
)
OWN_COMMANDS = ("watch", "drain", "ready", "servers", "help")


class UsageError(Exception):
    """An lbctl command was given wrong arguments."""


@dataclass
class Options:
    """How replies are shown."""

    json: bool = False
    raw: bool = False
    all_columns: bool = False
    color: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


# -- showing replies -----------------------------------------------------------------------------

def format_reply(command: str, reply: str, opts: Options) -> str:
    """The text to print for a successful reply."""
    if opts.raw:
        return reply
    if opts.json:
        text = render_json(command, reply)
    else:
        text = render(command, reply, all_columns=opts.all_columns, color=opts.color)
    return reply if text is None else text + "\n"


def _write(stream: TextIO, text: str) -> None:
    stream.write(text if not text or text.endswith("\n") else text + "\n")
    stream.flush()


def _error(opts: Options, text: str) -> int:
    red = opts.color and opts.err.isatty()
    body = text if text.endswith("\n") else text + "\n"
    _write(opts.err, f"\x1b[31m{body.rstrip()}\x1b[0m\n" if red else body)
    return ERROR


# -- one line ------------------------------------------------------------------------------------

def execute(client: Client, line: str, opts: Options) -> int:
    """Run one command line (lbctl's own or the server's); print the result; return an exit status.
    Raises Unreachable when the socket cannot be reached."""
    words = line.split()
    if not words or words[0].startswith("#"):
        return OK
    try:
        if words[0] in OWN_COMMANDS and not (words[0] == "help" and len(words) > 1):
            return OWN[words[0]](client, words[1:], opts)
        reply = client.run(line)
        if is_error(line, reply):
            return _error(opts, reply)
        text = format_reply(line, reply, opts)
        if opts.raw:
            opts.out.write(text)
            opts.out.flush()
        else:
            _write(opts.out, text)
        return OK
    except ServerError as exc:
        return _error(opts, exc.reply)
    except UsageError as exc:
        return _error(opts, f"lbctl: {exc}")


def cmd_help(client: Client, args: list[str], opts: Options) -> int:
    reply = client.run("help")
    _write(opts.out, reply + "\n" + LBCTL_HELP if not opts.raw else reply)
    return OK


def cmd_servers(client: Client, args: list[str], opts: Options) -> int:
    if len(args) > 1:
        raise UsageError("usage: servers [<backend>]")
    reply = client.run("show stat")
    if is_error("show stat", reply):
        return _error(opts, reply)
    stat = parse_stat(reply)
    backend = args[0] if args else None
    if backend is not None and not any(r.get("pxname") == backend and r.get("svname") == "BACKEND" for r in stat):
        return _error(opts, "No such backend.")
    rows = server_rows(stat, backend)
    _write(opts.out, json.dumps(rows, indent=2) if opts.json else render_servers(rows, color=opts.color))
    return OK


def cmd_ready(client: Client, args: list[str], opts: Options) -> int:
    if len(args) != 1:
        raise UsageError("usage: ready <backend>/<server>")
    backend, server = _target(args[0])
    ready(client, backend, server)
    return OK


def _target(text: str) -> tuple[str, str]:
    try:
        return split_target(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def parse_drain_args(args: list[str]) -> tuple[str, str, float | None]:
    """`<b>/<s> [--timeout <t>]` (also `--timeout=<t>`, `-t <t>`) -> (backend, server, timeout)."""
    target, timeout, rest = None, None, list(args)
    while rest:
        word = rest.pop(0)
        if word in ("--timeout", "-t"):
            if not rest:
                raise UsageError("--timeout needs a value (e.g. 60s)")
            word = "--timeout=" + rest.pop(0)
        if word.startswith("--timeout="):
            try:
                timeout = parse_duration(word.split("=", 1)[1])
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        elif target is None and not word.startswith("-"):
            target = word
        else:
            raise UsageError("usage: drain <backend>/<server> [--timeout <t>]")
    if target is None:
        raise UsageError("usage: drain <backend>/<server> [--timeout <t>]")
    backend, server = _target(target)
    return backend, server, timeout


class _DrainReporter:
    """Progress of a drain on stderr: a bar redrawn in place on a terminal, else one line per change."""

    def __init__(self, target: str, opts: Options) -> None:
        self.target, self.opts, self.peak = target, opts, 0
        self.tty = opts.err.isatty()
        self.last: tuple[int, int, str] | None = None

    def __call__(self, p: Progress) -> None:
        self.peak = max(self.peak, p.scur + p.qcur)
        if self.tty:
            self.opts.err.write(f"\r{self.target} {progress_bar(p, self.peak)}\x1b[K")
        elif (p.scur, p.qcur, p.status) != self.last:
            self.opts.err.write(f"{self.target}: status={p.status} scur={p.scur} qcur={p.qcur} "
                                f"elapsed={p.elapsed:.1f}s\n")
        self.last = (p.scur, p.qcur, p.status)
        self.opts.err.flush()

    def finish(self) -> None:
        if self.tty and self.last is not None:
            self.opts.err.write("\n")


def cmd_drain(client: Client, args: list[str], opts: Options) -> int:
    backend, server, timeout = parse_drain_args(args)
    target = f"{backend}/{server}"
    reporter = _DrainReporter(target, opts)
    start = opts.clock()
    try:
        done = drain(client, backend, server, timeout=timeout, on_progress=reporter,
                     sleep=opts.sleep, clock=opts.clock)
    finally:
        reporter.finish()
    elapsed = opts.clock() - start
    if opts.json:
        _write(opts.out, json.dumps({"backend": backend, "server": server, "drained": done,
                                     "state": "maint" if done else "drain", "elapsed": round(elapsed, 3)}))
    if done:
        if not opts.json:
            _write(opts.out, f"{target} drained and in maint ({elapsed:.1f}s)")
        return OK
    scur, qcur = (reporter.last or (0, 0, ""))[:2]
    return _error(opts, f"lbctl: timeout after {timeout:g}s: {target} still has {scur} sessions and "
                        f"{qcur} queued; left in drain")


def cmd_watch(client: Client, args: list[str], opts: Options, *, iterations: int | None = None) -> int:
    """Re-run `args` every interval until Ctrl-C (or `iterations` runs, for tests)."""
    interval = DEFAULT_WATCH_INTERVAL
    if len(args) > 1:
        try:
            interval = parse_duration(args[-1])
            args = args[:-1]
        except ValueError:
            pass
    if not args or args[0] == "watch":
        raise UsageError("usage: watch <command> [<interval>]")
    command = " ".join(args)
    clear = opts.out.isatty()
    status, count = OK, 0
    try:
        while iterations is None or count < iterations:
            if clear:
                opts.out.write("\x1b[H\x1b[2J")
            _write(opts.out, f"Every {interval:g}s: {command}    {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            status = execute(client, command, opts)
            count += 1
            if iterations is None or count < iterations:
                opts.sleep(interval)
    except KeyboardInterrupt:
        _write(opts.out, "")
    return status


OWN: dict[str, Callable[[Client, list[str], Options], int]] = {
    "help": cmd_help, "servers": cmd_servers, "ready": cmd_ready, "drain": cmd_drain, "watch": cmd_watch,
}


# -- input ---------------------------------------------------------------------------------------

def read_commands(lines: list[str]) -> list[str]:
    """Command lines from a script: blank lines and `#` comments skipped; a line ending with `<<`
    takes the following lines up to an empty line as its payload."""
    commands: list[str] = []
    it = iter(lines)
    for line in it:
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.split()[-1] == "<<":
            payload = []
            for more in it:
                more = more.rstrip("\r\n")
                if not more:
                    break
                payload.append(more)
            line = "\n".join([line, *payload]) + "\n\n"
        commands.append(line)
    return commands


# -- main ----------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lbctl", description="Shell and scripting client for the HAProxy/trio-lb Runtime API socket.",
        epilog="Exit status: 0 success, 1 the server answered an error, 2 the socket cannot be reached.")
    p.add_argument("-S", "--socket", metavar="SOCKET",
                   help=f"socket address: /path, unix@/path, ipv4@host:port, ipv6@[addr]:port "
                        f"(default: $LBCTL_SOCKET, then {DEFAULT_SOCKET})")
    p.add_argument("-c", "--command", dest="commands", action="append", default=[], metavar="CMD",
                   help="run CMD and exit (repeatable; run in order)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print table outputs as JSON")
    fmt.add_argument("--raw", action="store_true", help="print the server's replies unchanged")
    p.add_argument("--all-columns", action="store_true", help="show every column in tables")
    p.add_argument("--no-color", action="store_true", help="never colour the output")
    p.add_argument("--vi", action="store_true", help="Vi key bindings in the interactive shell")
    p.add_argument("--history", metavar="FILE",
                   help="history file of the interactive shell (default: $LBCTL_HISTORY, then ~/.lbctl_history)")
    p.add_argument("--timeout", metavar="T", help="for `drain`: give up after T (60s, 500ms, 2m, 90)")
    p.add_argument("-V", "--version", action="version", version=f"lbctl {__version__}")
    p.add_argument("words", nargs="*", metavar="COMMAND",
                   help="one command: drain <b>/<s> [--timeout T], ready <b>/<s>, servers [<b>], "
                        "watch <cmd> [interval], or any server command")
    return p


def _use_color(no_color: bool, stream: TextIO) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and stream.isatty()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_intermixed_args(argv)
    address = args.socket or os.environ.get("LBCTL_SOCKET") or DEFAULT_SOCKET
    opts = Options(json=args.json, raw=args.raw, all_columns=args.all_columns,
                   color=_use_color(args.no_color, sys.stdout), out=sys.stdout, err=sys.stderr)
    try:
        client = Client(address)
    except ValueError as exc:
        print(f"lbctl: {exc}", file=sys.stderr)
        return UNREACHABLE
    commands = list(args.commands)
    if args.words:
        line = " ".join(args.words)
        if args.timeout is not None:
            line += f" --timeout {args.timeout}"
        commands.append(line)
    elif args.timeout is not None and not commands:
        print("lbctl: --timeout only applies to drain", file=sys.stderr)
        return ERROR
    try:
        if not commands and sys.stdin.isatty():
            return _repl(client, args)
        if not commands:
            commands = read_commands(sys.stdin.readlines())
        return run_commands(client, commands, opts)
    except Unreachable as exc:
        print(f"lbctl: {exc}", file=sys.stderr)
        return UNREACHABLE
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()


def run_commands(client: Client, commands: list[str], opts: Options) -> int:
    """Run every command in order; the exit status is the worst one (Unreachable propagates)."""
    status = OK
    for command in commands:
        status = max(status, execute(client, command, opts))
    return status


def _repl(client: Client, args: argparse.Namespace) -> int:
    from lbctl.repl import Repl  # prompt_toolkit is only needed interactively

    client.run("show cli level")  # fail early (exit 2) when the socket is unreachable
    history = args.history or os.environ.get("LBCTL_HISTORY") or os.path.expanduser("~/.lbctl_history")
    return Repl(client, vi=args.vi, history_file=history, all_columns=args.all_columns).run()
