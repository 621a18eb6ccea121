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
    """Admission for new connections: frontend maxconn and global maxconn."""

    def __init__(self, runtime: Any, fe_state: Any) -> None:
        self.runtime = runtime
        self.fe = fe_state
        self.lot = trio.lowlevel.ParkingLot()

    def full(self) -> bool:
        return self.fe.cur_sess >= self.fe.maxconn or self.runtime.actconn >= self.runtime.maxconn

    async def wait(self) -> None:
        await self.lot.park()

    def enter(self) -> None:
        """Count the session at accept time, synchronously, so maxconn is exact."""
        rt = self.runtime
        rt.actconn += 1
        rt.cum_conns += 1
        rt.conn_rate.hit(trio.current_time())
        self.fe.open_session(trio.current_time())

    def leave(self) -> None:
        self.runtime.actconn -= 1
        self.fe.close_session()
        if self.lot:
            self.lot.unpark_all()


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
