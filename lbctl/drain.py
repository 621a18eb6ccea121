"""Draining a server before a restart, over the Runtime API.

How it works: `set server <b>/<s> state drain` takes the server out of load balancing (it keeps its
current sessions, and its health checks). The server's `scur` (current sessions) and `qcur`
(queued requests) are then polled from `show stat <b> 4 -1` (that backend's server rows only)
every `interval` seconds, reporting each poll through `on_progress`; when both are 0 nothing uses
the server any more and `set server <b>/<s> state maint` makes it safe to stop. If `timeout`
passes first the server is left in drain and drain() returns False. Sleeping and the clock are
parameters so that tests run the loop without waiting.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

from lbctl.client import Client, ServerError, is_error
from lbctl.render import parse_stat


@dataclass
class Progress:
    scur: int
    qcur: int
    elapsed: float
    status: str


def _set_state(client: Client, backend: str, server: str, state: str) -> None:
    command = f"set server {backend}/{server} state {state}"
    reply = client.run(command)
    if is_error(command, reply):
        raise ServerError(command, reply)


def _server_row(client: Client, backend: str, server: str) -> dict[str, str]:
    command = f"show stat {backend} 4 -1"
    reply = client.run(command)
    if is_error(command, reply):
        raise ServerError(command, reply)
    for row in parse_stat(reply):
        if row.get("pxname") == backend and row.get("svname") == server:
            return row
    raise ServerError(command, "No such server.\n")


def _count(value: str) -> int:
    return int(value) if value.strip().isdigit() else 0


def drain(client: Client, backend: str, server: str, *, timeout: float | None,
          on_progress: Callable[[Progress], None] = lambda p: None, interval: float = 0.25,
          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> bool:
    """Drain `backend/server`, then put it in maint; False (left in drain) if `timeout` runs out.
    Raises ServerError when the server rejects a command (unknown server, not admin...)."""
    start = clock()
    _set_state(client, backend, server, "drain")
    while True:
        row = _server_row(client, backend, server)
        progress = Progress(_count(row.get("scur", "")), _count(row.get("qcur", "")), clock() - start,
                            row.get("status", ""))
        on_progress(progress)
        if progress.scur == 0 and progress.qcur == 0:
            _set_state(client, backend, server, "maint")
            return True
        if timeout is not None and progress.elapsed >= timeout:
            return False
        sleep(interval if timeout is None else max(0.0, min(interval, timeout - progress.elapsed)))


def ready(client: Client, backend: str, server: str) -> None:
    """`set server <b>/<s> state ready` (raises ServerError on an error reply)."""
    _set_state(client, backend, server, "ready")


def split_target(target: str) -> tuple[str, str]:
    """`<backend>/<server>` -> (backend, server); ValueError otherwise."""
    backend, sep, server = target.partition("/")
    if not sep or not backend or not server:
        raise ValueError(f"expected <backend>/<server>, got {target!r}")
    return backend, server


_DURATION = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?P<unit>us|ms|s|m|h|d)?$")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """`60s`, `500ms`, `2m`, `1h`, `90` (seconds) -> seconds; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"invalid duration {text!r} (examples: 60s, 500ms, 2m, 90)")
    return float(match.group("value")) * _UNITS[match.group("unit")]


def progress_bar(progress: Progress, peak: int, width: int = 30) -> str:
    """`[#########.........] scur=3 qcur=0 DRAIN 2.1s`: the share of the peak load already gone."""
    load = progress.scur + progress.qcur
    done = width if peak <= 0 else round(width * (peak - load) / peak)
    return (f"[{'#' * done}{'.' * (width - done)}] scur={progress.scur} qcur={progress.qcur} "
            f"{progress.status} {progress.elapsed:.1f}s")
