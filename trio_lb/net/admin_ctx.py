"""What admin commands may ask the running daemon: its Runtime, the clock, process facts.

The commands (trio_lb/admin/commands/) are pure and never import trio; this small object is
the one place where they reach the event loop's clock and statistics, and the hooks through
which they act on the I/O side: `log(level, message)` (the daemon wires its ProcessLog.emit into
`emit`; unwired it does nothing), `on_server_maint(server)` (closes the idle pooled
connections of a server leaving service), and `on_server_added` / `on_server_removed` (start and
stop the health checks of dynamic servers).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable

import trio

from trio_lb.admin.commands.activity import Pool
from trio_lb.net.health_tasks import Checks
from trio_lb.net.upstream import drop_idle
from trio_lb.state.proxies import BackendState, Runtime
from trio_lb.state.servers import ServerState
from trio_lb.stats import ProcessInfo

Emit = Callable[[str, str], None]  # (syslog level, message)


class AdminContext:
    def __init__(self, runtime: Runtime, emit: Emit | None = None, checks: Checks | None = None) -> None:
        self.runtime = runtime
        self.emit = emit  # the daemon wires ProcessLog.emit here
        self.checks = checks
        self.cli_sessions = 0
        self.admin_sockets: list[tuple[object, object]] = []  # (StatsSocket spec, bound path or (host, port))
        self._cpu = (time.monotonic(), time.process_time())
        self._idle = 100

    def now(self) -> float:
        return trio.current_time()

    def wall_time(self) -> float:
        return time.time()

    def log(self, level: str, message: str) -> None:
        """A state change worth a log line, as HAProxy writes it (no trailing LF)."""
        if self.emit is not None:
            self.emit(level, message)

    def on_server_maint(self, server: ServerState) -> None:
        """A server left service (maintenance, forced down): close its idle pooled connections."""
        drop_idle(server)

    def on_server_added(self, backend: BackendState, server: ServerState) -> None:
        if self.checks is not None:
            self.checks.start(backend, server)  # paused until `enable health`

    def on_server_removed(self, backend: BackendState, server: ServerState) -> None:
        if self.checks is not None:
            self.checks.stop(server)
        drop_idle(server)

    def activity(self) -> list[tuple[str, int]]:
        """`show activity`: counters that mean something for one trio event loop."""
        stats = trio.lowlevel.current_statistics()
        io = stats.io_statistics
        usage = resource.getrusage(resource.RUSAGE_SELF)
        rt = self.runtime
        return [
            ("accepted", rt.cum_conns),
            ("requests", rt.cum_reqs),
            ("streams", len(rt.streams)),
            ("streams_killed", rt.streams.killed),
            ("tasks", stats.tasks_living),
            ("run_queue", stats.tasks_runnable),
            ("io_waits", getattr(io, "tasks_waiting_read", 0) + getattr(io, "tasks_waiting_write", 0)),
            ("ctxsw", usage.ru_nvcsw + usage.ru_nivcsw),  # the process's, from getrusage()
            ("cpu_ms", int((usage.ru_utime + usage.ru_stime) * 1000)),
        ]

    def pools(self) -> list[Pool]:
        """`show pools`: the per-connection objects alive now, one "pool" per kind."""
        rt = self.runtime
        by_kind: dict[str, list[object]] = {}
        for _, stream in rt.streams:
            by_kind.setdefault(type(stream).__name__, []).append(stream)
        for backend in rt.backends.values():
            for server in backend.servers:
                by_kind.setdefault("ServerConn", []).extend(server.idle)
        return [Pool(kind, _object_size(objs[0]), len(objs), id(type(objs[0])))
                for kind, objs in by_kind.items() if objs]

    def process_info(self) -> ProcessInfo:
        stats = trio.lowlevel.current_statistics()
        return ProcessInfo(epoch=time.time(), tasks=stats.tasks_living, run_queue=stats.tasks_runnable,
                           idle_pct=self._idle_pct(), cli_sessions=max(1, self.cli_sessions))

    def _idle_pct(self) -> int:
        """Idle share since the last ask, from the process's CPU time (HAProxy's Idle_pct)."""
        wall, cpu = time.monotonic(), time.process_time()
        last_wall, last_cpu = self._cpu
        if wall - last_wall >= 0.5:
            busy = (cpu - last_cpu) / (wall - last_wall)
            self._idle = max(0, min(100, int(round(100 * (1 - busy)))))
            self._cpu = (wall, cpu)
        return self._idle

    @property
    def environ(self) -> dict[str, str]:
        """`show env`: the process environment plus the config's setenv/presetenv results."""
        return {**os.environ, **self.runtime.config.global_.env}


def _object_size(obj: object) -> int:
    """An object's size with its attribute dict, as sys.getsizeof() reports them."""
    size = sys.getsizeof(obj)
    attrs = getattr(obj, "__dict__", None)
    return size + (sys.getsizeof(attrs) if attrs is not None else 0)
