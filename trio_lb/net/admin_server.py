"""The stats sockets (HAProxy's Runtime API): listeners that feed a sans-IO admin Session.

How it works: `serve_admin` binds one `stats socket` (unix path, ipv4@ or ipv6@ address),
reports the bound address through `task_status.started`, and accepts forever. All the stats
sockets form HAProxy's single `GLOBAL` frontend, whose `stats maxconn` caps the connections:
when a client waits, a connection slot is taken *before* accepting it, so that extra clients
stay in the kernel backlog as HAProxy's paused listener leaves them (pass one `slots` semaphore
to every socket to share the cap). Each connection reads, hands the bytes to its Session, writes the reply, and closes when
the session says so. `stats timeout` (or the session's `set timeout cli`) bounds every wait for
the client, reading or writing; on expiry the connection is closed without a word.

A unix socket is bound under a temporary name, given its `mode`, then renamed over the path, as
HAProxy does, so the path always holds a socket ready to accept. An existing file at the path is
replaced only if it is a socket nobody listens on (a stale one left by a dead process); a live
one, or anything that is not a socket, makes the bind fail with EADDRINUSE / EEXIST. When
serving ends, the path is removed if it is still the socket this process created.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat
import time
from typing import Any

import trio

from trio_lb.admin.registry import Registry
from trio_lb.admin.session import Session
from trio_lb.config.model import StatsSocket
from trio_lb.state.streams import Endpoint, StreamView

log = logging.getLogger("trio_lb")

RECV_SIZE = 16384
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes with the NUL
_PAUSE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_RETRY_ERRNOS = {errno.ECONNABORTED, errno.EPROTO, errno.EINTR}


async def serve_admin(spec: StatsSocket, registry: Registry, ctx: object, *, timeout: float,
                      maxconn: int, slots: trio.Semaphore | None = None,
                      task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Serve one stats socket until cancelled; `started()` gets the bound path or (host, port).

    OSError from binding propagates before `started()` (e.g. EADDRINUSE for a live socket).
    """
    sock = open_admin_socket(spec, backlog=max(1, maxconn))
    inode = _inode(str(spec.address)) if spec.kind == "unix" else None
    bound = spec.address if spec.kind == "unix" else sock.getsockname()[:2]
    if slots is None:
        slots = trio.Semaphore(max(1, maxconn))
    try:
        async with trio.open_nursery() as nursery:
            task_status.started(bound)
            while True:
                conn = await _accept(sock, slots)
                nursery.start_soon(_serve_connection, conn, spec, registry, ctx, timeout, slots)
    finally:
        trio.lowlevel.notify_closing(sock)
        sock.close()
        if inode is not None:
            _remove_if_ours(str(spec.address), inode)


async def _accept(sock: socket.socket, slots: trio.Semaphore) -> trio.socket.SocketType:
    """The next connection, holding a slot: a slot is taken only once a client is waiting, so
    that a listener with no client never holds one that another listener's client needs."""
    while True:
        await trio.lowlevel.wait_readable(sock)
        await slots.acquire()
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            slots.release()
            continue
        except OSError as exc:
            slots.release()
            if exc.errno in _RETRY_ERRNOS:
                continue
            if exc.errno in _PAUSE_ERRNOS:
                log.warning("stats socket: accept paused: %s", exc)
                await trio.sleep(0.1)
                continue
            raise
        conn.setblocking(False)
        return trio.socket.from_stdlib_socket(conn)


class CliStream:
    """A CLI connection as a stream of `show sess` (HAProxy lists its own CLI streams too)."""

    def __init__(self, conn: trio.socket.SocketType, scope: trio.CancelScope) -> None:
        self.conn = conn
        self.scope = scope
        self.born = trio.current_time()
        self.epoch = 0

    def view(self, now: float) -> StreamView:
        unix = self.conn.family == socket.AF_UNIX
        src = "unix:1" if unix else "{}:{}".format(*self.conn.getpeername()[:2])
        proto = "unix_stream" if unix else ("tcpv6" if self.conn.family == socket.AF_INET6 else "tcpv4")
        age = max(0.0, now - self.born)
        return StreamView(proto=proto, src=src, frontend=Endpoint("GLOBAL", 0, "cli"), age=age,
                          accept_date=time.time() - age, front_fd=self.conn.fileno())

    def kill(self) -> None:
        self.scope.cancel()

    def on_server(self, server: object) -> bool:
        return False


