"""Server state commands of the Runtime API (HAProxy 2.6 src/server.c CLI keywords).

How it works: every command designates a server as `<backend>/<server>` (either part may be
`#<id>`), found by `find_server()` with cli_find_server()'s error strings. A change goes through
one of the `apply_*` functions, which change the ServerState, rebalance the backend
(`server_changed`, which also redispatches queues) and return the log lines HAProxy's
srv_update_status() writes for it; the command hands them to `ctx.log(level, text)`.
Entering maintenance also asks `ctx.on_server_maint(server)` to close idle pooled connections.

The admin transitions are a table, `_ADMIN_LOGS`, keyed by (old admin state, new admin state):
each entry builds the log lines from the server and backend after the change, with the same
texts as HAProxy 2.6.12 (verified live: "is going DOWN for maintenance", "was DOWN and now
enters maintenance", "is UP/READY (leaving forced maintenance)", "enters drain state",
"is UP (leaving forced drain)", "remains in forced drain mode").

`disable health` sets ServerState.checks_off (HAProxy's ENABLED bit); maintenance only pauses
the checks (`checks_enabled` false, PAUSED).
Replies: nothing on success; an error message otherwise (some of HAProxy's weight errors have no
trailing LF, kept as is).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trio_lb.admin.commands.address import set_addr, set_check_port
from trio_lb.admin.cparse import by_name_or_id, strtol
from trio_lb.admin.messages import info
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.state.health import backend_down_message, transition_message
from trio_lb.state.proxies import BackendState
from trio_lb.state.servers import ADMIN_TRANSITIONS, DRAIN, MAINT, READY, ServerState

REQUIRE_BS = "Require 'backend/server'.\n"
NO_BACKEND = "No such backend.\n"
NO_SERVER = "No such server.\n"
STATE_USAGE = "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
HEALTH_USAGE = "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n"
SET_SERVER_USAGE = ("usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | "
                    "agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n")
WEIGHT_REQUIRED = "Require <weight> or <weight%>.\n"
WEIGHT_GARBAGE = "Empty weight string empty or preceded by garbage"  # no LF, as HAProxy
WEIGHT_TRAILING = "Trailing garbage in weight string"  # no LF, as HAProxy
WEIGHT_RELATIVE = "Relative weight must be positive.\n"
WEIGHT_ABSOLUTE = "Absolute weight can only be between 0 and 256 inclusive.\n"
WEIGHT_STATIC = "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
HEALTH_NOT_CONFIGURED = "Health check was not configured on this server, cannot enable.\n"

Log = list[tuple[str, str]]  # (syslog level, message without the final LF)


# -- designation ------------------------------------------------------------------------------

def find_backend(runtime: Any, name: str) -> BackendState | None:
    """A backend by name or `#<id>`."""
    return by_name_or_id(runtime.backends.values(), name)


def find_in_backend(backend: BackendState, name: str) -> ServerState | None:
    return by_name_or_id(backend.servers, name)


def find_server(runtime: Any, word: str) -> tuple[BackendState, ServerState]:
    """cli_find_server(): `<b>/<s>` or CommandError with HAProxy's message."""
    bk, sep, sv = word.partition("/")
    if not sep or not bk or not sv:
        raise CommandError(REQUIRE_BS)
    backend = find_backend(runtime, bk)
    if backend is None:
        raise CommandError(NO_BACKEND)
    server = find_in_backend(backend, sv)
    if server is None:
        raise CommandError(NO_SERVER)
    return backend, server


# -- weights ----------------------------------------------------------------------------------

