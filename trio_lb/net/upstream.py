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

TLS toward servers (`server ... ssl`): `open_conn(..., tls=...)` wraps the new connection and
completes the handshake within what is left of `timeout connect` (a failed handshake counts as a
failed connect: econ, retries). The SNI comes from the server's `sni` expression evaluated on the
request; a pooled TLS connection is only reused for a request with the same SNI, and is probed
through OpenSSL (not MSG_PEEK) when it has been idle a while.

Counters touched here: econ, wretr, wredis (server and backend).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Callable

import trio

from trio_lb.errors import ConnectError, NoServerAvailable
from trio_lb.net import sockio, tls as net_tls
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
    recv: Callable[..., Any] = sockio.recv_within  # sockio.tls_recv_within on a TLS connection
    send: Callable[..., Any] = sockio.send_within
    sni: str | None = None  # the SNI a TLS connection was opened with (pool reuse must match)


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


def take_idle(server: ServerState, now: float, sni: str | None = None) -> ServerConn | None:
    idle = server.idle
    while idle:
        conn = idle[-1]
        if conn.sni != sni:  # TLS to another name: keep it for a request that wants that one
            return _take_idle_sni(server, now, sni)
        idle.pop()
        if now - conn.idle_since < FRESH_IDLE or sockio.idle_alive(conn.sock):
            conn.reused = True
            return conn
        sockio.close(conn.sock)
    return None


def _take_idle_sni(server: ServerState, now: float, sni: str | None) -> ServerConn | None:
    """take_idle's slow path: the most recently pooled connection with this SNI."""
    idle = server.idle
    for i in range(len(idle) - 1, -1, -1):
        conn = idle[i]
        if conn.sni != sni:
            continue
        del idle[i]
        if now - conn.idle_since < FRESH_IDLE or sockio.idle_alive(conn.sock):
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


async def open_conn(backend: BackendState, req: object, attempt: Attempt, *, http: bool = True,
                    tls: dict[tuple[str, str], Any] | None = None) -> ServerConn:
    """A connection to attempt.server, following retries/redispatch. The slot may move to another
    server on redispatch (attempt.server is updated). Raises ConnectError after the last try.
    `tls`: the runtime's (backend, server) -> ServerTLS map (trio_lb.tls) for servers with `ssl`."""
    spec = backend.spec
    server = attempt.server
    assert server is not None
    stls = tls.get((backend.name, server.name)) if tls else None
    sni = stls.server_hostname(req) if stls is not None else None
    if http:
        conn = take_idle(server, attempt.start, sni)
        if conn is not None:
            attempt.connect_ms = 0
            return conn
    timeout = spec.timeouts.connect
    t0 = trio.current_time()
    tries = spec.retries
    while True:
        try:
            sock = await sockio.connect(server.host, _port(server, attempt), timeout)
            if stls is not None:
                left = None if timeout is None else max(0.0, timeout - (trio.current_time() - t0))
                sock = await _secure(sock, stls, sni, left, server)
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
                stls = tls.get((backend.name, server.name)) if tls else None
                sni = stls.server_hostname(req) if stls is not None else None
            continue
        attempt.connect_ms = int((trio.current_time() - t0) * 1000)
        server.counters.connect += 1
        conn = ServerConn(sock, h11.Connection(h11.CLIENT) if http else None, server)
        if stls is not None:
            conn.recv, conn.send, conn.sni = sockio.tls_recv_within, sockio.tls_send_within, sni
        return conn


async def _secure(sock: socket.socket, stls: Any, sni: str | None, timeout: float | None,
                  server: ServerState) -> socket.socket:
    """TLS on a fresh server connection; ConnectError (closing it) when the handshake fails."""
    try:
        tsock = net_tls.wrap_client(sock, stls.context, sni)
    except (OSError, ValueError) as exc:
        sockio.close(sock)
        raise ConnectError(f"{server.host}:{server.port}: {exc}") from None
    try:
        ok = await net_tls.handshake(tsock, None, timeout)
    except BaseException:
        sockio.close(tsock)
        raise
    if not ok:
        sockio.close(tsock)
        raise ConnectError(f"{server.host}:{server.port}: SSL handshake failure")
    return tsock


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

