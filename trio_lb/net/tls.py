"""TLS on trio-lb's raw-socket path: wrapping, the handshake, and the TLS ends of a relay.

Theory of operation
-------------------
A connection is wrapped in an `ssl.SSLSocket` in non-blocking mode (`do_handshake_on_connect=
False`): the stdlib object owns the fd from then on (the plain socket is detached, close the
SSLSocket). `handshake()` drives `do_handshake()` with the same try-then-wait loop as sockio:
OpenSSL says which way it waits (SSLWantReadError / SSLWantWriteError) and the session's Watch
(net/watchdog.py) bounds the whole handshake, or a cancel scope when there is no watch (toward
servers, under `timeout connect`). Any failure returns False and the caller closes: one bad
client never disturbs the others since each connection is its own task.

After the handshake the HTTP path reads and writes through sockio's `tls_*` functions. The byte
relay (mode tcp, a 101 tunnel) needs trio streams when an end is TLS: `TlsStream` adapts an
SSLSocket, and `relay_socks()` keeps the splice relay for plain pairs.

The contexts (certificates, SNI selection, verification) come from trio_lb/tls/contexts.py.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

import trio

from trio_lb.net import sockio
from trio_lb.net.relay import RelayStats, StreamPump, relay, relay_pumps
from trio_lb.net.watchdog import Watch

_INF = float("inf")


def wrap_server(sock: socket.socket, context: ssl.SSLContext) -> ssl.SSLSocket:
    """The server side of a TLS connection on an accepted non-blocking socket (no I/O yet)."""
    return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)


def wrap_client(sock: socket.socket, context: ssl.SSLContext, server_hostname: str | None) -> ssl.SSLSocket:
    """The client side (toward a server); `server_hostname` is sent as SNI (and verified when
    the context checks host names)."""
    return context.wrap_socket(sock, server_side=False, do_handshake_on_connect=False,
                               server_hostname=server_hostname or None)


async def handshake(sock: ssl.SSLSocket, watch: Watch | None, timeout: float | None) -> bool:
    """Complete the TLS handshake within `timeout`; False on timeout or failure (the caller
    closes). With `watch=None` the time limit is a cancel scope."""
    if watch is None:
        with trio.move_on_after(timeout if timeout is not None else _INF):
            return await _handshake(sock, None, _INF)
        return False
    deadline = watch.deadline_in(timeout) if timeout is not None else _INF
    try:
        return await _handshake(sock, watch, deadline)
    except trio.ClosedResourceError:
        if watch.fired:
            return False
        raise
    finally:
        watch.disarm()


async def _handshake(sock: ssl.SSLSocket, watch: Watch | None, deadline: float) -> bool:
    while True:
        try:
            sock.do_handshake()
            return True
        except ssl.SSLWantReadError:
            wait = trio.lowlevel.wait_readable
        except ssl.SSLWantWriteError:
            wait = trio.lowlevel.wait_writable
        except (OSError, ValueError):  # SSLError (alert, version, certificate), reset, EOF
            return False
        if watch is not None:
            watch.arm(sock, None, deadline)
        await wait(sock)


# --- the TLS end of a relay -----------------------------------------------------------------

class TlsStream(trio.abc.HalfCloseableStream):
    """An SSLSocket as a trio stream, for the relay's StreamPump. It does not own the socket:
    aclose() only tells other waiters; the session closes the socket itself."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        sock = self.sock
        size = max_bytes or sockio.RECV_SIZE
        while True:
            try:
                data = sock.recv(size)
            except ssl.SSLWantReadError:
                await trio.lowlevel.wait_readable(sock)
            except ssl.SSLWantWriteError:
                await trio.lowlevel.wait_writable(sock)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):  # close_notify (after ours), ragged EOF
                await trio.lowlevel.cancel_shielded_checkpoint()
                return b""
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
                return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        sock = self.sock
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view):]
            except ssl.SSLWantWriteError:
                await trio.lowlevel.wait_writable(sock)
            except ssl.SSLWantReadError:
                await trio.lowlevel.wait_readable(sock)
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.wait_writable(self.sock)

    async def send_eof(self) -> None:
        """close_notify, then FIN: the peer sees the end of the stream as HAProxy shows it."""
        await trio.lowlevel.checkpoint()
        close_notify(self.sock)
        try:  # the raw socket's: SSLSocket.shutdown() would drop the SSL object, and the read side with it
            socket.socket.shutdown(self.sock, socket.SHUT_WR)
        except OSError:
            pass

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def close_notify(sock: ssl.SSLSocket) -> None:
    """Send a TLS close_notify without waiting for the peer's (non-blocking, best effort); the
    read side stays usable."""
    try:
        sock.unwrap()  # non-blocking: sends ours, then says it waits for theirs (SSLWantReadError)
    except (OSError, ValueError):
        pass


