"""`show cli sockets` and `show servers conn` (HAProxy 2.6 src/cli.c, src/proxy.c).

`show cli sockets` lists the bound stats sockets with their level, addresses written with their
family prefix as 2.6.12 does (`unix@<path>`, `ipv4@<ip>:<port>`, `ipv6@[<ip>]:<port>`), then
`all` (the processes column, one process here).

`show servers conn` is HAProxy's idle-connection pool view, one row per server. trio-lb's pool
is `ServerState.idle`, per server and in one thread: a pooled connection that already served a
reused request counts as "safe", the others as "unsafe" (HAProxy's idle and safe lists), the
connections in use are the server's current sessions, and its needed-connections estimate is
the highest number of sessions seen (HAProxy's est_need_conns is its recent maximum).
"""

from __future__ import annotations

from typing import Any

from trio_lb.admin.commands.server import find_backend
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.config.units import parse_time
from trio_lb.errors import CommandError
from trio_lb.state.proxies import BackendState
from trio_lb.state.servers import ServerState

CLI_SOCKETS_HEADER = "# socket lvl processes\n"
NO_BACKEND = "Can't find backend.\n"
DEFAULT_PURGE_DELAY_MS = 5000
THREADS = 1  # trio-lb runs one event loop (show info says Nbthread: 1)
SERVERS_CONN_HEADER = (
    "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb "
    f"safe_nb idle_lim idle_cur idle_per_thr[{THREADS}]\n"
)


# -- show cli sockets -------------------------------------------------------------------------

def socket_address(spec: Any, bound: Any) -> str:
    """The listener's address as 2.6.12 prints it: the configured path of a unix socket, the
    bound address and port of a TCP one."""
    kind = getattr(spec, "kind", "unix")
    if kind == "unix":
        return f"unix@{bound if isinstance(bound, str) else spec.address}"
    host, port = (bound[0], bound[1]) if isinstance(bound, tuple) else spec.address
    return f"ipv6@[{host}]:{port}" if kind == "ipv6" else f"ipv4@{host}:{port}"


def cli_sockets(admin_sockets: list[tuple[Any, Any]]) -> str:
    lines = [f"{socket_address(spec, bound)} {spec.level} all\n" for spec, bound in admin_sockets]
    return CLI_SOCKETS_HEADER + "".join(lines)


@command(("show", "cli", "sockets"), "show cli sockets                        : dump list of cli sockets")
def show_cli_sockets(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return cli_sockets(getattr(ctx, "admin_sockets", []))


# -- show servers conn ------------------------------------------------------------------------

def _purge_delay_ms(server: ServerState) -> int:
    value = server.spec.options.get("pool-purge-delay")
    if value is None:
        return DEFAULT_PURGE_DELAY_MS
    try:
        return int(parse_time(str(value)) * 1000)
    except ValueError:
        return DEFAULT_PURGE_DELAY_MS


def _idle_limit(server: ServerState) -> int:
    value = server.spec.options.get("pool-max-conn")
    try:
        return int(value) if value is not None else -1
    except ValueError:
        return -1


def server_conn_row(backend: BackendState, server: ServerState) -> str:
    safe = sum(1 for conn in server.idle if getattr(conn, "reused", False))
    unsafe = len(server.idle) - safe
    peak = server.counters.smax
    # a server from `add server` has none of the pool defaults in 2.6.12 (no purge delay, no
    # idle limit) and so no per-thread idle lists to print
    dynamic = bool(server.spec.options.get("dynamic"))
    fields = (
        f"{backend.name}/{server.name}", f"{backend.id}/{server.id}", server.host or "-", server.port or 0,
        "-", 0 if dynamic else _purge_delay_ms(server), server.cur_sess, peak, peak, unsafe, safe,
        0 if dynamic else _idle_limit(server), len(server.idle), *([] if dynamic else [len(server.idle)] * THREADS),
    )
    return " ".join(map(str, fields)) + "\n"


def servers_conn(backends: list[BackendState]) -> str:
    rows = [server_conn_row(backend, server) for backend in backends for server in backend.servers]
    return SERVERS_CONN_HEADER + "".join(rows)


@command(("show", "servers", "conn"), "show servers conn [<backend>]           : dump server connections status (all or for a single backend)")
def show_servers_conn(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    if args.at(3):
        backend = find_backend(ctx.runtime, args.at(3))
        if backend is None:
            raise CommandError(NO_BACKEND)
        return servers_conn([backend])
    return servers_conn(list(ctx.runtime.backends.values()))
