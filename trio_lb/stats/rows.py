"""The objects `show stat` reports on, one `Row` per line, in HAProxy's order.

Theory of operation
-------------------
HAProxy's stats.c walks the proxies in configuration order and, for each, dumps the FRONTEND
line (frontend capability), the listener lines (only with `option socket-stats`), the server
lines, then the BACKEND line (backend capability). `iter_rows` reproduces that walk and the
`show stat <iid> <type> <sid>` / `up` / `no-maint` filters (selection.StatFilter), and yields a
`Row` per line: the row kind ("F", "L", "B", "S"), the proxy, the runtime object and `now`.
The column getters (columns.py) read a Row; this module also holds the few values HAProxy
derives from several objects at once, computed here once per row:

* `lb_summary`: HAProxy's recount_servers() + update_backend_weight(): the backend weight,
  user weight and active/backup counts that the BACKEND line and its UP/DOWN status show;
* `fullconn`: a backend's `slim` when `fullconn` is not set: 10% of the maxconn of the
  frontends that can route to it (proxy_adjust_all_maxconn());
* `listener_views`: listener ids (`sock-<n>` names) numbered as HAProxy numbers them.

Nothing here reads the clock or touches a socket: `now` comes from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

from trio_lb.config.model import Bind, Config, Proxy
from trio_lb.state.counters import Counters
from trio_lb.state.servers import DRAIN, MAINT
from trio_lb.stats.selection import StatFilter

if TYPE_CHECKING:
    from trio_lb.state.proxies import BackendState, FrontendState, Runtime
    from trio_lb.state.servers import ServerState

# row kind -> the `type` column value
TYPE_CODES: dict[str, int] = {"F": 0, "B": 1, "S": 2, "L": 3}


class ListenerView(NamedTuple):
    """One listening address of a frontend with `option socket-stats`."""

    bind: Bind
    luid: int  # the `sid` column
    name: str  # the `svname` column: `bind ... name <n>` or "sock-<luid>"
    counters: Counters
    cur_sess: int


class LbSummary(NamedTuple):
    weight: int  # sum of effective weights of the servers the backend balances on
    uweight: int  # the same with user weights
    act: int  # usable active servers (non-zero weight)
    bck: int  # usable backup servers (non-zero weight)


@dataclass
class Row:
    """One line of `show stat`: what the column getters read."""

    kind: str  # "F" frontend, "L" listener, "B" backend, "S" server
    proxy: Proxy
    runtime: Runtime
    now: float
    legends: bool = True  # addr/cookie/algo visible (CLI level >= operator, `stats show-legends`)
    counted_status: bool = False  # `up`/`no-maint`: BACKEND status becomes "UP (n/m)"
    frontend: FrontendState | None = None
    backend: BackendState | None = None
    server: ServerState | None = None
    listener: ListenerView | None = None
    lb: LbSummary | None = None  # backend rows only
    slim: int = 0  # backend rows only: fullconn (configured or computed)

    # the objects of the row, for getters that only run on the row kinds that have them
    @property
    def fe(self) -> FrontendState:
        assert self.frontend is not None
        return self.frontend

    @property
    def be(self) -> BackendState:
        assert self.backend is not None
        return self.backend

    @property
    def srv(self) -> ServerState:
        assert self.server is not None
        return self.server

    @property
    def li(self) -> ListenerView:
        assert self.listener is not None
        return self.listener

    @property
    def weights(self) -> LbSummary:
        assert self.lb is not None
        return self.lb

    @property
    def counters(self) -> Counters:
        if self.kind == "S":
            return self.srv.counters
        if self.kind == "B":
            return self.be.counters
        if self.kind == "L":
            return self.li.counters
        return self.fe.counters

    @property
    def http(self) -> bool:
        return self.proxy.mode == "http"

    @property
    def iid(self) -> int:
        return self.proxy.id

    @property
    def sid(self) -> int:
        if self.kind == "S":
            return self.srv.id
        if self.kind == "L":
            return self.li.luid
        return 0


# --- derived values ---------------------------------------------------------------------------

def lb_summary(servers: list[ServerState], allbackups: bool) -> LbSummary:
    """What HAProxy's recount_servers() leaves in the proxy for the BACKEND line.

    The backend balances on its usable active servers; when there is none, on its backups:
    all of them with `option allbackups`, else only the first usable one (lbprm.fbck).
    """
    usable = [s for s in servers if s.usable and s.eweight > 0]
    active = [s for s in usable if not s.backup]
    backups = [s for s in usable if s.backup]
    if active:
        chosen = active
    elif backups and not allbackups:
        chosen = backups[:1]
    else:
        chosen = backups
    return LbSummary(sum(s.eweight for s in chosen), sum(s.uweight for s in chosen), len(active), len(backups))


def server_weight(server: ServerState) -> int:
    """The server `weight` column: HAProxy keeps the effective weight of a DOWN, MAINT or DRAIN
    server (it only stops picking it), so only a usable server shows its slowstart ramp. A
    dynamic server that never left maintenance shows 1: 2.6.12 has not computed it yet."""
    if server.fresh:
        return 1
    return server.eweight if server.usable else server.uweight


def server_status(server: ServerState) -> str:
    """The server `status` column: ServerState.status_text(), plus HAProxy's "DRAIN x/y" for a
    drained server whose checks are failing (srv_hlt_st's DRAIN_GOING_DOWN)."""
    health = server.health
    if server.admin == DRAIN and health is not None and health.up and health.health < health.full:
        return f"DRAIN {health.health - health.rise + 1}/{health.fall}"
    return server.status_text()


def fullconn_table(config: Config, fe_maxconn: dict[str, int]) -> dict[str, int]:
    """Backend name -> `slim`: `fullconn`, else (sum of the routing frontends' maxconn + 9) // 10.

    A frontend counts for its default_backend (or, being a `listen` without one, for itself)
    and once for each other backend named by a static use_backend rule (a name holding a `%[`
    expression is resolved per request and counts for nothing), as proxy_adjust_all_maxconn().
    """
    total: dict[str, int] = {}
    for px in config.proxies:
        if px.disabled or not px.has_frontend or px.name not in fe_maxconn:
            continue
        maxconn = fe_maxconn[px.name]
        if px.default_backend:
            total[px.default_backend] = total.get(px.default_backend, 0) + maxconn
        elif px.kind == "listen":
            total[px.name] = total.get(px.name, 0) + maxconn
        seen = {px.default_backend}
        for rule in px.use_backends:
            if "%[" in rule.backend or rule.backend in seen:
                continue
            seen.add(rule.backend)
            total[rule.backend] = total.get(rule.backend, 0) + maxconn
    table = {}
    for px in config.proxies:
        if px.has_backend:
            table[px.name] = px.fullconn or max(1, (total.get(px.name, 0) + 9) // 10)
    return table


def listener_views(frontend: FrontendState) -> list[ListenerView]:
    """The listener lines of a frontend, with HAProxy's listener ids.

    Ids: `bind ... id <n>` is kept; the others take the next free id of a counter that advances
    on every listener (the same rule as server ids). trio-lb keeps its counters per frontend,
    not per listener: a frontend with a single listener gives it the frontend's counters (they
    are the same numbers); with several, per-listener counters come from the frontend's
    `listener_counters` list when the data plane keeps one, else they read as zero.
    """
    binds = frontend.spec.binds
    used = {b.options["id"] for b in binds if b.options.get("id")}
    per_listener = getattr(frontend, "listener_counters", None)
    views = []
    next_id = 1
    for index, bind in enumerate(binds):
        luid = bind.options.get("id") or 0
        if not luid:
            while next_id in used:
                next_id += 1
            luid = next_id
            used.add(luid)
        next_id += 1
        if per_listener is not None and index < len(per_listener):
            counters, cur = per_listener[index], getattr(per_listener[index], "cur_sess", 0)
        elif len(binds) == 1:
            counters, cur = frontend.counters, frontend.cur_sess
        else:
            counters, cur = Counters(), 0
        views.append(ListenerView(bind, luid, bind.name or f"sock-{luid}", counters, cur))
    return views


# --- the walk ---------------------------------------------------------------------------------

def hidden_server(server: ServerState, flt: StatFilter) -> bool:
    """`no-maint` hides servers in maintenance; `up` also hides those DOWN and not changing."""
    if (flt.hide_maint or flt.hide_down) and server.admin == MAINT:
        return True
    if flt.hide_down and not server.op_up:
        return server.health is None or server.health.health == 0
    return False


def iter_rows(runtime: Runtime, now: float, flt: StatFilter | None = None, *,
              legends: bool = True) -> Iterator[Row]:
    """Every `show stat` line in HAProxy's order, after the filter."""
    flt = flt or StatFilter()
    fe_maxconn = {name: fe.maxconn for name, fe in runtime.frontends.items()}
    slims = fullconn_table(runtime.config, fe_maxconn)
    counted = flt.hide_down or flt.hide_maint
    for proxy in runtime.config.proxies:
        if proxy.disabled or proxy.kind == "defaults" or not flt.wants_proxy(proxy.id):
            continue

        def row(kind: str, **kw: Any) -> Row:
            return Row(kind, proxy, runtime, now, legends=legends, counted_status=counted, **kw)

        fe = runtime.frontends.get(proxy.name) if proxy.has_frontend else None
        be = runtime.backends.get(proxy.name) if proxy.has_backend else None
        if fe is not None and flt.wants_type("F"):
            yield row("F", frontend=fe)
        if fe is not None and "socket-stats" in proxy.options and flt.wants_type("L"):
            for view in listener_views(fe):
                if flt.wants_sid(view.luid):
                    yield row("L", frontend=fe, listener=view)
        if be is not None and flt.wants_type("S"):
            for server in be.servers:
                if flt.wants_sid(server.id) and not hidden_server(server, flt):
                    yield row("S", backend=be, server=server)
        if be is not None and flt.wants_type("B"):
            yield row("B", backend=be, lb=lb_summary(be.servers, proxy.allbackups),
                      slim=slims.get(proxy.name, 1))
