"""Client sessions as streams of the registry (state/streams.py): describe, kill, run.

`run_session()` is how the accept loop runs a session: it registers it in `runtime.streams`,
runs it inside its own cancel scope (one per connection, not per wait: cheap), and takes it out
when it ends. `kill()` (`shutdown session`, `shutdown sessions server`) cancels that scope: the
session's `finally` blocks release its server slot and close its sockets, and the transaction
in flight, if any, is logged here with a `K` termination state as HAProxy logs it.

TLS (`bind ... ssl`): the accept loop hands over an SSLSocket not yet handshaken; the handshake
runs here, after the `tcp-request connection` rules (as in HAProxy) and before the session,
within the frontend's `timeout http-request` (mode http) or `timeout client`. A failure closes
that connection only, and is logged as HAProxy logs an embryonic session's error.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import trio

from trio_lb.net import sockio, tls
from trio_lb.rules.actions import run_rules
from trio_lb.rules.context import RuleContext
from trio_lb.rules.sample import RequestView
from trio_lb.rules.track import Tracker
from trio_lb.state.streams import Endpoint, StreamView

_PROTOS = {socket.AF_INET: "tcpv4", socket.AF_INET6: "tcpv6", socket.AF_UNIX: "unix_stream"}


class ProxyStream:
    """What HttpSession and TcpSession share as streams; they set sock, peer, local, fe,
    bytes_in, bytes_out, and `txn` while a transaction is in flight."""

    __slots__ = ("scope", "killed", "born", "txn", "epoch", "uid", "tracker", "tls")
    tcp = False

    def init_stream(self) -> None:
        self.scope: trio.CancelScope | None = None
        self.killed = False
        self.born = 0.0
        self.txn: Any = None
        self.epoch = 0
        self.uid = 0
        self.tracker: Tracker | None = None  # the connection's stick counters (tcp-request connection)
        self.tls: Any = None  # the client connection's TlsInfo (trio_lb.tls) once handshaken, None in clear

    def admit(self) -> bool:
        """`tcp-request connection` rules, right after accept: False when one rejects the
        connection (closed at once, counted in the frontend's dcon)."""
        fe = self.fe
        rules = fe.spec.tcp_request_connection_rules
        if not rules and not fe.pipeline.active:
            return True
        self.tracker = tracker = Tracker()
        if not rules:
            return True
        now = trio.current_time()
        view = RequestView(self.peer[0], self.peer[1], self.local[0], self.local[1])
        ctx = RuleContext(tables=fe.pipeline.tables, frontend=fe.spec)
        ctx.now = now
        tracker.bind(ctx)
        view.ctx = ctx
        outcome = run_rules(rules, None, view)
        if outcome is not None and outcome.kind == "reject":
            fe.state.counters.dcon += 1
            return False
        tracker.session_accepted(now)
        return True

    def kill(self) -> None:
        self.killed = True
        txn = self.txn
        if txn is not None:
            txn.termination = "K" + kill_phase(txn, self.tcp)
        scope = self.scope
        if scope is not None:
            scope.cancel()

    def on_server(self, server: object) -> bool:
        txn = self.txn
        return txn is not None and txn.attempt.server is server

    def view(self, now: float) -> StreamView | None:
        txn = self.txn
        if txn is None:  # an HTTP connection between requests: no stream, as in HAProxy
            return None
        fe = self.fe.spec
        sock = self.sock
        view = StreamView(
            proto=_PROTOS.get(sock.family, "tcpv4"), src=_addr(self.peer, sock.family),
            frontend=Endpoint(fe.name, fe.id, fe.mode), age=max(0.0, now - self.born),
            calls=getattr(self, "requests", 1) or 1, front_fd=sock.fileno(),
            bytes_in=self.bytes_in, bytes_out=self.bytes_out, local=_addr(self.local, sock.family))
        view.accept_date = time.time() - view.age
        backend = txn.backend
        if backend is not None:
            view.backend = Endpoint(backend.name, backend.id, backend.spec.mode)
        server = txn.attempt.server
        if server is not None:
            view.server = Endpoint(server.name, server.id, f"{server.host}:{server.port}")
        sconn = txn.server_conn
        if sconn is not None:
            view.back_fd = sconn.sock.fileno()
            try:
                view.server_local = _addr(sconn.sock.getsockname(), sconn.sock.family)
            except OSError:
                pass
        watch = getattr(self, "watch", None)
        if watch is not None and watch.sock is not None and watch.expires != float("inf"):
            view.expires_in = max(0.0, watch.expires - watch.dog.now)
        return view


def kill_phase(txn: Any, tcp: bool) -> str:
    """HAProxy's termination state letter for a stream killed at this point of `txn`."""
    if txn.response_started:
        return "D"
    if txn.server_conn is not None:
        return "D" if tcp else "H"
    if txn.attempt.server is not None:
        return "C"
    if txn.backend is not None:
        return "Q"
    return "R"


async def run_session(cls: type, conn: socket.socket, peer: tuple[str, int], local: tuple[str, int],
                      fe: Any, bind_tls: Any = None, bind_name: str = "") -> None:
    """Run one client connection; with `bind_tls` (a trio_lb.tls BindTLS) `conn` is an SSLSocket
    whose handshake is done here first."""
    session = cls(conn, peer, local, fe)
    session.born = trio.current_time()
    streams = fe.runtime.streams
    streams.add(session)
    try:
        with trio.CancelScope() as session.scope:
            if session.admit() and (bind_tls is None or await _start_tls(session, bind_tls, bind_name)):
                await session.run()
    finally:
        streams.remove(session)
        if session.tracker is not None:
            session.tracker.close(trio.current_time())
        txn = session.txn
        if session.killed and txn is not None:
            _end_killed(session, txn)


async def _start_tls(session: Any, bind_tls: Any, bind_name: str) -> bool:
    """The client's TLS handshake; False (connection to close) when it fails or times out."""
    fe = session.fe
    t = fe.timeouts
    timeout = t.http_request if fe.spec.mode == "http" else t.client
    watch = fe.watchdog.watch()
    with watch:
        ok = await tls.handshake(session.sock, watch, timeout)
    if ok:
        session.tls = bind_tls.info(session.sock)
        return True
    _log_tls_failure(session, "SSL handshake timeout" if watch.fired else "SSL handshake failure", bind_name)
    return False


def _log_tls_failure(session: Any, reason: str, bind_name: str) -> None:
    fe = session.fe
    logger = fe.logger
    if logger is None:
        return
    if fe.spec.dontlognull and reason == "SSL handshake timeout":
        return  # with dontlognull HAProxy logs no embryonic session that timed out
    accepted = time.time() - (trio.current_time() - session.born)
    logger.logger.log(tls.failure_log_line(session.peer, accepted, fe.spec.name, bind_name, reason),
                      level="info", now=time.time())


def _end_killed(session: Any, txn: Any) -> None:
    if txn.server_conn is not None:
        sockio.close(txn.server_conn.sock)
        txn.server_conn = None
    session.fe.finish(txn, session)


def _addr(addr: Any, family: int) -> str:
    if family == socket.AF_UNIX:
        return "unix:1"
    return f"{addr[0]}:{addr[1]}"
