"""Per-frontend context shared by all its sessions: routing, timeouts, policies, accounting, logs.

Built once per frontend at start-up. A session calls `new_txn()` when a request (or a TCP
connection) starts and `finish()` once it is over; `finish()` is the single place where a
transaction's counters are added up and its log line is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trio

from trio_lb.config.model import Proxy, Timeouts
from trio_lb.http.forwarding import HttpPolicy
from trio_lb.http.monitor import monitor_reply
from trio_lb.http.stats_page import StatsApplet
from trio_lb.net.admin_ctx import AdminContext
from trio_lb.net.upstream import Attempt, ServerConn
from trio_lb.rules.sample import RequestView
from trio_lb.config.keywords.tcp_rules import inspect_delay
from trio_lb.rules.stream import Pipeline
from trio_lb.state.proxies import BackendState, FrontendState, Runtime
from trio_lb.state.routing import Router
from trio_lb.stats.prometheus import SERVICES


@dataclass(slots=True)
class FrontendTimeouts:
    client: float | None
    http_request: float | None
    http_keep_alive: float | None

    @classmethod
    def of(cls, t: Timeouts) -> FrontendTimeouts:
        http_request = t.http_request if t.http_request is not None else t.client
        keep_alive = t.http_keep_alive if t.http_keep_alive is not None else http_request
        return cls(t.client, http_request, keep_alive)


class Txn:
    """One HTTP transaction or one TCP session, from accept/first byte to the end."""

    __slots__ = (
        "backend", "attempt", "status", "termination", "response_started", "body_started",
        "server_conn", "start", "end", "request_ms", "response_ms", "in0", "out0", "request", "flags",
        "rules", "view", "cookie_flags", "applet",
    )

    def __init__(self, start: float, in0: int, out0: int) -> None:
        self.backend: BackendState | None = None
        self.attempt = Attempt(start=start)
        self.status: int | None = None
        self.termination = "--"
        self.response_started = False
        self.body_started = False
        self.server_conn: ServerConn | None = None
        self.start = start  # trio clock; the logger converts to wall time only when it logs
        self.end = 0.0
        self.request_ms = 0
        self.response_ms = -1
        self.in0 = in0
        self.out0 = out0
        self.request: Any = None  # the h11 Request (decoded for the log line only)
        self.flags = 0  # forwarding.scan() of the request headers
        self.rules: Any = None  # rules.stream.StreamState when the frontend has rules/persistence
        self.view: Any = None  # the RequestView the rules saw
        self.cookie_flags = ""  # %tsc's cookie part, when the backend has `cookie`
        self.applet: str | None = None  # the applet that answered, for %s: "<STATS>", "<PROMEX>"


class FrontendCtx:
    def __init__(self, proxy: Proxy, runtime: Runtime, logger: Any | None, watchdog: Any,
                 admin: AdminContext | None = None) -> None:
        self.spec = proxy
        self.admin = admin or AdminContext(runtime)  # process facts and state-change hooks
        self.watchdog = watchdog
        self.runtime = runtime
        self.state: FrontendState = runtime.frontends[proxy.name]
        self.router = Router(proxy, runtime.backends)
        self.timeouts = FrontendTimeouts.of(proxy.timeouts)
        g = runtime.config.global_
        self.bufsize = g.tune_bufsize
        self.max_head = g.tune_bufsize - int(g.settings.get("tune.maxrewrite", 1024) or 1024)
        self.maxhdr = g.tune_maxhdr
        self._policies: dict[str, HttpPolicy] = {}
        self.logger = logger
        # stats applets of this frontend and of the backends it routes to (`stats enable`/`uri`)
        self.stats_applets: dict[str, StatsApplet] = {
            p.name: StatsApplet(p, runtime.config.global_) for p in runtime.config.proxies if p.stats.get("enable")
        }
        # answered before routing: monitor-uri, then `http-request use-service` (HAProxy's order)
        self.services = {name: factory() for name, factory in SERVICES.items()}  # use-service
        self.pipeline = Pipeline(proxy, runtime)
        # `tcp-request inspect-delay` with content rules: how long a TCP session waits for data
        self.inspect_delay = (inspect_delay(proxy) or 0.0) if proxy.tcp_request_content_rules else 0.0

    def monitor_reply(self, view: RequestView) -> tuple[int, list, bytes] | None:
        """The monitor URI's answer, before any rule (as HAProxy intercepts it)."""
        return monitor_reply(self.spec, view) if self.spec.monitor_uri else None

    def service_reply(self, name: str, view: RequestView) -> tuple[int, list, bytes]:
        """The answer of `http-request use-service <name>` (a rule, run in its place among the
        http-request rules)."""
        return self.services[name].respond(view.target, self.runtime, trio.current_time(), self.admin.process_info(),
                                           method=view.method)

    def policy(self, backend: BackendState) -> HttpPolicy:
        policy = self._policies.get(backend.name)
        if policy is None:
            policy = self._policies[backend.name] = HttpPolicy(self.spec, backend.spec)
        return policy

    def tunnel_timeout(self, backend: BackendState | None) -> float | None:
        if backend is not None and backend.spec.timeouts.tunnel is not None:
            return backend.spec.timeouts.tunnel
        # no `timeout tunnel`: the client and server timeouts both still apply, the first wins
        server = backend.spec.timeouts.server if backend is not None else None
        values = [v for v in (self.timeouts.client, server) if v is not None]
        return min(values) if values else None

    # --- accounting -----------------------------------------------------------------------

    def new_txn(self, session: Any, request: Any | None = None) -> Txn:
        now = trio.current_time()
        txn = Txn(now, getattr(session, "txn_in0", 0), session.bytes_out)
        if request is not None:
            txn.request = request
            counters = self.state.counters
            counters.req_tot += 1
            counters.req_rate.hit(now)
            self.runtime.cum_reqs += 1
        return txn

    def finish(self, txn: Txn, session: Any, now: float | None = None) -> None:
        """Add the transaction to the counters of its frontend, backend and server; log it.
        (Once per request: written for speed, one pass and local names.)"""
        if now is None:
            now = trio.current_time()
        session.txn = None
        bytes_in = session.bytes_in
        bin_ = bytes_in - txn.in0
        bout = session.bytes_out - txn.out0
        if txn.rules is not None:  # replies trio-lb makes itself (return, redirect...) are no HTTP errors
            counted = None if txn.termination[:1] == "L" else txn.status
            Pipeline.finish(txn.rules, counted, bin_, bout, now)
        session.txn_in0 = bytes_in
        status = txn.status
        hrsp = -1
        if status is not None:
            hrsp = status // 100 - 1
            if not 0 <= hrsp < 5:
                hrsp = 5
        abort = txn.termination[:1]
        backend = txn.backend
        server = txn.attempt.server
        targets = [self.state.counters]
        if backend is not None:
            targets.append(backend.counters)
            if server is not None:
                targets.append(server.counters)
        for c in targets:
            c.bin += bin_
            c.bout += bout
            if hrsp >= 0:
                c.hrsp[hrsp] += 1
        for c in targets[1:]:
            if hrsp >= 0:
                c.req_tot += 1
            if abort == "C":
                c.cli_abrt += 1
            elif abort == "S":
                c.srv_abrt += 1
        if server is not None:
            t = txn.attempt
            times = (max(t.queue_ms, 0), max(t.connect_ms, 0), max(txn.response_ms, 0),
                     int((now - txn.start) * 1000))
            server.counters.record_times(*times)
            backend.counters.record_times(*times)
        if self.logger is not None:
            self.logger.transaction(self, txn, session, now)

    def log_error(self, session: Any, code: int, termination: str) -> None:
        """A request that failed to parse: logged like HAProxy's `<BADREQ>` lines."""
        if self.logger is None:
            return
        txn = Txn(trio.current_time(), getattr(session, "txn_in0", 0), session.bytes_out)
        txn.status = code
        txn.termination = termination
        self.logger.transaction(self, txn, session, trio.current_time())

