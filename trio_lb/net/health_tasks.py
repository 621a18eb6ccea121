"""One health-check task per checked server, wired to the runtime state.

The probes and the rise/fall loop live in net/checks.py and state/health.py; this module decides
the timeouts as HAProxy does, applies each transition to the server and its backend (rebalance,
redispatch the queue, drop pooled connections) and writes HAProxy's log lines for it.
"""

from __future__ import annotations

from typing import Any, Callable

import trio

from trio_lb.net.checks import check_loop
from trio_lb.net.upstream import drop_idle
from trio_lb.state.health import CheckResult, backend_down_message, check_timeouts, transition_message
from trio_lb.state.proxies import BackendState, Runtime
from trio_lb.state.servers import ServerState

Emit = Callable[[str, str], None]  # (level, message)


def apply_result(backend: BackendState, server: ServerState, result: CheckResult, transition: str | None,
                 emit: Emit) -> None:
    """Record one check result; on a transition, move traffic and log as HAProxy does."""
    if not result.ok:
        server.counters.chkfail += 1
    if transition is None and result.ok and server.stopping and server.health.health >= server.health.rise:
        transition = "up"  # a passing check ends NOLB (HAProxy's check_notify_success)
    if transition is None:
        return
    now = trio.current_time()
    was_up = backend.is_up
    server.on_health_transition(transition, now)
    sessions = server.cur_sess
    requeued = backend.server_changed(server, now)
    if transition == "down":
        drop_idle(server)
    act, bck = backend.counts()
    level = "alert" if transition == "down" else "notice"
    emit(level, transition_message(backend.name, server.name, transition, result, active_left=act,
                                   backup_left=bck, sessions_active=sessions, requeued=requeued,
                                   queue_remaining=backend.queued(), backup=server.backup))
    if was_up and not backend.is_up:
        kind = "listen" if backend.spec.kind == "listen" else "backend"
        emit("emerg", backend_down_message(backend.name, kind=kind))


class Checks:
    """The running check tasks, one per checked server; `add server` / `del server` start and
    stop them while the daemon runs."""

    def __init__(self, nursery: trio.Nursery, emit: Emit, spread: int, tls: dict | None = None) -> None:
        self.nursery = nursery
        self.emit = emit
        self.spread = spread
        self.tls = tls if tls is not None else {}  # (backend, server) -> ServerTLS of check-ssl checks
        self.scopes: dict[ServerState, trio.CancelScope] = {}

    def start(self, backend: BackendState, server: ServerState, index: int = 0, count: int = 1) -> None:
        if server.health is None or server in self.scopes:
            return
        scope = self.scopes[server] = trio.CancelScope()

        async def run() -> None:
            with scope:
                await _one(backend, server, self.emit, index, count, self.spread,
                           self.tls.get((backend.name, server.name)))

        self.nursery.start_soon(run)

    def stop(self, server: ServerState) -> None:
        scope = self.scopes.pop(server, None)
        if scope is not None:
            scope.cancel()


async def run_checks(runtime: Runtime, emit: Emit, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Start every server's check loop; `started()` gets the Checks; runs until cancelled."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ramp_slowstart, runtime)
        spread = int(runtime.config.global_.settings.get("spread-checks", 0) or 0)
        tls_runtime = getattr(runtime, "tls", None)
        checks = Checks(nursery, emit, spread, tls_runtime.checks if tls_runtime is not None else None)
        for backend in runtime.backends.values():
            checked = [s for s in backend.servers if s.health is not None]
            for i, server in enumerate(checked):
                checks.start(backend, server, i, len(checked))
        task_status.started(checks)


# How often a server in slowstart gets its weight re-evaluated (HAProxy steps its warmup too).
RAMP_STEP = 0.25


async def ramp_slowstart(runtime: Runtime) -> None:
    """Raise the effective weight of servers in their slowstart window, step by step."""
    ramping: set[ServerState] = set()
    while True:
        await trio.sleep(RAMP_STEP)
        now = trio.current_time()
        for backend in runtime.backends.values():
            for server in backend.servers:
                if now < server.slowstart_until or server in ramping:
                    before = server.eweight
                    server.refresh(now)
                    if server.eweight != before:
                        backend.server_changed(server, now)
                    if now < server.slowstart_until:
                        ramping.add(server)
                    else:
                        ramping.discard(server)


async def _one(backend: BackendState, server: ServerState, emit: Emit, index: int, count: int, spread: int,
               tls: Any = None) -> None:
    spec = server.spec
    t = backend.spec.timeouts
    connect_timeout, timeout, total = check_timeouts(spec.inter, t.connect, t.check)

    def target() -> tuple[str, int]:  # read at each check: `set server addr|check-port` apply at once
        return spec.check_addr or server.host, server.check_port or server.port or 80

    # spread the first checks of a backend over its first interval, as HAProxy does
    first_delay = spec.inter * index / count if count > 1 else 0.0

    def on_result(result: CheckResult, transition: str | None) -> None:
        apply_result(backend, server, result, transition, emit)

    await check_loop(backend.spec.check, target, server.health, timeout=timeout,
                     connect_timeout=connect_timeout, enabled=lambda: server.checks_enabled,
                     on_result=on_result, first_delay=first_delay, total=total,
                     spread_pct=spread, tls=tls)

