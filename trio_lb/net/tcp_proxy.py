"""mode tcp: pick a server, connect (retries, redispatch), then relay bytes both ways.

The relay (net/relay.py) splices socket to socket when both ends are plain TCP, so the payload
never enters Python. With `bind ... ssl` (or a server with `ssl`) that end is TLS: the clear
bytes are relayed through trio streams instead (net/tls.py relay_socks). Inactivity: `timeout tunnel` if set, else the first of `timeout client`
and `timeout server` to expire.
"""

from __future__ import annotations

import socket
from typing import Any

import trio

from trio_lb.config.keywords.stick import stick_store
from trio_lb.errors import ConnectError, NoServerAvailable
from trio_lb.net import sockio
from trio_lb.net.relay import RelayStats
from trio_lb.net.streams import ProxyStream
from trio_lb.net.tls import relay_socks
from trio_lb.net.upstream import QueueTimeout, acquire, open_conn
from trio_lb.rules.sample import RequestView
from trio_lb.tls.contexts import TlsInfo


class TcpSession(ProxyStream):
    __slots__ = ("sock", "peer", "local", "fe", "bytes_in", "bytes_out", "txn_in0")
    tcp = True

    def __init__(self, sock: socket.socket, peer: tuple[str, int], local: tuple[str, int], fe: Any) -> None:
        self.init_stream()
        self.sock = sock
        self.peer = peer
        self.local = local
        self.fe = fe
        self.bytes_in = 0
        self.bytes_out = 0
        self.txn_in0 = 0

    async def run(self) -> None:
        fe = self.fe
        self.txn = txn = fe.new_txn(self)
        txn.attempt.dst_port = self.local[1]
        view = RequestView(self.peer[0], self.peer[1], self.local[0], self.local[1], ssl=self.tls is not None)
        view.tls = self.tls
        if self.tls is None and fe.inspect_delay:
            # `tcp-request inspect-delay`: wait for the client's first bytes (a TLS ClientHello for
            # req.ssl_sni routing) before the content rules, at most that long
            view.tls = TlsInfo(hello=await self._peek_first_bytes(fe.inspect_delay))
        pipeline = fe.pipeline
        rejected = False
        if pipeline.active:  # tcp-request content rules, stick tables (see rules/stream.py)
            txn.rules = pipeline.start(view, self.tracker, txn.start)
            outcome = pipeline.frontend_request(None, view)
            rejected = outcome is not None and outcome.kind == "reject"
        backend = None if rejected else fe.router.route(view)
        txn.backend = backend
        try:
            if backend is None:
                txn.termination = "PR"
                return
            await self._to_backend(txn, backend, view)
        finally:
            sockio.close(self.sock)
            fe.finish(txn, self)

    async def _peek_first_bytes(self, delay: float) -> bytes:
        """What the client sent so far, left in the socket for the relay: until a whole TLS
        record is in (or the bytes are not TLS), the client stops sending, or `delay` runs out."""
        sock = self.sock
        data = b""
        with trio.move_on_after(delay):
            while not _record_complete(data):
                await trio.lowlevel.wait_readable(sock)
                try:
                    peeked = sock.recv(16384, socket.MSG_PEEK)
                except BlockingIOError:
                    continue
                except OSError:
                    break
                if len(peeked) == len(data):  # readable but nothing new: the client closed its side
                    break
                data = peeked
        return data

    async def _to_backend(self, txn: Any, backend: Any, view: RequestView) -> None:
        timeouts = backend.spec.timeouts
        st = txn.rules
        chosen = self.fe.pipeline.choose_server(st, backend, view, txn.start) if st is not None else None
        try:
            server = await acquire(backend, view, txn.attempt, timeouts.queue or timeouts.connect, server=chosen)
        except NoServerAvailable:
            txn.termination = "SC"
            return
        except QueueTimeout:
            txn.termination = "sQ"
            return
        if st is not None and backend.spec.stick_rules:  # TCP has no response phase: store now
            stick_store(backend.spec.stick_rules, view, self.fe.pipeline.tables, server.id, trio.current_time(),
                        pending=st.stick.pending if st.stick is not None else [], server_name=server.name)
        try:
            await self._relay(txn, backend, view)
        finally:
            backend.release(txn.attempt.server, trio.current_time())

    async def _relay(self, txn: Any, backend: Any, view: RequestView) -> None:
        try:
            tls_runtime = getattr(self.fe.runtime, "tls", None)
            sconn = await open_conn(backend, view, txn.attempt, http=False,
                                    tls=tls_runtime.servers if tls_runtime is not None else None)
        except ConnectError:
            txn.termination = "SC"
            return
        stats = RelayStats()
        txn.server_conn = sconn
        try:
            txn.termination = await relay_socks(self.sock, sconn.sock, idle_timeout=self.fe.tunnel_timeout(backend),
                                                stats=stats)
        finally:
            txn.server_conn = None
            sockio.close(sconn.sock)
            self.bytes_in += stats.bytes_in
            self.bytes_out += stats.bytes_out


def _record_complete(data: bytes) -> bool:
    """Whether the first TLS record is all in, or the bytes cannot be TLS (nothing to wait for)."""
    if not data:
        return False
    if data[0] != 0x16:
        return True
    return len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big")
