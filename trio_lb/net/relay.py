"""The L4 byte relay: move bytes both ways between a client and a server until both are done.

Theory of operation
-------------------
A relay is two *directions* -- up (client -> server) and down (server -> client) -- each a task that
first writes its prefix (bytes the caller had already read, e.g. what h11 buffered before an HTTP
connection became a tunnel), then repeats "receive one chunk from the source, flush it to the
destination" through a *pump*. The pump hides how bytes move:

* SplicePump (Linux, both ends plain sockets): os.splice() source socket -> pipe -> destination
  socket on non-blocking fds, driven by trio.lowlevel.wait_readable / wait_writable. The bytes stay
  in the kernel and never enter Python.
* CopyPump: recv_into() one reused buffer, then send() it; used where splice is unavailable.
* StreamPump: trio.abc streams (for TLS ends), receive_some() / send_all().

Ending, as HAProxy does it (the result is the 2-char termination state of the tcplog):

* EOF from a source: shutdown(SHUT_WR) its destination and end that direction; the other keeps
  relaying. Both directions ended -> "--".
* A read error on a source or a write error on a destination (ECONNRESET, EPIPE, ...) aborts the
  whole relay: the first error names the side ("CD" client, "SD" server) and cancels the rest.
* Inactivity: both directions run inside one cancel scope whose deadline is pushed forward whenever
  a byte moves in either direction (HAProxy's tunnel semantics). Once a side has been shut for
  writing, its fin timeout (client-fin after the server's EOF, server-fin after the client's), when
  set, replaces the idle timeout. When the deadline fires, the blame goes to the side a direction is
  stuck on: first a destination that does not drain, else a silent source, client before server
  ("cD" / "sD") -- which matches what haproxy logs for an idle or half-closed tunnel.

The relay never closes the two sockets (the caller owns them) but always closes its pipes.
`RelayStats` counts bytes as the relay reads them (prefixes were read, and counted, by the caller)
and stamps `last_activity` with trio.current_time(), so the admin plane sees live counters.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from typing import Literal, Protocol

import trio

Progress = Callable[[int], None]

# os.splice exists on Linux only (Python >= 3.10).
SPLICE_AVAILABLE: bool = sys.platform.startswith("linux") and hasattr(os, "splice")
PIPE_SIZE = 1 << 20  # asked of F_SETPIPE_SZ; the kernel's default (64 KiB) is kept when refused
COPY_BUFFER_SIZE = 1 << 16  # one reused buffer per direction on the fallback path
_SPLICE_FLAGS = (os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK) if SPLICE_AVAILABLE else 0
_SPLICEABLE_FAMILIES = {socket.AF_INET, socket.AF_INET6, getattr(socket, "AF_UNIX", -1)}

# What a pump raises when its peer misbehaves; anything else is a bug and propagates.
_PEER_ERRORS = (OSError, trio.BrokenResourceError)


@dataclass
class RelayStats:
    """Updated live as bytes move, so the admin plane can read counters mid-connection."""

    bytes_in: int = 0  # client -> server
    bytes_out: int = 0  # server -> client
    last_activity: float = 0.0  # trio.current_time() when a byte last moved


class Pump(Protocol):
    """Moves bytes from one source to one destination, a chunk at a time.

    Errors from the peers are raised as OSError or trio.BrokenResourceError: the relay blames the
    source if it happens in receive(), the destination otherwise.
    """

    async def receive(self) -> int:
        """Take up to one chunk from the source and hold it; the byte count, 0 at EOF."""
        ...

    async def flush(self, progress: Progress) -> None:
        """Deliver the held chunk to the destination, calling progress(n) after each write."""
        ...

    async def write(self, data: bytes, progress: Progress) -> None:
        """Deliver raw bytes (a prefix) to the destination; only called while nothing is held."""
        ...

    async def send_eof(self) -> None:
        """Half-close the destination."""
        ...

    def close(self) -> None:
        """Release the pump's own resources (never the source or destination)."""
        ...


# --------------------------------------------------------------------------------------------
# Pumps over trio sockets


async def _nonblocking(
    op: Callable[[], int], wait: Callable[[trio.socket.SocketType], Awaitable[None]],
    sock: trio.socket.SocketType,
) -> int:
    """Run a non-blocking syscall, waiting on `sock` while it says EAGAIN (as trio's sockets do)."""
    await trio.lowlevel.checkpoint_if_cancelled()
    while True:
        try:
            result = op()
        except BlockingIOError:
            await wait(sock)
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return result


async def _sock_write(sock: trio.socket.SocketType, data: memoryview, progress: Progress) -> None:
    while data:
        sent = await sock.send(data)
        data = data[sent:]
        progress(sent)


async def _sock_send_eof(sock: trio.socket.SocketType) -> None:
    await trio.lowlevel.checkpoint()
    sock.shutdown(socket.SHUT_WR)


