"""maxconn / maxqueue admission: who gets a server slot now, who waits, who is refused.

Theory of operation
-------------------
Every decision here is synchronous (ARCHITECTURE habit 4): `acquire()` picks a server and takes
its slot in one call with no checkpoint in between, which is what keeps `maxconn` exact when many
trio tasks ask at once. The waiting itself happens in net/: a queued request holds a `Waiter`
whose `wake` callback (a trio.Event.set, say) is called once `waiter.server` is decided; the
caller sets `wake` right after `acquire()` returns, before its next checkpoint.

Queues, as in HAProxy's queue.c:
* a request whose hashed (deterministic) server is full waits in that server's queue, unless
  the server's `maxqueue` is reached, in which case it goes to the backend's queue;
* a request for which the balancer found no free server, while some servers are usable, waits
  in the backend's queue;
* no usable server at all: refused (503).
When a slot is released, it is handed to the oldest of the server's queue head and the
backend's queue head. When a server stops being usable, its queue moves to the backend queue
(requests are redispatched); when capacity appears (a server comes up, a weight rises), the
backend queue is drained onto whatever the balancer picks.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from trio_lb.state.servers import ServerState


def _nothing() -> None:
    pass


class Waiter:
    """A request waiting for a server slot."""

    __slots__ = ("req", "wake", "since", "server", "done", "home")

    def __init__(self, req: Any, now: float) -> None:
        self.req = req
        self.wake: Callable[[], None] = _nothing
        self.since = now
        self.server: ServerState | None = None
        self.done = False  # decided: either a server was assigned or the request is refused
        self.home: ServerState | None = None  # the server whose queue holds us, None = backend queue

    def _assign(self, server: ServerState | None) -> None:
        self.server = server
        self.done = True
        self.wake()


def take_slot(backend: Any, server: ServerState, now: float) -> None:
    server.cur_sess += 1
    server.counters.session_opened(server.cur_sess, now)


def acquire(backend: Any, req: Any, now: float, avoid: ServerState | None = None) -> ServerState | Waiter | None:
    """Pick a server for `req` and take its slot, or queue, or refuse (None)."""
    server = backend.balancer.pick(req, avoid)
    if server is not None:
        server.counters.lbtot += 1
        if not server.maxconn or server.cur_sess < server.maxconn:
            take_slot(backend, server, now)
            return server
        if not server.maxqueue or len(server.queue) < server.maxqueue:
            return _enqueue(backend, server.queue, server, req, now)
    if not any(s.usable for s in backend.servers):
        return None
    return _enqueue(backend, backend.queue, None, req, now)


def take_specific(backend: Any, server: ServerState, req: Any, now: float) -> ServerState | Waiter:
    """Persistence: this very server, waiting in its own queue when it is full."""
    if not server.full:
        take_slot(backend, server, now)
        return server
    return _enqueue(backend, server.queue, server, req, now)


def _enqueue(backend: Any, queue: Any, home: ServerState | None, req: Any, now: float) -> Waiter:
    waiter = Waiter(req, now)
    waiter.home = home
    queue.append(waiter)
    total = backend.queued()
    if total > backend.counters.qmax:
        backend.counters.qmax = total
    if home is not None and len(home.queue) > home.counters.qmax:
        home.counters.qmax = len(home.queue)
    return waiter


def cancel(backend: Any, waiter: Waiter) -> None:
    """The waiter gave up (timeout queue, client gone): remove it if still queued."""
    if waiter.done:
        return
    waiter.done = True
    queue = waiter.home.queue if waiter.home is not None else backend.queue
    try:
        queue.remove(waiter)
    except ValueError:
        pass


def release(backend: Any, server: ServerState, now: float) -> None:
    """A request on `server` ended: free its slot and hand it to the next waiter, if any."""
    server.cur_sess -= 1
    if server.queue or backend.queue:  # the common case is that nobody waits
        serve_queue(backend, server, now)


def serve_queue(backend: Any, server: ServerState, now: float) -> int:
    """Hand the server's free slots to the oldest of its own and the backend's waiters;
    returns how many were served (after a release, or when maxconn was raised)."""
    served = 0
    while not server.full:
        waiter = _next_waiter(backend, server)
        if waiter is None:
            break
        take_slot(backend, server, now)
        waiter._assign(server)
        served += 1
    return served


def _next_waiter(backend: Any, server: ServerState) -> Waiter | None:
    own = server.queue[0] if server.queue else None
    usable = server.usable
    shared = backend.queue[0] if (backend.queue and usable) else None
    if own is None and shared is None:
        return None
    if own is not None and (shared is None or own.since <= shared.since):
        return server.queue.popleft()
    return backend.queue.popleft()


def redispatch_queue(backend: Any, server: ServerState, now: float) -> int:
    """Move the queue of a server that stopped being usable to the backend queue."""
    moved = list(server.queue)
    server.queue.clear()
    for waiter in moved:
        waiter.home = None
        backend.queue.append(waiter)
    if moved:
        backend.queue = deque(sorted(backend.queue, key=lambda w: w.since))
    dispatch_backend_queue(backend, now)
    return len(moved)


def dispatch_backend_queue(backend: Any, now: float) -> None:
    """Capacity may have appeared: give backend-queue waiters to whatever the balancer picks."""
    while backend.queue:
        waiter = backend.queue[0]
        server = backend.balancer.pick(waiter.req, None)
        if server is None or server.full:
            if not any(s.usable for s in backend.servers):
                # nobody will ever serve them: refuse now rather than at `timeout queue`
                while backend.queue:
                    backend.queue.popleft()._assign(None)
            return
        backend.queue.popleft()
        server.counters.lbtot += 1
        take_slot(backend, server, now)
        waiter._assign(server)
