"""Coarse timeouts for the HTTP data path without a cancel scope per wait.

Why: a proxied request waits twice (for the server's answer, for the client's next request).
With one `trio.CancelScope(deadline=...)` per wait, trio's deadline bookkeeping and the clock
reads cost about 6% of the CPU of a proxied request (py-spy under wrk). HAProxy's timeouts are
per-connection timers; we do the same with one sweeper task.

How: a waiting session *arms* its `Watch` with an expiry computed from the sweeper's cached
clock; the sweeper wakes every TICK, and for each armed watch that has expired it sets `fired`
and calls `trio.lowlevel.notify_closing(sock)`, which makes the pending wait_readable /
wait_writable raise ClosedResourceError at once. The wait site turns that into "timed out"
(sockio.recv_within returns None). The socket itself is untouched: the caller may still write
its 408/504 on it, then closes it, as it always does after a timeout.

Precision: a timeout fires between `timeout` and `timeout + 2*TICK` after the wait began; never
early. Cost: one attribute store per wait, one set membership per session, and an O(sessions)
sweep every TICK.
"""

from __future__ import annotations

import socket
from typing import Any

import trio

TICK = 0.05
_INF = float("inf")


class Watch:
    """One session's timer: armed while it waits on a socket."""

    __slots__ = ("dog", "sock", "expires", "fired", "idle")

    def __init__(self, dog: Watchdog) -> None:
        self.dog = dog
        self.sock: socket.socket | None = None
        self.expires = _INF
        self.fired = False
        self.idle = False  # waiting between requests: closed at once on soft stop

    def deadline_in(self, timeout: float) -> float:
        """An absolute expiry `timeout` from now, on the sweeper's clock (never early)."""
        return self.dog.now + timeout + TICK

    def arm(self, sock: socket.socket, timeout: float | None, deadline: float = _INF, idle: bool = False) -> None:
        self.sock = sock
        self.fired = False
        self.idle = idle
        if idle and self.dog.draining:
            deadline = self.dog.now
        if timeout is not None:
            deadline = min(deadline, self.dog.now + timeout + TICK)
        self.expires = deadline

    def disarm(self) -> None:
        self.sock = None
        self.expires = _INF

    def __enter__(self) -> Watch:
        self.dog.watches.add(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.dog.watches.discard(self)


class Watchdog:
    def __init__(self) -> None:
        self.now = trio.current_time()
        self.watches: set[Watch] = set()
        self.draining = False

    def watch(self) -> Watch:
        return Watch(self)

    def sweep(self, now: float) -> None:
        self.now = now
        draining = self.draining
        for w in self.watches:
            if (w.expires <= now or (draining and w.idle)) and w.sock is not None and not w.fired:
                w.fired = True
                trio.lowlevel.notify_closing(w.sock)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(self)
        while True:
            await trio.sleep(TICK)
            self.sweep(trio.current_time())

    async def drain(self, busy: Any) -> None:
        """Soft stop: close idle keep-alive connections, keep timing the others, and return
        once `busy()` says no session is left."""
        self.draining = True
        while busy():
            self.sweep(trio.current_time())
            await trio.sleep(TICK)
