"""mode http: h11 toward the client (SERVER role) and toward the server (CLIENT role).

Theory of operation
-------------------
One `HttpSession` per client connection runs transactions in a loop (keep-alive):

    read request head  -> route (use_backend rules) -> server slot (maxconn / queue)
    -> server connection (pool or connect, retries, redispatch) -> forward head
    -> stream request body -> read response head -> forward -> stream response body
    -> release the slot, pool the server connection, `start_next_cycle()` both sides

Bodies are streamed chunk by chunk (never whole in memory), framing re-done by h11 on each side
(content-length or chunked as received). A 101 answer to an Upgrade request turns the pair
into a byte tunnel (net/relay.py) under `timeout tunnel`.

Time limits, as HAProxy applies them: the whole request head within `timeout http-request`
(408 if some bytes came, silent close if none); the wait for the next request on a kept-alive
connection within `timeout http-keep-alive`; client inactivity `timeout client`; the server's
answer and its inactivity `timeout server` (504 before any response byte); queueing `timeout
queue` (503). Each I/O first tries the syscall (or, when the peer cannot have answered yet,
waits first); a wait arms the session's watch, swept by one watchdog task (net/watchdog.py),
instead of a cancel scope per wait; the clock is read as few times per request as possible.

Errors: a malformed request gets HAProxy's raw 400 and the connection closes; nothing else on
the frontend is affected since each session is its own task. A server failure before the
response head gives 502/503/504 (HTX-style pages; the client connection stays open when the
request was read entirely); after it, the client connection is cut, as HAProxy does.
"""

from __future__ import annotations

import socket
import time
from http import HTTPStatus
from typing import Any

import trio

from trio_lb.errors import ConnectError, NoServerAvailable
from trio_lb.http.errorpages import REASONS, error_response
from trio_lb.http.forwarding import SMUGGLING, UPGRADE, HttpPolicy, scan
from trio_lb.net import sockio
from trio_lb.net.relay import RelayStats
from trio_lb.net.tls import relay_socks
from trio_lb.net.streams import ProxyStream
from trio_lb.net.upstream import QueueTimeout, ServerConn, acquire, give_back, open_conn
from trio_lb.rules.context import HttpMessage
from trio_lb.rules.replies import errorfile_reply, proxy_errorfile, reply_bytes
from trio_lb.rules.sample import RequestView
from trio_lb.state.proxies import BackendState

try:
    import h11_mypyc as h11
except ImportError:  # pragma: no cover
    import h11

_NEED_DATA = h11.NEED_DATA
_Data = h11.Data
_EOM = h11.EndOfMessage
_INF = float("inf")
_FLUSH = 65536  # bytes gathered before a write while streaming a body


class _Timeout(Exception):
    def __init__(self, where: str) -> None:
        self.where = where


class _ServerFailed(Exception):
    """The server closed or broke the connection before/during the response."""


class _ClientGone(Exception):
    pass


