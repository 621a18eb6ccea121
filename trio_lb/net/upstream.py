"""Getting a server for a request: slot (maxconn/queue), connection (pool, connect, retries).

Theory of operation
-------------------
1. `acquire()` asks the backend, synchronously, for a server slot. It gets a server, a Waiter
   (queued: we wait on a trio.Event for at most `timeout queue`), or nothing (503).
2. `open_conn()` reuses an idle keep-alive connection to that server when one is alive, or
   connects within `timeout connect`. A failed connect is retried `retries` times; between tries
   we pause min(1 s, timeout connect) as HAProxy does; with `option redispatch` the last retry
   goes to another server (the slot moves with it).
3. The caller gives the slot back with `backend.release(server, now)` when the request is over,
   and the connection with `give_back()` (pooled when reusable) or `sockio.close()`.

Counters touched here: econ, wretr, wredis (server and backend).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import trio

from trio_lb.errors import ConnectError, NoServerAvailable
from trio_lb.net import sockio
from trio_lb.state.proxies import BackendState
from trio_lb.state.queue import Waiter
from trio_lb.state.servers import ServerState

try:
    import h11_mypyc as h11
except ImportError:  # pragma: no cover - the pure build works the same, slower
    import h11

MAX_IDLE_PER_SERVER = 256


class QueueTimeout(Exception):
    """`timeout queue` expired while waiting for a server slot."""


@dataclass(slots=True)
class ServerConn:
    sock: socket.socket
    h11: h11.Connection | None  # None in mode tcp
    server: ServerState
    reused: bool = False
    idle_since: float = 0.0


@dataclass(slots=True)
class Attempt:
    """What it took to reach a server, for the log line (%Tw %Tc %rc) and counters."""

    server: ServerState | None = None
    queue_ms: int = -1
    connect_ms: int = -1
    retries: int = 0
    redispatched: bool = False
    dst_port: int = 80
    start: float = 0.0  # trio clock when the request started (set by the caller)


async def acquire(backend: BackendState, req: object, attempt: Attempt, queue_timeout: float | None,
                  server: ServerState | None = None) -> ServerState:
    """A server slot for `req`, waiting in the queue if needed. Raises NoServerAvailable / QueueTimeout.
    `server`: the one persistence chose (cookie, stick table): its slot, or its own queue."""
    t0 = attempt.start
    got = backend.acquire(req, t0) if server is None else backend.acquire_server(server, req, t0)
    if got is None:  # refused at once: nothing was counted on the backend
        raise NoServerAvailable(backend.name)
    if isinstance(got, Waiter):
        got = await _wait_in_queue(backend, got, queue_timeout)
        attempt.queue_ms = int((trio.current_time() - t0) * 1000)
        if got is None:  # the queue was refused (no server left): give back the queued session
            backend.release(None, trio.current_time())
            raise NoServerAvailable(backend.name)
    else:
        attempt.queue_ms = 0
    attempt.server = got
    return got


async def _wait_in_queue(backend: BackendState, waiter: Waiter, timeout: float | None) -> ServerState | None:
    """Wait for the queue to decide. None: refused (the caller gives the session back)."""
    event = trio.Event()
    waiter.wake = event.set
    try:
        with trio.move_on_after(timeout if timeout is not None else float("inf")):
            await event.wait()
    except BaseException:  # cancelled (client gone, stop): give back whatever we hold
        _abandon(backend, waiter)
        raise
    if not waiter.done:
        backend.cancel(waiter)
        backend.release(None, trio.current_time())
        raise QueueTimeout(backend.name)
    return waiter.server


def _abandon(backend: BackendState, waiter: Waiter) -> None:
    now = trio.current_time()
    if not waiter.done:
        backend.cancel(waiter)
    # a slot may have been handed over at the very moment we were leaving: give it back too
    backend.release(waiter.server, now)


# A connection idle for less than this is reused without probing it first: a server that closed
# it in between is caught by the one-time retry in http_proxy (request not yet streamed).
FRESH_IDLE = 1.0


def take_idle(server: ServerState, now: float) -> ServerConn | None:
    idle = server.idle
    while idle:
        conn = idle.pop()
        if now - conn.idle_since < FRESH_IDLE or sockio.is_idle_alive(conn.sock):
            conn.reused = True
            return conn
        sockio.close(conn.sock)
    return None


def give_back(conn: ServerConn, now: float) -> None:
    """Pool the connection if both h11 sides finished cleanly and the server is still in use."""
    h = conn.h11
    server = conn.server
    if (h.our_state is h11.DONE and h.their_state is h11.DONE and server.admin != "maint"
            and len(server.idle) < MAX_IDLE_PER_SERVER):
        h.start_next_cycle()
        conn.reused = False
        conn.idle_since = now
        server.idle.append(conn)
    else:
        sockio.close(conn.sock)


def drop_idle(server: ServerState) -> None:
    """Close every pooled connection of a server (maint, removal, address change)."""
    while server.idle:
        sockio.close(server.idle.pop().sock)


async def open_conn(backend: BackendState, req: object, attempt: Attempt, *, http: bool = True) -> ServerConn:
    """A connection to attempt.server, following retries/redispatch. The slot may move to another
    server on redispatch (attempt.server is updated). Raises ConnectError after the last try."""
    spec = backend.spec
    server = attempt.server
    assert server is not None
    if http:
        conn = take_idle(server, attempt.start)
        if conn is not None:
            attempt.connect_ms = 0
            return conn
    timeout = spec.timeouts.connect
    t0 = trio.current_time()
    tries = spec.retries
    while True:
        try:
            sock = await sockio.connect(server.host, _port(server, attempt), timeout)
        except ConnectError:
            _count_failure(backend, server)
            if attempt.retries >= tries:
                raise
            attempt.retries += 1
            server.counters.wretr += 1
            backend.counters.wretr += 1
            await trio.sleep(min(1.0, timeout if timeout is not None else 1.0))
            if attempt.retries == tries and spec.redispatch:
                server = _redispatch(backend, req, server, attempt)
            continue
        attempt.connect_ms = int((trio.current_time() - t0) * 1000)
        server.counters.connect += 1
        return ServerConn(sock, h11.Connection(h11.CLIENT) if http else None, server)


def _count_failure(backend: BackendState, server: ServerState) -> None:
    server.counters.econ += 1
    backend.counters.econ += 1


def _redispatch(backend: BackendState, req: object, server: ServerState, attempt: Attempt) -> ServerState:
    """Move the slot to another server for the last try (HAProxy `option redispatch`)."""
    now = trio.current_time()
    other = backend.balancer.pick(req, server)
    if other is None or other is server or other.full:
        return server
    backend.release(server, now)
    backend.acquire_server(other, req, now)  # not full, checked above: no queueing, no await
    other.counters.wredis += 1
    backend.counters.wredis += 1
    attempt.server = other
    attempt.redispatched = True
    return other


def _port(server: ServerState, attempt: Attempt) -> int:
    # a port-less server line means "the port the client connected to" (+/- an offset)
    if server.port is not None:
        return server.port
    return (attempt.dst_port + server.port_offset) & 0xFFFF