def _open_pipe(size: int) -> tuple[int, int, int]:
    """A non-blocking pipe grown to `size` if allowed: (read fd, write fd, capacity)."""
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        try:
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, size)
        except OSError:
            pass  # EPERM past pipe-max-size or the per-user pipe quota: keep the default size
        capacity = fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ)
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    return read_fd, write_fd, capacity


class SplicePump:
    """source socket -> pipe -> destination socket with os.splice(); zero copy in user space."""

    def __init__(
        self, src: trio.socket.SocketType, dst: trio.socket.SocketType,
        pipe_size: int | None = None,
    ) -> None:
        self._src, self._dst = src, dst
        self._src_fd, self._dst_fd = src.fileno(), dst.fileno()
        self._pipe_r, self._pipe_w, self.capacity = _open_pipe(pipe_size or PIPE_SIZE)
        self._held = 0  # bytes sitting in the pipe

    def _splice_in(self) -> int:
        return os.splice(self._src_fd, self._pipe_w, self.capacity, flags=_SPLICE_FLAGS)

    def _splice_out(self) -> int:
        return os.splice(self._pipe_r, self._dst_fd, self._held, flags=_SPLICE_FLAGS)

    async def receive(self) -> int:
        self._held = await _nonblocking(self._splice_in, trio.lowlevel.wait_readable, self._src)
        return self._held

    async def flush(self, progress: Progress) -> None:
        while self._held:
            moved = await _nonblocking(self._splice_out, trio.lowlevel.wait_writable, self._dst)
            if moved == 0:
                raise BrokenPipeError("splice() to the destination moved nothing")
            self._held -= moved
            progress(moved)

    async def write(self, data: bytes, progress: Progress) -> None:
        await _sock_write(self._dst, memoryview(data), progress)

    async def send_eof(self) -> None:
        await _sock_send_eof(self._dst)

    def close(self) -> None:
        for fd in (self._pipe_r, self._pipe_w):
            if fd >= 0:
                os.close(fd)
        self._pipe_r = self._pipe_w = -1


class CopyPump:
    """recv_into() one reused buffer, send() it: the portable path, one copy each way."""

    def __init__(
        self, src: trio.socket.SocketType, dst: trio.socket.SocketType,
        bufsize: int | None = None,
    ) -> None:
        self._src, self._dst = src, dst
        self._view = memoryview(bytearray(bufsize or COPY_BUFFER_SIZE))
        self._held = 0

    async def receive(self) -> int:
        self._held = await self._src.recv_into(self._view)
        return self._held

    async def flush(self, progress: Progress) -> None:
        held, self._held = self._held, 0
        await _sock_write(self._dst, self._view[:held], progress)

    async def write(self, data: bytes, progress: Progress) -> None:
        await _sock_write(self._dst, memoryview(data), progress)

    async def send_eof(self) -> None:
        await _sock_send_eof(self._dst)

    def close(self) -> None:
        try:
            self._view.release()
        except BufferError:  # a slice still referenced (e.g. by a traceback): let gc free it
            pass


class StreamPump:
    """Over trio streams (e.g. trio.SSLStream): receive_some() then send_all()."""

    def __init__(
        self, src: trio.abc.ReceiveStream, dst: trio.abc.SendStream,
        max_bytes: int | None = None,
    ) -> None:
        self._src, self._dst = src, dst
        self._max_bytes = max_bytes or COPY_BUFFER_SIZE
        self._held: bytes | bytearray = b""

    async def receive(self) -> int:
        self._held = await self._src.receive_some(self._max_bytes)
        return len(self._held)

    async def flush(self, progress: Progress) -> None:
        held, self._held = self._held, b""
        await self.write(held, progress)

    async def write(self, data: bytes, progress: Progress) -> None:
        await self._dst.send_all(data)
        progress(len(data))

    async def send_eof(self) -> None:
        if isinstance(self._dst, trio.abc.HalfCloseableStream):
            await self._dst.send_eof()
        else:  # e.g. TLS: no half-close; the peer sees the end when the caller closes the stream
            await trio.lowlevel.checkpoint()

    def close(self) -> None:
        self._held = b""


def _spliceable(sock: trio.socket.SocketType) -> bool:
    return sock.type == socket.SOCK_STREAM and sock.family in _SPLICEABLE_FAMILIES


def make_pump(
    src: trio.socket.SocketType, dst: trio.socket.SocketType, *, zero_copy: bool = True
) -> Pump:
    """The best pump between two trio sockets: splice when possible, else copy.

    Also falls back to copying when no pipe can be had (fd exhaustion), as HAProxy does.
    """
    if zero_copy and SPLICE_AVAILABLE and _spliceable(src) and _spliceable(dst):
        try:
            return SplicePump(src, dst)
        except OSError:
            pass
    return CopyPump(src, dst)


# --------------------------------------------------------------------------------------------
# The relay core, generic over pumps

Party = Literal["c", "s"]