class HttpSession(ProxyStream):
    """One client connection in mode http."""

    def __init__(self, sock: socket.socket, peer: tuple[str, int], local: tuple[str, int], fe: Any) -> None:
        self.init_stream()
        self.sock = sock
        self.peer = peer
        self.local = local
        self.fe = fe  # net.frontend.FrontendCtx
        self._recv, self._send = sockio.io_for(sock)  # plain or TLS, chosen once
        tls_runtime = getattr(fe.runtime, "tls", None)
        self.server_tls = tls_runtime.servers if tls_runtime is not None else None  # (backend, server) -> ServerTLS
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=fe.bufsize)
        self.bytes_in = 0
        self.bytes_out = 0
        self.txn_in0 = 0  # bytes_in when the current transaction began (see FrontendCtx.finish)
        self.requests = 0
        self.server_timeout: float | None = None
        self.watch = fe.watchdog.watch()
        self.head_rx: list[bytes] | None = None  # the bytes of a request head being read
        self.server_rx: list[bytes] | None = None  # the bytes of a response head being read

    async def run(self) -> None:
        try:
            with self.watch:
                await self._serve()
        except (_ClientGone, sockio.PeerClosed, trio.ClosedResourceError):
            pass
        finally:
            sockio.close(self.sock)

    async def _serve(self) -> None:
        conn = self.conn
        while await self._transaction():
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                break
            conn.start_next_cycle()
            if conn.trailing_data[0]:
                # pipelined requests never wait on the socket: yield to the others here
                await trio.lowlevel.checkpoint()

    # --- client side ----------------------------------------------------------------------

    async def _client_event(self, timeout: float | None, where: str, total: float | None = None) -> Any:
        """The next h11 event from the client; `timeout` bounds each wait, `total` all of them
        (its clock starts at the first wait, so an already buffered head costs no clock read)."""
        conn = self.conn
        deadline = _INF
        while True:
            event = conn.next_event()
            if event is not _NEED_DATA:
                return event
            if total is not None and deadline == _INF:
                deadline = self.watch.deadline_in(total)
            await self._client_data(timeout, where, deadline)

    async def _client_data(self, timeout: float | None, where: str, deadline: float = _INF,
                           idle: bool = False) -> None:
        data = await self._recv(self.sock, self.watch, timeout, deadline, idle, wait_first=idle)
        if data is None:
            raise _Timeout(where)
        if self.head_rx is not None:
            self.head_rx.append(data)
        self.bytes_in += len(data)
        self.conn.receive_data(data)

    async def _to_client(self, data: bytes) -> None:
        if data:
            self.bytes_out += len(data)
            if not await self._send(self.sock, self.watch, data, self.fe.timeouts.client):
                raise _Timeout("client")

    async def _read_request(self) -> Any:
        """The next request head, or None when the client is done (closed or idle timeout)."""
        t = self.fe.timeouts
        conn = self.conn
        pending = conn.trailing_data[0]  # pipelined bytes already read
        # what arrives until the head is parsed is kept for `show errors` (h11 keeps no copy)
        self.head_rx = received = [pending]
        try:
            if self.requests and not pending:
                # keep-alive: wait for the first byte of the next request under http-keep-alive
                try:
                    await self._client_data(t.http_keep_alive, "http-keep-alive", idle=True)
                except _Timeout:
                    return None
            try:
                return await self._client_event(None, "http-request", t.http_request)
            except _Timeout:
                if self.bytes_in or conn.trailing_data[0]:
                    await self._parse_error(408)
                return None
            except h11.RemoteProtocolError:
                await self._parse_error(400, b"".join(received))
                return None
        finally:
            self.head_rx = None

    async def _parse_error(self, code: int, head: bytes | None = None) -> None:
        """400 or 408 for a request that could not be read; a 400's bytes go to `show errors`."""
        fe = self.fe
        if head is not None:
            fe.runtime.error_log.record(direction="request", when=time.time(), frontend=(fe.spec.name, fe.spec.id),
                                        backend=None, server=None, src=f"{self.peer[0]}:{self.peer[1]}",
                                        data=head, bufsize=fe.bufsize)
        fe.state.counters.ereq += 1
        fe.state.counters.count_status(code)
        fe.log_error(self, code, "CR" if code == 400 else "cR")
        try:
            await self._to_client(error_response(code, parsing=True))
        except (_Timeout, sockio.PeerClosed):
            pass

    # --- one transaction ------------------------------------------------------------------

    async def _transaction(self) -> bool:
        """Serve one request; True when the client connection may carry another."""
        request = await self._read_request()
        if request is None or type(request) is h11.ConnectionClosed:
            return False
        self.requests += 1
        self.txn = txn = self.fe.new_txn(self, request)
        headers = request.headers
        txn.flags = flags = scan(headers)
        if flags & SMUGGLING == SMUGGLING or self._head_too_large(request):
            await self._parse_error(400, _raw_head(request))
            return False
        view = RequestView(self.peer[0], self.peer[1], self.local[0], self.local[1],
                           method=request.method.decode("ascii"), target=request.target.decode("latin-1"),
                           headers=headers, version=request.http_version.decode("ascii"),
                           req_len=self.bytes_in - self.txn_in0, ssl=self.tls is not None)
        view.tls = self.tls
        fe = self.fe
        txn.view = view
        if fe.spec.monitor_uri:
            reply = fe.monitor_reply(view)
            if reply is not None:
                return await self._local_reply(txn, reply)
        msg = None
        pipeline = fe.pipeline
        if pipeline.active:  # rules, persistence, stick tables: HAProxy's order, see rules/stream.py
            txn.rules = pipeline.start(view, self.tracker, txn.start)
            msg = HttpMessage(headers=list(headers), method=view.method, target=view.target, version=view.version)
            outcome = pipeline.frontend_request(msg, view)
            if outcome is not None and outcome.kind != "allow":
                return await self._rule_outcome(txn, outcome)
        backend = fe.router.route(view)
        txn.backend = backend
        if msg is not None and backend is not None:
            outcome = pipeline.backend_request(backend, msg, view)
            if outcome is not None and outcome.kind != "allow":
                return await self._rule_outcome(txn, outcome)
            request = h11.Request(method=msg.method.encode("latin-1"), target=msg.target.encode("latin-1"),
                                  headers=msg.headers, http_version=msg.version.encode("ascii"), _parsed=True)
        applets = fe.stats_applets
        if applets:
            applet = applets.get(fe.spec.name) or (applets.get(backend.name) if backend else None)
            if applet is not None and applet.matches(view.target, view.method):
                return await self._stats(txn, applet, view)
        if backend is None:
            return await self._local_error(txn, 503, "PR", request_read=False)
        return await self._forward(txn, backend, request, view)

    async def _stats(self, txn: Any, applet: Any, view: RequestView) -> bool:
        """The stats page, answered by trio-lb itself (logged as server <STATS>, state LR); a
        POST (the admin form) brings its body, at most the buffer's worth."""
        fe = self.fe
        txn.applet = "<STATS>"
        body = await self._request_body(fe.max_head + 1)
        if body is None:
            return False
        admin = fe.admin
        reply = applet.respond(view.method, view.target, view, body, fe.runtime, trio.current_time(),
                               admin.process_info(), admin.log, ctx=admin)
        return await self._local_reply(txn, reply, drained=True)

    async def _rule_outcome(self, txn: Any, outcome: Any) -> bool:
        """A rule answered the request itself (deny, return, redirect, tcp-request reject)."""
        if outcome.kind == "reject":
            txn.termination = "PR"
            self.fe.state.counters.dreq += 1
            self.fe.finish(txn, self)
            return False
        if outcome.kind == "service":  # http-request use-service
            txn.applet = "<PROMEX>"
            return await self._local_reply(txn, self.fe.service_reply(outcome.service, txn.view))
        if outcome.termination == "PR":
            self.fe.state.counters.dreq += 1
        txn.termination = outcome.termination
        if getattr(outcome, "verbatim", False):
            return await self._errorfile_reply(txn, outcome)
        reply = (outcome.status, list(outcome.headers or ()), outcome.body)
        return await self._local_reply(txn, reply, intercepted=False)

    async def _errorfile_reply(self, txn: Any, reply: Any) -> bool:
        """An `errorfile` goes out as written (its own status line, no framing added), after the
        http-after-response rules, and the connection closes, as HAProxy sends it."""
        if txn.rules is not None and reply.version:
            reply.status, reply.headers = self._after_response(txn, reply.status, reply.headers or [])
        txn.status = reply.status
        try:
            await self._to_client(reply_bytes(reply))
        except (_Timeout, sockio.PeerClosed):
            pass
        finally:
            self.fe.finish(txn, self)
        return False

    async def _local_reply(self, txn: Any, reply: tuple[int, list, bytes], drained: bool = False,
                           intercepted: bool = True) -> bool:
        """Send an answer trio-lb makes itself (stats page, monitor, metrics, a rule's reply);
        the applets' answers are logged LR and counted as intercepted, as HAProxy counts them."""
        if not drained and not await self._drain_request():
            return False
        if intercepted:
            self.fe.state.counters.intercepted += 1
            txn.termination = "LR"
        status, headers, body = reply
        if txn.rules is not None:
            status, headers = self._after_response(txn, status, headers)
        txn.status = status
        conn = self.conn
        try:
            await self._to_client(conn.send(h11.Response(status_code=status, reason=_reason(status), headers=headers,
                                                          _parsed=True))
                                  + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        finally:
            self.fe.finish(txn, self)
        return True

    def _after_response(self, txn: Any, status: int, headers: list) -> tuple[int, list]:
        """http-after-response rules on a response trio-lb generated."""
        msg = HttpMessage(headers=list(headers), status=status, reason=_reason(status).decode(), is_response=True)
        self.fe.pipeline.after_response(txn.rules, txn.backend, msg, txn.view)
        return msg.status or status, msg.headers

    def _head_too_large(self, request: Any) -> bool:
        """HAProxy refuses a head larger than bufsize - maxrewrite, or with too many headers.
        h11 only bounds incomplete heads, so a large head read in one go is measured here
        (only when the bytes read for this request exceed the limit: the common case is free)."""
        fe = self.fe
        if len(request.headers) > fe.maxhdr:
            return True
        if self.bytes_in - self.txn_in0 <= fe.max_head:
            return False
        size = len(request.method) + len(request.target) + 11
        size += sum(len(n) + len(v) + 4 for n, v in request.headers)
        return size > fe.max_head

    async def _forward(self, txn: Any, backend: BackendState, request: Any, view: RequestView) -> bool:
        attempt = txn.attempt
        chosen = None
        st = txn.rules
        if st is not None:  # cookie persistence, stick tables
            pipeline = self.fe.pipeline
            chosen = pipeline.choose_server(st, backend, view, attempt.start)
            txn.cookie_flags = pipeline.cookie_flags(st, backend)
            headers = pipeline.server_headers(st, backend, request.headers)
            if headers is not request.headers:
                request = h11.Request(method=request.method, target=request.target, headers=headers,
                                      http_version=request.http_version, _parsed=True)
        try:
            await acquire(backend, view, attempt, backend.spec.timeouts.queue or backend.spec.timeouts.connect,
                          server=chosen)
        except NoServerAvailable:
            return await self._local_error(txn, 503, "SC", request_read=False)
        except QueueTimeout:
            return await self._local_error(txn, 503, "sQ", request_read=False)
        try:
            return await self._with_server(txn, backend, request, view)
        finally:
            backend.release(attempt.server, txn.end or trio.current_time())

    async def _with_server(self, txn: Any, backend: BackendState, request: Any, view: RequestView) -> bool:
        attempt = txn.attempt
        self.server_timeout = backend.spec.timeouts.server
        upgrade = txn.flags & UPGRADE == UPGRADE
        policy: HttpPolicy = self.fe.policy(backend)
        headers = policy.request_headers(request.headers, self.peer[0], txn.flags)
        if request.http_version != b"1.1" and not any(n == b"host" for n, _ in headers):
            headers = [*headers, (b"host", b"")]
        out = h11.Request(method=request.method, target=request.target, headers=headers, _parsed=True)
        for _ in range(2):  # a second try only when a reused idle connection turned out dead
            try:
                sconn = await open_conn(backend, view, attempt, tls=self.server_tls)
            except ConnectError:
                return await self._local_error(txn, 503, "SC", request_read=False)
            txn.server_conn = sconn
            if attempt.redispatched and txn.rules is not None and txn.rules.persist is not None:
                txn.rules.persist.redispatched()  # the client gets the new server's cookie
            try:
                return await self._exchange(txn, sconn, out, policy, upgrade)
            except _ServerFailed:
                sockio.close(sconn.sock)
                if sconn.reused and not txn.response_started and not txn.body_started:
                    continue
                return await self._server_error(txn, 502, "SH")
            except _Timeout as exc:
                sockio.close(sconn.sock)
                if exc.where == "server":
                    return await self._server_error(txn, 504, "sH")
                txn.termination = "cD" if txn.response_started else "cR"
                self.fe.finish(txn, self)
                return False
            except (_ClientGone, sockio.PeerClosed):
                sockio.close(sconn.sock)
                txn.termination = "CD" if txn.response_started else "CR"
                self.fe.finish(txn, self)
                return False
        return False

    async def _exchange(self, txn: Any, sconn: ServerConn, out: Any, policy: HttpPolicy, upgrade: bool) -> bool:
        head = sconn.h11.send(out)
        if self.conn.client_is_waiting_for_100_continue:
            await self._to_server(sconn, head)
            response = await self._head_while_streaming(txn, sconn)
        else:
            await self._stream_request_body(txn, sconn, head)
            response = await self._read_response_head(txn, sconn)
        if response.status_code == 101 and upgrade:
            return await self._tunnel(txn, sconn, response, policy)
        status, reason, headers = response.status_code, response.reason, response.headers
        if txn.rules is not None:
            msg = await self._response_rules(txn, sconn, response)
            if msg is None:
                return False  # http-response deny: answered by _response_rules
            status, reason, headers = msg.status, msg.reason.encode("latin-1", "replace"), msg.headers
        # headers come from h11's own parser plus our fixed additions: skip re-validation
        reply = h11.Response(status_code=status, reason=reason,
                             headers=policy.response_headers(headers, False), _parsed=True)
        txn.status = status
        txn.response_started = True
        await self._stream_response_body(txn, sconn, self.conn.send(reply))
        txn.termination = "--"
        txn.end = now = trio.current_time()
        give_back(sconn, now)
        txn.server_conn = None
        self.fe.finish(txn, self, now)
        return not policy.close_client

    async def _response_rules(self, txn: Any, sconn: ServerConn, response: Any) -> HttpMessage | None:
        """http-response rules, Set-Cookie, stick storage, http-after-response rules on a
        server's response head. None when a rule denied it: the client then gets the rule's
        reply (HAProxy's 502, logged PH) and the server connection is dropped."""
        pipeline = self.fe.pipeline
        msg = HttpMessage(headers=list(response.headers), status=response.status_code,
                          reason=response.reason.decode("latin-1"), is_response=True)
        outcome = pipeline.response(txn.rules, txn.backend, msg, txn.view, sconn.server, txn.view.method,
                                    trio.current_time())
        txn.cookie_flags = pipeline.cookie_flags(txn.rules, txn.backend)
        if outcome is None:
            pipeline.after_response(txn.rules, txn.backend, msg, txn.view)
            txn.rules.extra["response_headers"] = msg.headers  # for `capture response header`
            return msg
        sockio.close(sconn.sock)
        txn.server_conn = None
        txn.backend.counters.dresp += 1
        self.fe.state.counters.dresp += 1
        txn.termination = outcome.termination
        await self._local_reply(txn, (outcome.status, list(outcome.headers or ()), outcome.body),
                                drained=self._request_complete(), intercepted=False)
        return None

    async def _head_while_streaming(self, txn: Any, sconn: ServerConn) -> Any:
        """Expect: 100-continue: the client sends its body only once the server says 100, so
        read the server's answer while forwarding whatever body comes. A final answer that
        comes first ends the body forwarding (the client connection then closes)."""
        async with trio.open_nursery() as nursery:
            body_done = trio.Event()

            async def body() -> None:
                await self._stream_request_body(txn, sconn)
                body_done.set()

            nursery.start_soon(body)
            response = await self._read_response_head(txn, sconn)
            if not body_done.is_set() and not txn.body_started:
                nursery.cancel_scope.cancel()
        return response

    async def _to_server(self, sconn: ServerConn, data: bytes) -> None:
        try:
            if await sconn.send(sconn.sock, self.watch, data, self.server_timeout):
                return
        except sockio.PeerClosed:
            raise _ServerFailed() from None
        raise _Timeout("server")

    async def _stream_request_body(self, txn: Any, sconn: ServerConn, head: bytes = b"") -> None:
        """Forward the request body, coalescing what is already buffered into one write
        (a bodyless request goes out with its head in a single send)."""
        conn = self.conn
        h = sconn.h11
        client_timeout = self.fe.timeouts.client
        out = [head] if head else []
        size = len(head)
        while True:
            event = conn.next_event()
            if event is _NEED_DATA:
                if out:
                    await self._to_server(sconn, b"".join(out))
                    out.clear()
                    size = 0
                await self._client_data(client_timeout, "client")
                continue
            t = type(event)
            if t is _Data:
                txn.body_started = True
                chunk = h.send(event)
                out.append(chunk)
                size += len(chunk)
                if size >= _FLUSH:
                    await self._to_server(sconn, b"".join(out))
                    out.clear()
                    size = 0
                continue
            if t is _EOM:
                out.append(h.send(event))
            elif t is h11.ConnectionClosed:
                raise _ClientGone()
            # else PAUSED: an Upgrade request is complete, waiting for the server's verdict
            if out:
                await self._to_server(sconn, b"".join(out))
            return

    async def _server_event(self, sconn: ServerConn) -> Any:
        h = sconn.h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError:
                raise self._bad_response(sconn) from None
            if event is not _NEED_DATA:
                if type(event) is h11.ConnectionClosed:
                    raise _ServerFailed()
                return event
            await self._server_data(sconn)

    def _bad_response(self, sconn: ServerConn) -> _ServerFailed:
        """A response h11 could not parse: its bytes go to `show errors` (the backend's; the
        bytes of a head, none for an error in a body)."""
        fe, txn = self.fe, self.txn
        backend = txn.backend if txn is not None else None
        if backend is not None:
            server = sconn.server
            fe.runtime.error_log.record(
                direction="response", when=time.time(), frontend=(fe.spec.name, fe.spec.id),
                backend=(backend.name, backend.id), server=(server.name, server.id),
                src=f"{self.peer[0]}:{self.peer[1]}", data=b"".join(self.server_rx or ()), bufsize=fe.bufsize)
        return _ServerFailed()

    async def _server_data(self, sconn: ServerConn, wait_first: bool = False) -> None:
        data = await sconn.recv(sconn.sock, self.watch, self.server_timeout, wait_first=wait_first)
        if data is None:
            raise _Timeout("server")
        if self.server_rx is not None:
            self.server_rx.append(data)
        sconn.h11.receive_data(data)

    async def _read_response_head(self, txn: Any, sconn: ServerConn) -> Any:
        h = sconn.h11
        pending = h.trailing_data[0]
        self.server_rx = [pending]  # the head's bytes, for `show errors`
        try:
            return await self._response_head(txn, sconn, pending)
        finally:
            self.server_rx = None

    async def _response_head(self, txn: Any, sconn: ServerConn, pending: bytes) -> Any:
        h = sconn.h11
        if h.their_state is h11.SEND_RESPONSE and not pending:
            # the request just left: the answer cannot be there yet, wait before reading
            await self._server_data(sconn, wait_first=True)
        while True:
            event = await self._server_event(sconn)
            if type(event) is h11.InformationalResponse and event.status_code != 101:
                # 100-continue and friends go straight to the client
                txn.response_started = True
                await self._to_client(self.conn.send(event))
                continue
            # %Tr is measured from the request's start minus queue and connect times
            at = txn.attempt
            elapsed = int((trio.current_time() - txn.start) * 1000)
            txn.response_ms = max(0, elapsed - max(at.queue_ms, 0) - max(at.connect_ms, 0))
            return event

    async def _stream_response_body(self, txn: Any, sconn: ServerConn, head: bytes) -> None:
        """Forward the response; what the server already sent goes out with the head in one
        write (a small response costs one send), larger bodies flush every _FLUSH bytes."""
        conn = self.conn
        h = sconn.h11
        out = [head]
        size = len(head)
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError:
                raise self._bad_response(sconn) from None
            if event is _NEED_DATA:
                if out:
                    await self._to_client(b"".join(out))
                    out.clear()
                    size = 0
                await self._server_data(sconn)
                continue
            t = type(event)
            if t is _Data:
                chunk = conn.send(event)
                out.append(chunk)
                size += len(chunk)
                if size >= _FLUSH:
                    await self._to_client(b"".join(out))
                    out.clear()
                    size = 0
            elif t is _EOM:
                out.append(conn.send(event))
                await self._to_client(b"".join(out))
                return
            elif t is h11.ConnectionClosed:
                raise _ServerFailed()

    async def _tunnel(self, txn: Any, sconn: ServerConn, response: Any, policy: HttpPolicy) -> bool:
        reply = h11.InformationalResponse(status_code=101, reason=response.reason,
                                          headers=policy.response_headers(response.headers, True))
        txn.status = 101
        txn.response_started = True
        await self._to_client(self.conn.send(reply))
        client_extra = self.conn.trailing_data[0]
        server_extra = sconn.h11.trailing_data[0]
        fe = self.fe
        idle = fe.tunnel_timeout(txn.backend)
        stats = RelayStats()
        txn.server_conn = None
        try:
            txn.termination = await relay_socks(self.sock, sconn.sock, idle_timeout=idle, stats=stats,
                                                client_prefix=client_extra, server_prefix=server_extra)
        finally:
            sockio.close(sconn.sock)
        self.bytes_in += stats.bytes_in
        self.bytes_out += stats.bytes_out
        fe.finish(txn, self)
        return False

    # --- errors -----------------------------------------------------------------------------

    async def _local_error(self, txn: Any, code: int, termination: str, request_read: bool) -> bool:
        """An error decided before any server answered (503 no server, queue timeout...): the
        proxies' `errorfile` if any, else HAProxy's page; http-after-response rules apply."""
        txn.status = code
        txn.termination = termination
        raw = proxy_errorfile(code, txn.backend.spec if txn.backend else None, self.fe.spec)
        if raw is not None:
            return await self._errorfile_reply(txn, errorfile_reply(raw, code, termination, verbatim=True))
        close = not self._request_complete()
        if close and not request_read:
            # drain what is left of a small request body so the connection can live on
            close = not await self._drain_request()
        headers = _error_headers(code, close)
        if txn.rules is not None:
            code, headers = self._after_response(txn, code, headers)
        try:
            await self._to_client(self.conn.send(h11.Response(status_code=code, reason=_reason(code),
                                                              headers=headers))
                                  + self.conn.send(h11.Data(data=_error_body(code)))
                                  + self.conn.send(h11.EndOfMessage()))
        finally:
            self.fe.finish(txn, self)
        return not close

    async def _server_error(self, txn: Any, code: int, termination: str) -> bool:
        sconn = txn.server_conn
        backend = txn.backend
        server = txn.attempt.server
        backend.counters.eresp += 1
        if server is not None:
            server.counters.eresp += 1
        if sconn is not None:
            sockio.close(sconn.sock)
            txn.server_conn = None
        txn.termination = termination
        if txn.response_started:
            self.fe.finish(txn, self)
            return False
        return await self._local_error(txn, code, termination, request_read=True)

    def _request_complete(self) -> bool:
        return self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED)

    async def _drain_request(self) -> bool:
        """Read and drop the rest of the request body (up to 1 MiB); True if it ended."""
        return await self._request_body(0) is not None

    async def _request_body(self, keep: int) -> bytes | None:
        """Read the rest of the request body (up to 1 MiB), keeping its first `keep` bytes;
        None when it did not end (too long, timeout, broken)."""
        budget = 1 << 20
        kept: list[bytes] = []
        size = 0
        try:
            while budget > 0:
                event = await self._client_event(self.fe.timeouts.client, "client")
                if type(event) is _EOM:
                    return b"".join(kept)
                if type(event) is not _Data:
                    return None
                budget -= len(event.data)
                if size < keep:
                    kept.append(bytes(event.data[:keep - size]))
                    size += len(kept[-1])
        except (_Timeout, h11.RemoteProtocolError):
            return None
        return None


def _raw_head(request: Any) -> bytes:
    """A parsed request head written back as bytes (for `show errors`: h11 keeps no copy)."""
    lines = [b"%s %s HTTP/%s" % (request.method, request.target, request.http_version)]
    lines += [name + b": " + value for name, value in request.headers.raw_items()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _reason(code: int) -> bytes:
    reason = REASONS.get(code)
    if reason is None:  # an applet's status (303 of the stats form, ...)
        reason = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else ""
    return reason.encode()


def _error_body(code: int) -> bytes:
    raw = error_response(code)
    return raw[raw.index(b"\r\n\r\n") + 4:]


def _error_headers(code: int, close: bool) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-length", str(len(_error_body(code))).encode()), (b"cache-control", b"no-cache"),
               (b"content-type", b"text/html")]
    if close:
        headers.append((b"connection", b"close"))
    return headers


