"""One stream's trip through the rules, persistence and stick tables (pure; the data plane calls it).

HAProxy's order, for an HTTP request (http_ana.c) and its response:

    frontend: tcp-request content rules -> http-request rules -> `redirect` rules
    routing (use_backend) -> backend: http-request rules (when it is another proxy)
    server choice: cookie persistence (force/ignore-persist), then `stick match`/`stick on`,
                   else the balancer
    response: backend then frontend http-response rules -> cookie (Set-Cookie) -> stick store
    every response, the generated ones too: http-after-response rules (backend, then frontend)

`Pipeline` is built once per frontend and says whether a stream needs any of it (`active`): a
frontend with no rule, no cookie and no table keeps the plain fast path. Stick counters tracked
by `tcp-request connection` rules belong to the connection (`Tracker`); the others to the stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from trio_lb.config.keywords.stick import StickDecision, stick_request, stick_store
from trio_lb.http import persist
from trio_lb.rules.actions import Outcome, run_rules
from trio_lb.rules.context import HttpMessage, RuleContext
from trio_lb.rules.table_conv import STREAM
from trio_lb.rules.track import Tracker


def _has_rules(px: Any) -> bool:
    return bool(px.http_request_rules or px.http_response_rules or px.http_after_response_rules
                or px.redirects or px.tcp_request_content_rules or px.stick_rules or px.cookie is not None
                or px.captures)


@dataclass
class StreamState:
    """What one HTTP transaction carries from its request to its response."""

    ctx: RuleContext
    persist: persist.Persist | None = None
    stick: StickDecision | None = None
    server: Any = None  # the server persistence or a stick rule chose (a ServerState)
    extra: dict[str, Any] = field(default_factory=dict)


class Pipeline:
    def __init__(self, frontend: Any, runtime: Any) -> None:
        self.fe = frontend
        self.runtime = runtime
        self.tables: dict[str, Any] = getattr(runtime, "tables", None) or {}
        self.active = bool(self.tables) or _has_rules(frontend) or any(
            _has_rules(b.spec) for b in runtime.backends.values())

    # --- request --------------------------------------------------------------------------

    def start(self, view: Any, tracker: Tracker | None, now: float) -> StreamState:
        ctx = RuleContext(tables=self.tables, frontend=self.fe)
        ctx.now = now
        ctx.wall = time.time()
        STREAM.set(ctx)  # for the table_*() converters, in this stream's task
        if tracker is not None:
            tracker.bind(ctx)
        view.ctx = ctx
        if view.method is not None:
            Tracker.http_request(ctx, now)
        return StreamState(ctx)

    def frontend_request(self, msg: HttpMessage, view: Any) -> Outcome | None:
        fe = self.fe
        outcome = run_rules(fe.tcp_request_content_rules, None, view)
        if outcome is None:
            outcome = run_rules(fe.http_request_rules, msg, view)
        if outcome is None or outcome.kind == "allow":
            redirect = run_rules(fe.redirects, msg, view)
            if redirect is not None:
                return redirect
        return outcome

    def backend_request(self, backend: Any, msg: HttpMessage, view: Any) -> Outcome | None:
        view.ctx.backend = backend.spec
        if backend.spec is self.fe:
            return None
        return run_rules(backend.spec.http_request_rules, msg, view)

    def choose_server(self, st: StreamState, backend: Any, view: Any, now: float) -> Any:
        """The server persistence designates (None: load balance); keeps what the response needs."""
        spec = backend.spec
        server = None
        if spec.cookie is not None or spec.persist_rules:
            server, st.persist = persist.choose(spec, backend.servers, view, time.time())
        if server is None and spec.stick_rules:
            def usable(name: str | None, sid: int) -> int | None:
                target = (backend.server(name) if name else None) or next(
                    (s for s in backend.servers if s.id == sid), None)
                if target is None or target.admin == "maint":
                    return None
                if not target.op_up and "persist" not in spec.options and not (st.persist and st.persist.force):
                    return None
                return target.id

            st.stick = stick_request(spec.stick_rules, view, self.tables, now, usable)
            if st.stick.server_id is not None:
                server = next((s for s in backend.servers if s.id == st.stick.server_id), None)
        st.server = server
        return server

    def server_headers(self, st: StreamState, backend: Any, headers: list) -> list:
        """The request headers the server gets (cookie prefix/indirect modes rewrite them)."""
        if st.persist is not None and backend.spec.cookie is not None:
            return st.persist.headers
        return headers

    # --- response -------------------------------------------------------------------------

    def response(self, st: StreamState, backend: Any, msg: HttpMessage, view: Any, server: Any, method: str,
                 now: float) -> Outcome | None:
        """A server's response head: http-response rules, then Set-Cookie and stick storage."""
        ctx = st.ctx
        ctx.response = msg
        spec = backend.spec if backend is not None else None
        outcome = run_rules(spec.http_response_rules, msg, view) if spec is not None else None
        if (outcome is None or outcome.kind == "allow") and spec is not self.fe:
            # `allow` ends one proxy's rule set only: the frontend's rules still run
            outcome = run_rules(self.fe.http_response_rules, msg, view)
        if outcome is not None and outcome.kind != "allow":
            return outcome
        if spec is not None and spec.cookie is not None and st.persist is not None:
            msg.headers = persist.response_headers(spec.cookie, msg.headers, server, st.persist, time.time(),
                                                   method, msg.status or 0)
        if spec is not None and spec.stick_rules and server is not None:
            pending = st.stick.pending if st.stick is not None else []
            stick_store(spec.stick_rules, view, self.tables, server.id, now, pending=pending, server_name=server.name)
        return None

    def after_response(self, st: StreamState | None, backend: Any, msg: HttpMessage, view: Any) -> None:
        """http-after-response rules, on every response (generated ones too)."""
        if st is None:
            return
        st.ctx.response = msg
        spec = backend.spec if backend is not None else None
        if spec is not None:
            run_rules(spec.http_after_response_rules, msg, view)  # `allow` ends this proxy's set only
        if spec is not self.fe:
            run_rules(self.fe.http_after_response_rules, msg, view)

    @staticmethod
    def finish(st: StreamState | None, status: int | None, bytes_in: int, bytes_out: int, now: float) -> None:
        """The transaction is over: error counters, bytes, and the stream's tracked entries."""
        if st is None:
            return
        ctx = st.ctx
        if status:
            Tracker.http_response(ctx, status, now)
        Tracker.bytes(ctx, bytes_in, bytes_out, now)
        Tracker.end_stream(ctx, now)

    def cookie_flags(self, st: StreamState | None, backend: Any) -> str:
        """The cookie part of the log's termination state (%tsc), "--" without cookies."""
        if st is None or backend is None or backend.spec.cookie is None:
            return "--"
        return persist.log_flags(backend.spec.cookie, st.persist)
