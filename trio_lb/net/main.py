"""The root of the running daemon: listeners, checks, signals, soft stop.

`run(config, task_status=...)` binds every frontend, starts the health checks and reports a
`Running` handle through `nursery.start`, so tests and the CLI know the bound addresses without
sleeping. Two nurseries: `services` (listeners, checks, signals) inside `sessions` (client
connections). A soft stop (SIGUSR1 or `Running.soft_stop()`) cancels the services, which closes
the listeners, and lets the sessions finish; SIGTERM/SIGINT cancel everything at once.
"""

from __future__ import annotations

import logging
from functools import partial
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import trio

from trio_lb.config.model import Config
from trio_lb.admin.registry import default_registry
from trio_lb.net import sockio, tls
from trio_lb.net.admin_ctx import AdminContext
from trio_lb.net.admin_server import serve_admin
from trio_lb.net.frontend import FrontendCtx
from trio_lb.net.health_tasks import run_checks
from trio_lb.net.http_proxy import HttpSession
from trio_lb.net.listeners import Gate, accept_loop, open_listener
from trio_lb.net.streams import run_session
from trio_lb.net.tcp_proxy import TcpSession
from trio_lb.net.upstream import drop_idle
from trio_lb.net.watchdog import Watchdog
from trio_lb.net.traffic_log import ProcessLog, make_traffic_logger
from trio_lb.state.proxies import Runtime, build_runtime

log = logging.getLogger("trio_lb")


class BindError(Exception):
    """A listener could not be bound; the message is HAProxy's `Starting frontend ...` alert."""


@dataclass
class Running:
    runtime: Runtime
    addresses: dict[str, list[tuple]] = field(default_factory=dict)  # frontend -> bound addresses
    admin: list = field(default_factory=list)  # bound stats sockets (paths or (host, port))
    soft_stop: Callable[[], None] = lambda: None
    hard_stop: Callable[[], None] = lambda: None

    def address(self, frontend: str, index: int = 0) -> tuple:
        return self.addresses[frontend][index]


def _bind_all(config: Config) -> list[tuple[Any, Any, socket.socket]]:
    bound = []
    try:
        for proxy in config.frontends:
            if proxy.disabled:
                continue
            for bind in proxy.binds:
                try:
                    sock = open_listener(bind)
                except OSError as exc:
                    where = bind.host if bind.family == "unix" else f"[{bind.host or '0.0.0.0'}:{bind.port}]"
                    raise BindError(f"Starting frontend {proxy.name}: cannot bind socket ({exc.strerror}) "
                                    f"{where}") from None
                bound.append((proxy, bind, sock))
    except BaseException:
        for _, _, sock in bound:
            sock.close()
        raise
    return bound