def _stream(sock: socket.socket) -> trio.abc.HalfCloseableStream:
    if isinstance(sock, ssl.SSLSocket):
        return TlsStream(sock)
    return trio.SocketStream(sockio.as_trio(sock))


async def relay_socks(client: socket.socket, server: socket.socket, *, idle_timeout: float | None,
                      stats: RelayStats, client_prefix: bytes = b"", server_prefix: bytes = b"") -> str:
    """net.relay.relay() between two stdlib sockets, either of them TLS: the splice relay when
    both are plain, else StreamPumps over TlsStream / SocketStream (the clear bytes are copied)."""
    if not isinstance(client, ssl.SSLSocket) and not isinstance(server, ssl.SSLSocket):
        return await relay(sockio.as_trio(client), sockio.as_trio(server), idle_timeout=idle_timeout, stats=stats,
                           client_prefix=client_prefix, server_prefix=server_prefix)
    c, s = _stream(client), _stream(server)
    return await relay_pumps(StreamPump(c, s), StreamPump(s, c), idle_timeout=idle_timeout, stats=stats,
                             client_prefix=client_prefix, server_prefix=server_prefix)


# --- health checks over TLS (check-ssl) -----------------------------------------------------

class TlsCheckSocket:
    """The subset of a trio socket the health checks use (send, recv, setsockopt, close), over
    an SSLSocket made from a connected trio socket."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self.stream = TlsStream(sock)

    @classmethod
    def wrap(cls, tsock: trio.socket.SocketType, context: ssl.SSLContext, server_hostname: str | None) -> TlsCheckSocket:
        plain = socket.socket(tsock.family, tsock.type, tsock.proto, fileno=tsock.detach())
        plain.setblocking(False)
        try:
            return cls(wrap_client(plain, context, server_hostname))
        except BaseException:
            plain.close()
            raise

    async def handshake(self) -> bool:
        return await _handshake(self.sock, None, _INF)

    async def send(self, data: bytes | memoryview) -> int:
        await self.stream.send_all(data)
        return len(data)

    async def recv(self, size: int) -> bytes:
        return await self.stream.receive_some(size)

    def setsockopt(self, *args: Any) -> None:
        self.sock.setsockopt(*args)

    def close(self) -> None:
        sockio.close(self.sock)


# --- logging ----------------------------------------------------------------------------------

def failure_log_line(peer: tuple[str, int], accept_time: float, frontend: str, bind: str, reason: str) -> str:
    """HAProxy's embryonic-session log line (session_prepare_log_prefix + conn_err_code_str):
    "127.0.0.1:40000 [12/Mar/2024:10:00:00.123] fe/1: SSL handshake failure"."""
    tm = time.localtime(accept_time)
    date = time.strftime("%d/%b/%Y:%H:%M:%S", tm) + f".{int(accept_time * 1000) % 1000:03d}"
    return f"{peer[0]}:{peer[1]} [{date}] {frontend}/{bind}: {reason}"
