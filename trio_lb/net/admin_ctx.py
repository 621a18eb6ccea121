"""What admin commands may ask the running daemon: its Runtime, the clock, process facts.

The commands (trio_lb/admin/commands/) are pure and never import trio; this small object is
the one place where they reach the event loop's clock and statistics.
"""

from __future__ import annotations

import os
import time

import trio

from trio_lb.state.proxies import Runtime
from trio_lb.stats import ProcessInfo


class AdminContext:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.cli_sessions = 0
        self._cpu = (time.monotonic(), time.process_time())
        self._idle = 100

    def now(self) -> float:
        return trio.current_time()

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