def parse_weight(server: ServerState, text: str, dynamic: bool) -> int:
    """server_parse_weight_change_request(): the new user weight, or CommandError."""
    if not text:
        raise CommandError(WEIGHT_REQUIRED)
    w, rest = strtol(text)
    if w is None:
        raise CommandError(WEIGHT_GARBAGE)
    if rest == "%":
        if w < 0:
            raise CommandError(WEIGHT_RELATIVE)
        w = min(server.iweight * min(w, 25600) // 100, 256)
    elif w < 0 or w > 256:
        raise CommandError(WEIGHT_ABSOLUTE)
    elif rest:
        raise CommandError(WEIGHT_TRAILING)
    if w and w != server.iweight and not dynamic:
        raise CommandError(WEIGHT_STATIC)
    return w


def apply_weight(backend: BackendState, server: ServerState, text: str, now: float) -> None:
    weight = parse_weight(server, text, backend.balancer.is_dynamic())
    server.set_weight(weight, now)
    backend.server_changed(server, now)


# -- admin state ------------------------------------------------------------------------------

def _prefix(server: ServerState) -> str:
    return f"{'Backup ' if server.backup else ''}Server {server.backend}/{server.name}"


def _left(backend: BackendState, server: ServerState, requeued: int) -> str:
    act, bck = backend.counts()
    on_backup = " Running on backup." if bck and not act else ""
    return (f". {act} active and {bck} backup servers left.{on_backup} {server.cur_sess} sessions active,"
            f" {requeued} requeued, {len(server.queue)} remaining in queue.")


def _online(backend: BackendState, server: ServerState, requeued: int) -> str:
    act, bck = backend.counts()
    on_backup = " Running on backup." if bck and not act else ""
    return (f". {act} active and {bck} backup servers online.{on_backup} {requeued} sessions requeued,"
            f" {len(server.queue)} total in queue.")


def _to_maint(backend: BackendState, server: ServerState, was_up: bool, requeued: int) -> Log:
    if not was_up:
        return [("notice", f"{_prefix(server)} was DOWN and now enters maintenance.")]
    return [("alert", f"{_prefix(server)} is going DOWN for maintenance{_left(backend, server, requeued)}")]


def _leave_maint(backend: BackendState, server: ServerState, was_up: bool, requeued: int) -> Log:
    state = "DOWN" if not server.op_up else ("UP/DRAIN" if server.admin == DRAIN else "UP/READY")
    lines = [("notice", f"{_prefix(server)} is {state} (leaving forced maintenance).")]
    if server.admin == DRAIN:
        lines.append(("notice", f"{_prefix(server)} remains in forced drain mode."))
    return lines


def _to_drain(backend: BackendState, server: ServerState, was_up: bool, requeued: int) -> Log:
    tail = _online(backend, server, requeued) if server.op_up else _left(backend, server, requeued)
    return [("notice", f"{_prefix(server)} enters drain state{tail}")]


def _leave_drain(backend: BackendState, server: ServerState, was_up: bool, requeued: int) -> Log:
    return [("notice", f"{_prefix(server)} is {'UP' if server.op_up else 'DOWN'} (leaving forced drain).")]


_LogBuilder = Callable[[BackendState, ServerState, bool, int], Log]

# (old admin state, new admin state) -> the lines srv_update_status() logs
_ADMIN_LOGS: dict[tuple[str, str], _LogBuilder] = {
    (READY, MAINT): _to_maint,
    (DRAIN, MAINT): _to_maint,
    (MAINT, READY): _leave_maint,
    (MAINT, DRAIN): _leave_maint,
    (READY, DRAIN): _to_drain,
    (DRAIN, READY): _leave_drain,
}


def unchecked_health(ctx: Any) -> dict[tuple[str, str], int]:
    """The check health HAProxy keeps even for servers without `check`, once something changed
    it: maintenance or `set server health down` zero it, `health up|stopping` sets it to
    rise+fall-1 (`show servers state` shows it; the default is `rise`)."""
    store = getattr(ctx, "unchecked_health", None)
    if store is None:
        store = {}
        setattr(ctx, "unchecked_health", store)
    return store


def apply_admin(ctx: Any, backend: BackendState, server: ServerState, action: str, now: float) -> Log:
    """`set server state`, `enable/disable server`: change, rebalance, and say what to log."""
    old = server.admin
    new = ADMIN_TRANSITIONS[action]
    if old == new:
        return []
    was_up = server.op_up
    had_servers = backend.is_up
    user_checks = server.health is not None and not server.checks_off
    if new == MAINT and server.health is None:
        unchecked_health(ctx)[backend.name, server.name] = 0
    elif new == MAINT:
        server.health.force(False)  # HAProxy: health 0, STOPPED, checks paused
    elif old == MAINT and server.health is not None:
        if user_checks:
            server.health.resume()  # "start OK but check immediately"
        else:
            server.health.up = True
    server.set_admin(action, now)
    requeued = backend.server_changed(server, now)
    lines = _ADMIN_LOGS[old, new](backend, server, was_up, requeued)
    if new == MAINT:
        ctx_hook(ctx, "on_server_maint", server)
    if had_servers and not backend.is_up:
        lines.append(("emerg", backend_down_message(backend.name, kind=backend.spec.kind)))
    return lines


def apply_health(ctx: Any, backend: BackendState, server: ServerState, word: str, now: float) -> Log:
    """`set server health up|stopping|down`: force the check result, as a check transition
    would (health rise+fall-1, or 0 for down). A server without `check` is forced too: it stays
    DOWN until the operator says `up`. Logged only when the state changes, as HAProxy does."""
    if word not in ("up", "stopping", "down"):
        raise CommandError(HEALTH_USAGE)
    had_servers = backend.is_up
    before = _op_state(server)
    if server.health is not None:
        flip = server.health.force(word != "down")
    else:
        was_up, now_up = not server.forced_down, word != "down"
        server.forced_down = not now_up
        unchecked_health(ctx)[backend.name, server.name] = server.spec.rise + server.spec.fall - 1 if now_up else 0
        flip = None if was_up == now_up else ("up" if now_up else "down")
    sessions = server.cur_sess
    if flip:
        server.on_health_transition(flip, now)
    server.stopping = word == "stopping"
    server.refresh(now)
    requeued = backend.server_changed(server, now)
    if flip == "down":
        ctx_hook(ctx, "on_server_maint", server)  # the idle pool goes, as on a check failure
    if server.admin == MAINT or _op_state(server) == before:
        return []  # HAProxy logs nothing for a server in maintenance, or when nothing changed
    act, bck = backend.counts()
    lines = [("alert" if word == "down" else "notice", transition_message(
        backend.name, server.name, word, None, active_left=act, backup_left=bck, sessions_active=sessions,
        requeued=requeued, queue_remaining=len(server.queue),
        reason_override="changed from CLI", backup=server.backup))]
    if had_servers and not backend.is_up:
        lines.append(("emerg", backend_down_message(backend.name, kind=backend.spec.kind)))
    return lines


def _op_state(server: ServerState) -> str:
    if not server.op_up:
        return "down"
    return "stopping" if server.stopping else "up"


def ctx_hook(ctx: Any, name: str, *args: Any) -> None:
    hook = getattr(ctx, name, None)
    if hook is not None:
        hook(*args)


def _log(ctx: Any, lines: Log) -> None:
    for level, text in lines:
        ctx_hook(ctx, "log", level, text)


# -- commands ---------------------------------------------------------------------------------

_STATE_ACTIONS = {"ready": "ready", "drain": "drain", "maint": "maint"}


def _set_state(ctx: Any, backend: BackendState, server: ServerState, args: Args) -> None:
    action = _STATE_ACTIONS.get(args.at(4))
    if action is None:
        raise CommandError(STATE_USAGE)
    _log(ctx, apply_admin(ctx, backend, server, action, ctx.now()))


def _set_health(ctx: Any, backend: BackendState, server: ServerState, args: Args) -> None:
    _log(ctx, apply_health(ctx, backend, server, args.at(4), ctx.now()))


def _set_weight(ctx: Any, backend: BackendState, server: ServerState, args: Args) -> None:
    apply_weight(backend, server, args.at(4), ctx.now())


# `set server <b>/<s> <what> ...`: what -> handler (agent*, check-addr, fqdn and ssl are not
# supported yet: they answer the usage line, as an unknown word does)
_SET_SERVER: dict[str, Callable[[Any, BackendState, ServerState, Args], str | None]] = {
    "state": _set_state,
    "health": _set_health,
    "weight": _set_weight,
    "addr": set_addr,
    "check-port": set_check_port,
}


@command(("set", "server"), "set server <bk>/<srv> [opts]            : change a server's state, weight, address or ssl", "admin")
def set_server(ctx: Any, args: Args, payload: str | None, session: Session) -> str | None:
    backend, server = find_server(ctx.runtime, args.at(2))
    handler = _SET_SERVER.get(args.at(3))
    if handler is None:
        raise CommandError(SET_SERVER_USAGE)
    return handler(ctx, backend, server, args)


@command(("get", "weight"), "get weight <bk>/<srv>                   : report a server's current weight")
def get_weight(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    bk, _, sv = args.at(2).partition("/")
    if not sv:  # no '/' or nothing after it; an empty backend part is "No such backend."
        raise CommandError(REQUIRE_BS)
    backend = find_backend(ctx.runtime, bk)
    if backend is None:
        raise CommandError(NO_BACKEND)
    server = find_in_backend(backend, sv)
    if server is None:
        raise CommandError(NO_SERVER)
    return info(f"{server.uweight} (initial {server.iweight})\n")


@command(("set", "weight"), "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)", "admin")
def set_weight(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    backend, server = find_server(ctx.runtime, args.at(2))
    apply_weight(backend, server, args.at(3), ctx.now())


@command(("disable", "server"), "disable server (DEPRECATED)             : disable a server for maintenance (use 'set server' instead)", "admin")
@command(("enable", "server"), "enable server  (DEPRECATED)             : enable a disabled server (use 'set server' instead)", "admin")
def enable_disable_server(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    backend, server = find_server(ctx.runtime, args.at(2))
    _log(ctx, apply_admin(ctx, backend, server, args[0], ctx.now()))


@command(("disable", "health"), "disable health                          : disable health checks", "admin")
@command(("enable", "health"), "enable health                           : enable health checks", "admin")
def enable_disable_health(ctx: Any, args: Args, payload: str | None, session: Session) -> None:
    backend, server = find_server(ctx.runtime, args.at(2))
    if args[0] == "enable" and server.health is None:
        raise CommandError(HEALTH_NOT_CONFIGURED)
    server.set_checks(args[0] == "enable")