async def run(config: Config, *, quiet: bool = False, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Serve `config` until stopped. Raises BindError before `started()` if a bind fails."""
    bound = _bind_all(config)
    runtime = build_runtime(config, trio.current_time())
    plog = ProcessLog(config, quiet=quiet)
    running = Running(runtime)
    try:
        await _serve(config, bound, runtime, plog, running, task_status)
    finally:
        plog.close()
        for backend in runtime.backends.values():
            for server in backend.servers:
                drop_idle(server)


async def _serve(config: Config, bound: list, runtime: Runtime, plog: ProcessLog, running: Running,
                 task_status: Any) -> None:
    handlers = {"http": HttpSession, "tcp": TcpSession}
    async with trio.open_nursery() as sessions:
        running.hard_stop = sessions.cancel_scope.cancel
        async with trio.open_nursery() as services:
            running.soft_stop = services.cancel_scope.cancel
            watchdog = Watchdog()
            sessions.start_soon(watchdog.run)
            admin = AdminContext(runtime, emit=plog.emit)  # shared by the CLI and the stats pages
            ctxs: dict[str, FrontendCtx] = {}
            for proxy, bind, sock in bound:
                ctx = ctxs.get(proxy.name)
                if ctx is None:
                    logger = plog.track(make_traffic_logger(proxy, config))
                    ctx = ctxs[proxy.name] = FrontendCtx(proxy, runtime, logger, watchdog, admin)
                runtime.frontends[proxy.name].listeners.append(sock)
                running.addresses.setdefault(proxy.name, []).append(sock.getsockname())
                gate = Gate(runtime, ctx.state)
                bind_tls = _bind_tls(runtime, bind)
                name = bind.name or str(proxy.binds.index(bind) + 1)  # HAProxy: the bind's name, else its luid
                on_conn = _session_runner(handlers[proxy.mode], ctx, gate, sock.getsockname(), bind_tls, name)
                services.start_soon(accept_loop, sock, sessions, gate, on_conn)
            admin.checks = await services.start(run_checks, runtime, plog.emit)
            running.admin = await _start_admin(services, config, admin)
            services.start_soon(_signals, running)
            for proxy in config.proxies:
                plog.emit("notice", f"Proxy {proxy.name} started.", stderr=False)  # logs only, as HAProxy
            task_status.started(running)
        runtime.stopping = True
        plog.emit("warning", "Stopping: listeners closed, waiting for sessions in flight to finish.")
        hard = config.global_.hard_stop_after
        if hard is not None:
            sessions.cancel_scope.deadline = trio.current_time() + hard
        await watchdog.drain(lambda: runtime.actconn > 0)
        sessions.cancel_scope.cancel()  # only the watchdog is left


async def _start_admin(services: trio.Nursery, config: Config, ctx: AdminContext) -> list:
    """Every `stats socket`, sharing one `stats maxconn` budget as in HAProxy."""
    g = config.global_
    registry = default_registry()
    slots = trio.Semaphore(max(1, g.stats_maxconn))
    bound = []
    for spec in g.stats_sockets:
        try:
            bound.append(await services.start(partial(serve_admin, spec, registry, ctx, timeout=g.stats_timeout,
                                                      maxconn=g.stats_maxconn, slots=slots)))
            ctx.admin_sockets.append((spec, bound[-1]))
        except OSError as exc:
            kind = "UNIX" if spec.kind == "unix" else "TCP"
            where = spec.address if spec.kind == "unix" else f"{spec.address[0]}:{spec.address[1]}"
            raise BindError(f"Starting proxy GLOBAL: cannot bind {kind} socket ({exc.strerror}) [{where}]") from None
    return bound


def _bind_tls(runtime: Runtime, bind: Any) -> Any:
    """The BindTLS of a `bind ... ssl` (trio_lb.tls, built with the runtime), else None."""
    if not bind.options.get("ssl"):
        return None
    tls_runtime = getattr(runtime, "tls", None)
    if tls_runtime is None or id(bind) not in tls_runtime.binds:
        raise BindError(f"bind {bind.host}:{bind.port} has 'ssl' but no TLS context was built")
    return tls_runtime.binds[id(bind)]


def _session_runner(session_cls: type, ctx: FrontendCtx, gate: Gate, local: tuple, bind_tls: Any = None,
                    bind_name: str = "") -> Any:
    local2 = (local[0], local[1]) if len(local) >= 2 else (str(local), 0)

    async def on_conn(conn: socket.socket, peer: Any) -> None:
        peer2 = (peer[0], peer[1]) if isinstance(peer, tuple) else ("unix", 0)
        sock = conn
        try:
            if bind_tls is not None:
                try:
                    sock = tls.wrap_server(conn, bind_tls.context)  # owns the fd from now on
                except (OSError, ValueError):
                    return
            await run_session(session_cls, sock, peer2, local2, ctx, bind_tls, bind_name)
        except Exception:  # a bug in one session must never take the daemon down
            log.exception("session from %s:%s failed", *peer2)
        finally:
            sockio.close(sock)
            sockio.close(conn)
            gate.leave()

    return on_conn


async def _signals(running: Running) -> None:
    sigs = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}
    with trio.open_signal_receiver(*sigs) as receiver:
        async for signum in receiver:
            if signum == signal.SIGUSR1:
                running.soft_stop()
            else:
                running.hard_stop()


def serve(config: Config, *, quiet: bool = False, on_started: Callable[[Running], None] | None = None) -> int:
    """Blocking entry point used by the CLI."""

    code = 0

    async def main() -> None:
        nonlocal code
        async with trio.open_nursery() as nursery:
            running = None
            try:
                running = await nursery.start(lambda task_status: run(config, quiet=quiet, task_status=task_status))
            except* BindError as group:
                for exc in _leaves(group):
                    print(f"[ALERT]    ({_pid()}) : {exc}", file=sys.stderr)
                code = 1
            if running is None:
                return
            if on_started is not None:
                on_started(running)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
    return code


def _leaves(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for exc in group.exceptions for leaf in _leaves(exc)]
    return [group]


def _pid() -> int:
    import os

    return os.getpid()