async def _serve_connection(conn: trio.socket.SocketType, spec: StatsSocket, registry: Registry,
                            ctx: object, timeout: float, slots: trio.Semaphore) -> None:
    session = Session(registry, ctx, spec.level, socket_level=spec.level, timeout=timeout,
                      severity_output=getattr(spec, "severity_output", None) or "none")
    streams = getattr(getattr(ctx, "runtime", None), "streams", None)
    scope = trio.CancelScope()
    stream = CliStream(conn, scope)
    if streams is not None:
        streams.add(stream)
    try:
        with conn, scope:
            while not session.closed:
                data = await _recv(conn, session.timeout)
                if data is None:
                    break  # idle timeout: closed silently, as HAProxy does
                reply = session.feed(data) if data else session.eof()
                if reply and not await _send(conn, reply, session.timeout):
                    break
            _shutdown(conn)
    except Exception:  # a failing command costs its connection, never the listener
        log.exception("stats socket: error while serving a CLI connection")
    finally:
        if streams is not None:
            streams.remove(stream)
        slots.release()


def _limit(timeout: float | None) -> float:
    return float("inf") if timeout is None else timeout


async def _recv(conn: trio.socket.SocketType, timeout: float | None) -> bytes | None:
    """Received bytes, b"" at end of stream or on error, None when the timeout expired."""
    with trio.move_on_after(_limit(timeout)):
        try:
            return await conn.recv(RECV_SIZE)
        except OSError:
            return b""
    return None


async def _send(conn: trio.socket.SocketType, data: bytes, timeout: float | None) -> bool:
    """Write everything within the timeout; False if the client is gone or too slow."""
    view = memoryview(data)
    with trio.move_on_after(_limit(timeout)):
        try:
            while view:
                view = view[await conn.send(view):]
            return True
        except OSError:
            return False
    return False


def _shutdown(conn: trio.socket.SocketType) -> None:
    try:
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# -- binding ------------------------------------------------------------------------------------

def open_admin_socket(spec: StatsSocket, backlog: int = 10) -> socket.socket:
    """A listening, non-blocking socket for `spec`; OSError if it cannot be bound."""
    if spec.kind == "unix":
        sock = _bind_unix(str(spec.address), spec.mode, backlog)
    else:
        family = socket.AF_INET6 if spec.kind == "ipv6" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(spec.address)
            sock.listen(backlog)
        except OSError:
            sock.close()
            raise
    sock.setblocking(False)
    return sock


def _bind_unix(path: str, mode: int | None, backlog: int) -> socket.socket:
    _refuse_unless_stale(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    direct = len(os.fsencode(tmp)) > _SUN_PATH_MAX
    if direct:  # no room for the temporary name: replace the stale file, then bind in place
        _unlink_socket(path)
    else:
        _unlink_socket(tmp)  # left over by a crashed process that had our pid
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    target = path if direct else tmp
    try:
        sock.bind(target)
        if mode is not None:
            os.chmod(target, mode)
        sock.listen(backlog)
        if not direct:
            os.rename(tmp, path)
    except OSError:
        sock.close()
        if not direct:
            _unlink_socket(tmp)
        raise
    return sock


def _refuse_unless_stale(path: str) -> None:
    """Return if `path` is free or a socket nobody serves; raise OSError otherwise."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.setblocking(False)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return  # stale: the process that bound it is gone
    except OSError:
        pass  # a full backlog (EAGAIN), no permission to check...: assume it is alive
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE), path)


def _unlink_socket(path: str) -> None:
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def _inode(path: str) -> int | None:
    try:
        return os.lstat(path).st_ino
    except OSError:
        return None


def _remove_if_ours(path: str, inode: int) -> None:
    """Remove the socket file unless another process has replaced it since (a reload)."""
    try:
        if os.lstat(path).st_ino == inode:
            os.unlink(path)
    except OSError:
        pass