@dataclass(eq=False)
class _Direction:
    pump: Pump
    src: Party
    dst: Party
    prefix: bytes
    waiting: Literal["read", "write", None] = None  # what the task is blocked on, for the blame
    done: bool = False


class _Relay:
    def __init__(
        self, up: _Direction, down: _Direction, stats: RelayStats, idle_timeout: float | None,
        client_fin_timeout: float | None, server_fin_timeout: float | None,
    ) -> None:
        self.up, self.down = up, down
        self.stats = stats
        self.idle_timeout = idle_timeout
        self.client_fin_timeout = client_fin_timeout
        self.server_fin_timeout = server_fin_timeout
        self.timeout = idle_timeout
        self.scope = trio.CancelScope()
        self.state: str | None = None  # set by the first abort
        self.nursery: trio.Nursery | None = None

    async def run(self) -> str:
        self._touch(0)
        with self.scope:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._direction, self.up)
                nursery.start_soon(self._direction, self.down)
        if self.state is not None:
            return self.state
        if self.scope.cancelled_caught:
            return self._blame_timeout()
        return "--"

    async def _direction(self, d: _Direction) -> None:
        try:
            if d.prefix:
                d.waiting = "write"
                await d.pump.write(d.prefix, self._touch)
            while True:
                d.waiting = "read"
                n = await d.pump.receive()
                if n == 0:
                    break
                self._count(d, n)
                d.waiting = "write"
                await d.pump.flush(self._touch)
            d.waiting = "write"
            await d.pump.send_eof()
        except _PEER_ERRORS:
            self._abort(d.src if d.waiting == "read" else d.dst)
            return
        d.waiting = None
        d.done = True
        self._rearm()

    def _count(self, d: _Direction, n: int) -> None:
        if d is self.up:
            self.stats.bytes_in += n
        else:
            self.stats.bytes_out += n
        self._touch(n)

    def _touch(self, _n: int) -> None:
        """A byte moved: stamp the stats and push the inactivity deadline forward."""
        now = trio.current_time()
        self.stats.last_activity = now
        if self.timeout is not None:
            self.scope.deadline = now + self.timeout

    def _rearm(self) -> None:
        """A side was just shut for writing: its fin timeout, if any, now governs."""
        if self.up.done and not self.down.done and self.server_fin_timeout is not None:
            self.timeout = self.server_fin_timeout
        elif self.down.done and not self.up.done and self.client_fin_timeout is not None:
            self.timeout = self.client_fin_timeout
        if self.timeout is not None:
            self.scope.deadline = trio.current_time() + self.timeout

    def _abort(self, side: Party) -> None:
        if self.state is None:
            self.state = side.upper() + "D"
        assert self.nursery is not None
        self.nursery.cancel_scope.cancel()

    def _blame_timeout(self) -> str:
        live = [d for d in (self.up, self.down) if not d.done]
        for d in live:
            if d.waiting == "write":
                return d.dst + "D"
        for d in live:
            if d.waiting == "read":
                return d.src + "D"
        return "cD"


async def relay_pumps(
    up: Pump, down: Pump, *, idle_timeout: float | None, stats: RelayStats,
    client_prefix: bytes = b"", server_prefix: bytes = b"",
    client_fin_timeout: float | None = None, server_fin_timeout: float | None = None,
) -> str:
    """Relay with caller-built pumps (up: client -> server, down: server -> client).

    Same contract as relay(); the caller closes the pumps. This is the entry point for ends that
    are not plain sockets (TLS streams through StreamPump).
    """
    core = _Relay(
        _Direction(up, "c", "s", client_prefix),
        _Direction(down, "s", "c", server_prefix),
        stats, idle_timeout, client_fin_timeout, server_fin_timeout,
    )
    return await core.run()


async def relay(
    client: trio.socket.SocketType, server: trio.socket.SocketType, *,
    idle_timeout: float | None, stats: RelayStats,
    client_prefix: bytes = b"", server_prefix: bytes = b"",
    client_fin_timeout: float | None = None, server_fin_timeout: float | None = None,
    zero_copy: bool = True,
) -> str:
    """Move bytes both ways until both directions are done; return the termination state.

    "--" normal, "cD"/"sD" client/server timeout during data, "CD"/"SD" client/server abort.
    client_prefix goes to the server before anything read from the client (server_prefix likewise
    to the client). idle_timeout: no byte moved in either direction for that long ends the relay.
    client_fin_timeout / server_fin_timeout replace it once that side has been shut for writing.
    zero_copy=False forces the copying path. The sockets stay open; pipes are always closed.
    """
    with ExitStack() as stack:
        up = stack.enter_context(closing(make_pump(client, server, zero_copy=zero_copy)))
        down = stack.enter_context(closing(make_pump(server, client, zero_copy=zero_copy)))
        return await relay_pumps(
            up, down, idle_timeout=idle_timeout, stats=stats,
            client_prefix=client_prefix, server_prefix=server_prefix,
            client_fin_timeout=client_fin_timeout, server_fin_timeout=server_fin_timeout,
        )
