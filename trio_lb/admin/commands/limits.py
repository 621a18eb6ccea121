"""Frontend states and runtime limits of the Runtime API (HAProxy 2.6 src/proxy.c, src/cli.c,
src/server.c, src/stats.c CLI keywords).

How it works: the commands only change the Runtime (FrontendState.enabled / stopped /
maxconn, ServerState.maxconn, Runtime.maxconn and rate limits, counters) and then ask the
admission side to look again: `runtime.admission_changed()` wakes the accept loops
(net/listeners.Gate), which enforce the new state at the next accept; a raised server maxconn
hands free slots to queued requests at once. Replies, levels and parse quirks are HAProxy
2.6.12's (verified live): values are read with C's atoi() (`abc` is 0) except the server
maxconn (strtol, with garbage errors that have no LF); the "already" replies of the frontend
commands are notices, not errors (`[notice]:` with `set severity-output string`).

A frontend's transitions are a table, `_FRONTEND_ACTIONS`: for each command, the replies when
the frontend is shut down or already in the wanted state, the change, and the log line HAProxy
writes ("Paused frontend fe.", "Resumed proxy li.", "Proxy fe stopped (cumulated conns: ...)").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trio_lb.admin.commands.server import ctx_hook, find_server
from trio_lb.admin.cparse import atoi as c_atoi
from trio_lb.admin.cparse import by_name_or_id, to_c_int
from trio_lb.admin.cparse import strtol as c_strtol
from trio_lb.admin.messages import LOG_LEVELS, PERMISSION_DENIED, Message
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.state import queue as q
from trio_lb.state.proxies import BackendState, FrontendState
from trio_lb.state.servers import ServerState

FRONTEND_EXPECTED = "A frontend name is expected.\n"
NO_FRONTEND = "No such frontend.\n"
INTEGER_EXPECTED = "Integer value expected.\n"
EXPECTS_INTEGER = "Expects an integer value.\n"
OUT_OF_RANGE = "Value out of range.\n"
REQUIRE_MAXCONN = "Require <maxconn>.\n"
MAXCONN_GARBAGE = "maxconn string empty or preceded by garbage"  # no LF, as HAProxy
MAXCONN_TRAILING = "Trailing garbage in maxconn string"  # no LF, as HAProxy
RATE_LIMIT_USAGE = (
    "'set rate-limit' only supports :\n"
    "   - 'connections global' to set the per-process maximum connection rate\n"
    "   - 'sessions global' to set the per-process maximum session rate\n"
    "   - 'ssl-sessions global' to set the per-process maximum SSL session rate\n"
    "   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n"
)
LOG_NOTICE = LOG_LEVELS.index("notice")


# -- designation ------------------------------------------------------------------------------

def find_frontend(runtime: Any, name: str) -> FrontendState:
    """cli_find_frontend(): a proxy with a frontend side, by name or `#<id>`."""
    if not name:
        raise CommandError(FRONTEND_EXPECTED)
    found = by_name_or_id(runtime.frontends.values(), name)
    if found is None:
        raise CommandError(NO_FRONTEND)
    return found


def proxy_kind(fe: FrontendState) -> str:
    """proxy_type_str(): "proxy" for a listen section, else "frontend"."""
    return "proxy" if fe.spec.has_backend else "frontend"


# -- frontend states --------------------------------------------------------------------------

def _cumulated_backend_conns(runtime: Any, fe: FrontendState) -> int:
    backend: BackendState | None = runtime.backends.get(fe.name)
    return backend.counters.stot if backend is not None and fe.spec.has_backend else 0


def _pause(runtime: Any, fe: FrontendState) -> str:
    fe.enabled = False
    return f"Paused {proxy_kind(fe)} {fe.name}."


def _resume(runtime: Any, fe: FrontendState) -> str:
    fe.enabled = True
    return f"Resumed {proxy_kind(fe)} {fe.name}."


def _stop(runtime: Any, fe: FrontendState) -> str:
    fe.stopped = True
    fe.enabled = False
    return (f"Proxy {fe.name} stopped (cumulated conns: FE: {fe.counters.stot}, "
            f"BE: {_cumulated_backend_conns(runtime, fe)}).")


@dataclass(frozen=True)
class FrontendAction:
    if_stopped: str  # the notice when the frontend was shut down
    already: Callable[[FrontendState], bool] | None  # in the wanted state already?
    if_already: str
    apply: Callable[[Any, FrontendState], str]  # change it; the warning HAProxy logs


_FRONTEND_ACTIONS: dict[str, FrontendAction] = {
    "disable": FrontendAction("Frontend was previously shut down, cannot disable.\n",
                              lambda fe: not fe.enabled, "All sockets are already disabled.\n", _pause),
    "enable": FrontendAction("Frontend was previously shut down, cannot enable.\n",
                             lambda fe: fe.enabled, "All sockets are already enabled.\n", _resume),
    "shutdown": FrontendAction("Frontend was already shut down.\n", None, "", _stop),
}


def apply_frontend_action(runtime: Any, fe: FrontendState, action: str) -> tuple[Message | None, str | None]:
    """(the notice to reply, the warning to log) for `disable|enable|shutdown frontend`."""
    row = _FRONTEND_ACTIONS[action]
    if fe.stopped or fe.spec.disabled:
        return Message(row.if_stopped, LOG_NOTICE), None
    if row.already is not None and row.already(fe):
        return Message(row.if_already, LOG_NOTICE), None
    line = row.apply(runtime, fe)
    _admission_changed(runtime)
    return None, line


def _admission_changed(runtime: Any) -> None:
    changed = getattr(runtime, "admission_changed", None)
    if changed is not None:
        changed()


@command(("disable", "frontend"), "disable frontend <frontend>             : temporarily disable specific frontend", "admin")
@command(("enable", "frontend"), "enable frontend <frontend>              : re-enable specific frontend", "admin")
@command(("shutdown", "frontend"), "shutdown frontend <frontend>            : stop a specific frontend", "admin")
def frontend_state(ctx: Any, args: Args, payload: str | None, session: Session) -> Message | None:
    fe = find_frontend(ctx.runtime, args.at(2))
    reply, line = apply_frontend_action(ctx.runtime, fe, args[0])
    if line is not None:
        ctx_hook(ctx, "log", "warning", line)
    return reply


# -- maxconn ----------------------------------------------------------------------------------

def set_frontend_maxconn(runtime: Any, fe: FrontendState, text: str) -> None:
    if not text:
        raise CommandError(INTEGER_EXPECTED)
    value = c_atoi(text)
    if value < 0:
        raise CommandError(OUT_OF_RANGE)
    fe.maxconn = value
    _admission_changed(runtime)


def set_global_maxconn(runtime: Any, text: str) -> None:
    """`<= 0` restores the hard limit (the maxconn the process started with)."""
    if not text:
        raise CommandError(EXPECTS_INTEGER)
    value = c_atoi(text)
    hard = getattr(runtime, "hard_maxconn", runtime.maxconn)
    if value > hard:
        raise CommandError(OUT_OF_RANGE)
    runtime.maxconn = value if value > 0 else hard
    _admission_changed(runtime)


def parse_server_maxconn(text: str) -> int:
    """server_parse_maxconn_change_request(): strtol, stored in an unsigned int (so `-3` is
    4294967293, that is no limit in practice, as in HAProxy)."""
    if not text:
        raise CommandError(REQUIRE_MAXCONN)
    value, rest = c_strtol(text)
    if value is None:
        raise CommandError(MAXCONN_GARBAGE)
    if rest:
        raise CommandError(MAXCONN_TRAILING)
    return to_c_int(value, signed=False)


def set_server_maxconn(backend: BackendState, server: ServerState, text: str, now: float) -> int:
    """Change the limit and give the slots it frees to queued requests (process_srv_queue());
    returns how many were dispatched."""
    server.maxconn = parse_server_maxconn(text)
    return dispatch_server_queue(backend, server, now)


def dispatch_server_queue(backend: BackendState, server: ServerState, now: float) -> int:
    """Hand the server's free slots to its own queue and the backend's, oldest first (as a
    released slot is handed in state.queue), then let the balancer place what remains of the
    backend queue."""
    dispatched = q.serve_queue(backend, server, now)
    before = len(backend.queue)
    q.dispatch_backend_queue(backend, now)
    return dispatched + before - len(backend.queue)


@command(("set", "maxconn", "frontend"), "set maxconn frontend <frontend> <value> : change a frontend's maxconn setting", "admin")
def set_maxconn_frontend(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    fe = find_frontend(ctx.runtime, args.at(3))
    set_frontend_maxconn(ctx.runtime, fe, args.at(4))


@command(("set", "maxconn", "server"), "set maxconn server <bk>/<srv>           : change a server's maxconn setting", "admin")
def set_maxconn_server(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    backend, server = find_server(ctx.runtime, args.at(3))
    set_server_maxconn(backend, server, args.at(4), ctx.now())


@command(("set", "maxconn", "global"), "set maxconn global <value>              : change the per-process maxconn setting", "admin")
def set_maxconn_global(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    set_global_maxconn(ctx.runtime, args.at(3))


# -- rate limits ------------------------------------------------------------------------------

# `set rate-limit <what> global <n>`: what -> (Runtime attribute, multiplier)
RATE_LIMITS: dict[str, tuple[str, int]] = {
    "connections": ("rate_limit_conns", 1),
    "sessions": ("rate_limit_sess", 1),
    "ssl-sessions": ("rate_limit_ssl", 1),
    "http-compression": ("rate_limit_comp", 1024),  # kB/s, kept in bytes/s
}


def set_rate_limit(runtime: Any, what: str, scope: str, text: str) -> None:
    target = RATE_LIMITS.get(what)
    if target is None or scope != "global":
        raise CommandError(RATE_LIMIT_USAGE)
    if not text:
        raise CommandError(EXPECTS_INTEGER)
    value = c_atoi(text)
    if value < 0:
        raise CommandError(OUT_OF_RANGE)
    attr, mul = target
    setattr(runtime, attr, to_c_int(value * mul, signed=False))
    _admission_changed(runtime)


@command(("set", "rate-limit"), "set rate-limit <setting> <value>        : change a rate limiting value", "admin")
def set_rate_limit_cmd(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    set_rate_limit(ctx.runtime, args.at(2), args.at(3), args.at(4))


# -- counters ---------------------------------------------------------------------------------

def clear_counters(runtime: Any, all_: bool) -> None:
    """Maxima (or everything, `all`) of every frontend, backend and server, and the process's
    maximum rates; the process's cumulated totals stay, as in HAProxy."""
    for fe in runtime.frontends.values():
        fe.counters.reset(all_)
    for backend in runtime.backends.values():
        backend.counters.reset(all_)
        for server in backend.servers:
            server.counters.reset(all_)
            if all_ and server.health is not None:
                server.health.failed_checks = 0  # HAProxy keeps it in the server's counters
    runtime.conn_rate.max = 0


@command(("clear", "counters"), "clear counters [all]                    : clear max statistics counters (or all counters)", "operator")
def clear_counters_cmd(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    all_ = args.at(2) == "all"
    if all_ and not session.has_level("admin"):
        raise CommandError(PERMISSION_DENIED)
    clear_counters(ctx.runtime, all_)
