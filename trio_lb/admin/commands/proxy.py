"""`show servers state` and `show backend` (HAProxy 2.6 src/proxy.c CLI keywords).

`show servers state` is the file format of `server-state-file`: a version line `1`, the column
header, then one row per server of every backend (config order) with HAProxy's numeric codes:
operational state, admin flag bits, check status/result/health/state bits. The codes are derived
from the runtime state by the small functions below (verified against a live 2.6.12, see
tests/admin/test_server_commands.py); a backend without servers adds no row.
"""

from __future__ import annotations

from typing import Any

from trio_lb.admin.commands.server import find_backend, unchecked_health
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.state.health import STATUSES
from trio_lb.state.proxies import BackendState
from trio_lb.state.servers import DRAIN, MAINT, ServerState

STATE_FILE_VERSION = "1"
COLUMNS = (
    "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
    "srv_check_port srv_check_addr srv_agent_addr srv_agent_port"
)
NO_BACKEND = "Can't find backend.\n"

# srv_op_state (SRV_ST_*)
ST_STOPPED, ST_STARTING, ST_RUNNING, ST_STOPPING = 0, 1, 2, 3
# srv_admin_state bits (SRV_ADMF_*)
ADMF_FMAINT, ADMF_CMAINT, ADMF_FDRAIN = 0x01, 0x04, 0x08
# srv_check_state bits (CHK_ST_*)
CHK_CONFIGURED, CHK_ENABLED, CHK_PAUSED = 0x02, 0x04, 0x08
# srv_check_result (CHK_RES_*)
CHECK_RESULTS = {"unknown": 0, "neutral": 1, "failed": 2, "passed": 3, "condpass": 4}
INI = STATUSES["INI"]


def op_state(server: ServerState, now: float) -> int:
    if server.admin == MAINT or not server.op_up:
        return ST_STOPPED
    if server.stopping:
        return ST_STOPPING
    return ST_STARTING if now < server.slowstart_until else ST_RUNNING


def admin_state(server: ServerState) -> int:
    """FMAINT/FDRAIN for the operator's state, plus CMAINT for a server the config says is
    `disabled`: HAProxy 2.6 never clears that bit (`enable server` leaves it, showing 4)."""
    bits = ADMF_CMAINT if server.spec.disabled else 0
    if server.admin == MAINT:
        return bits | ADMF_FMAINT
    return bits | (ADMF_FDRAIN if server.admin == DRAIN else 0)


def user_checks(ctx: Any, backend: BackendState, server: ServerState) -> bool:
    """Checks configured and not turned off by `disable health` (maintenance only pauses them)."""
    return server.health is not None and not server.checks_off


def check_state(ctx: Any, backend: BackendState, server: ServerState) -> int:
    if server.health is None:  # only the config's `disabled` pauses a check that does not exist,
        return CHK_PAUSED if server.spec.disabled else 0  # and for good (verified on 2.6.12)
    if not user_checks(ctx, backend, server):
        return CHK_CONFIGURED
    return CHK_CONFIGURED | CHK_ENABLED | (CHK_PAUSED if server.admin == MAINT else 0)


def check_fields(ctx: Any, backend: BackendState, server: ServerState) -> tuple[int, int, int]:
    """(srv_check_status, srv_check_result, srv_check_health)."""
    health = server.health
    if health is None:
        default = 0 if server.spec.disabled else server.spec.rise
        return INI.number, CHECK_RESULTS[INI.result], unchecked_health(ctx).get((backend.name, server.name), default)
    last = STATUSES.get(health.last.status, STATUSES["UNK"]) if health.last is not None else INI
    return last.number, CHECK_RESULTS[last.result], 0 if server.admin == MAINT else health.health


def server_row(ctx: Any, backend: BackendState, server: ServerState, now: float) -> str:
    spec = server.spec
    status, result, health = check_fields(ctx, backend, server)
    fields = (
        backend.id, backend.name, server.id, server.name, server.host or "-",
        op_state(server, now), admin_state(server), server.uweight, server.iweight,
        max(0, int(now - server.last_change)), status, result, health,
        check_state(ctx, backend, server), 0,  # agent checks are not supported
        0, 1 if spec.options.get("forced_id") else 0,  # forced ids (a backend's `id` is not recorded)
        "-", server.port if server.port is not None else server.port_offset & 0xFFFF, "-",
        1 if spec.options.get("ssl") else 0, server.check_port or 0, spec.check_addr or "-", "-",
        spec.check_port or 0,  # 2.6.12 prints the configured `port` as the agent port too
    )
    return " ".join(map(str, fields))


def servers_state(ctx: Any, backends: list[BackendState], now: float) -> str:
    lines = [STATE_FILE_VERSION, f"# {COLUMNS}"]
    for backend in backends:
        lines.extend(server_row(ctx, backend, server, now) for server in backend.servers)
    return "\n".join(lines) + "\n"


@command(("show", "servers", "state"), "show servers state [<backend>]          : dump volatile server information (all or for a single backend)")
def show_servers_state(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    if args.at(3):
        backend = find_backend(ctx.runtime, args.at(3))
        if backend is None:
            raise CommandError(NO_BACKEND)
        backends = [backend]
    else:
        backends = list(ctx.runtime.backends.values())
    return servers_state(ctx, backends, ctx.now())


@command(("show", "backend"), "show backend                            : list backends in the current running config")
def show_backend(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return "# name\n" + "".join(f"{name}\n" for name in ctx.runtime.backends)
