"""Listening sockets and the accept loop.

The accept loop takes every connection the kernel has queued (until EAGAIN) each time the
listener becomes readable: with 1000 connections arriving at once this kept p99 around 0.1-0.3 s
where trio.serve_tcp reached 2-3 s (ARCHITECTURE.md section 4). At `maxconn` (frontend or
global) it stops accepting and leaves clients in the kernel backlog, as HAProxy does, until a
session ends.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import socket
from typing import Any, Awaitable, Callable

import trio

from trio_lb.config.model import Bind

log = logging.getLogger("trio_lb")

# errors meaning "out of resources right now", not "this listener is broken"
_PAUSE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def open_listener(bind: Bind, backlog: int = 1024) -> socket.socket:
    """Bind and listen; OSError is left to the caller to report with the bind's file:line."""
    if bind.family == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(bind.host):
            os.unlink(bind.host)
        sock.bind(bind.host)
    else:
        family = socket.AF_INET6 if bind.family == "ipv6" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if bind.options.get("v4v6") else 1)
        host = bind.host or ("::" if family == socket.AF_INET6 else "0.0.0.0")
        try:
            sock.bind((host, bind.port))
        except OSError:
            sock.close()
            raise
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


class Gate:
    """Admission of new connections, asked by the accept loop before each accept().

    A frontend admits nobody while it is shut down (`shutdown frontend`: its listening sockets
    are shut, so that clients are refused) or paused (`disable frontend`: clients wait in the
    kernel backlog), nor while the frontend or the process is at its maxconn, nor while the
    process's connection (or session: the same events here) rate over the last second is at
    `set rate-limit ... global` / maxconnrate. The accept loop then waits in `wait()`: parked
    until a session ends or `Runtime.admission_changed()` (limits, enable frontend) wakes it,
    for a rate limit at most until the rate may have dropped below the limit.
    """

    def __init__(self, runtime: Any, fe_state: Any) -> None:
        self.runtime = runtime
        self.fe = fe_state
        self.lot = trio.lowlevel.ParkingLot()
        watchers = getattr(runtime, "admission_watchers", None)
        if watchers is not None:
            watchers.append(self._changed)

    def blocked(self) -> str | None:
        """Why a new connection may not be accepted now: "stopped", "paused", "full", "rate"."""
        fe, rt = self.fe, self.runtime
        if fe.stopped:
            return "stopped"
        if not fe.enabled:
            return "paused"
        if fe.cur_sess >= fe.maxconn or rt.actconn >= rt.maxconn:
            return "full"
        if _rate_limit(rt) and self.rate_delay(trio.current_time()) > 0:
            return "rate"
        return None

    def full(self) -> bool:
        return self.blocked() is not None

    def rate_delay(self, now: float) -> float:
        """0 when the rate limit admits a connection now, else how long to wait before asking
        again. The rate (this second's count plus the last second's, weighted by what remains of
        this second) falls at most as fast as itself per second, and its slope changes when a
        second begins: it cannot drop under the limit before the sooner of those two times."""
        limit = _rate_limit(self.runtime)
        if not limit:
            return 0.0
        rate = self.runtime.conn_rate.rate(now)
        if rate < limit:
            return 0.0
        next_second = math.floor(now) + 1 - now
        return max(MIN_RATE_WAIT, min((rate - limit) / rate, next_second))

    async def wait(self) -> None:
        reason = self.blocked()
        if reason == "stopped":
            self._shut_listeners()
            await trio.sleep_forever()  # the listeners close when the services stop
        elif reason == "rate":
            with trio.move_on_after(self.rate_delay(trio.current_time())):
                await self.lot.park()
        elif reason is not None:
            await self.lot.park()

    def enter(self) -> None:
        """Count the session at accept time, synchronously, so maxconn is exact."""
        rt = self.runtime
        rt.actconn += 1
        rt.cum_conns += 1
        rt.conn_rate.hit(trio.current_time())
        self.fe.open_session(trio.current_time())

    def leave(self) -> None:
        rt = self.runtime
        at_global_limit = rt.actconn >= rt.maxconn
        rt.actconn -= 1
        self.fe.close_session()
        if at_global_limit and hasattr(rt, "admission_changed"):
            rt.admission_changed()  # the other frontends' accept loops may wait on it too
        elif self.lot:
            self.lot.unpark_all()

    def _changed(self) -> None:
        if self.fe.stopped:
            self._shut_listeners()
        if self.lot:
            self.lot.unpark_all()

    def _shut_listeners(self) -> None:
        """`shutdown frontend`: the kernel refuses new clients (and resets those in the
        backlog) from now on; the sockets stay open until the accept loops end."""
        for sock in self.fe.listeners:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass


MIN_RATE_WAIT = 0.002  # seconds: how often at most a rate-limited accept loop looks again


def _rate_limit(runtime: Any) -> int:
    """The tighter of the connection and session rate limits (0: none)."""
    conns = getattr(runtime, "rate_limit_conns", 0)
    sess = getattr(runtime, "rate_limit_sess", 0)
    return min(conns, sess) if conns and sess else conns or sess


async def accept_loop(sock: socket.socket, nursery: trio.Nursery, gate: Gate,
                      on_conn: Callable[[socket.socket, Any], Awaitable[None]]) -> None:
    """Accept forever; each connection runs `on_conn(conn, peer)` in `nursery`, which must call
    `gate.leave()` when the session ends."""
    try:
        while True:
            await trio.lowlevel.wait_readable(sock)
            while True:
                if gate.full():
                    await gate.wait()
                    continue
                try:
                    conn, peer = sock.accept()
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno in _PAUSE_ERRNOS:
                        log.warning("accept paused: %s", exc)
                        await trio.sleep(0.1)
                        break
                    if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                        continue
                    raise
                gate.enter()
                conn.setblocking(False)
                if conn.family != socket.AF_UNIX:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                nursery.start_soon(on_conn, conn, peer)
    finally:
        trio.lowlevel.notify_closing(sock)
        sock.close()
