"""The mutable runtime world built from a Config: frontends, backends, servers, global counters.

`build_runtime(config, now)` is the only constructor. The data plane (net/) and the admin
commands act on the returned `Runtime`; renderers read it. Everything here is synchronous and
takes `now`, so tests build a Runtime and drive it with no event loop.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import Any

from trio_lb.balance import make_balancer
from trio_lb.config.model import Config, Proxy, ServerSpec
from trio_lb.http.errcapture import ErrorLog
from trio_lb.state import queue as q
from trio_lb.state.counters import Counters
from trio_lb.state.health import HealthState
from trio_lb.state.servers import MAINT, ServerState
from trio_lb.state.sticktables import build_tables
from trio_lb.tls import build_tls
from trio_lb.state.streams import Streams


class FrontendState:
    __slots__ = ("spec", "name", "id", "cur_sess", "maxconn", "counters", "enabled", "listeners", "stopped")

    def __init__(self, spec: Proxy, global_maxconn: int) -> None:
        self.spec = spec
        self.name = spec.name
        self.id = spec.id
        self.cur_sess = 0
        self.maxconn = spec.maxconn or global_maxconn
        self.counters = Counters()
        self.enabled = not spec.disabled
        self.listeners: list[Any] = []  # bound sockets, owned by net/
        self.stopped = False  # `shutdown frontend`: for good (HAProxy's PR_FL_STOPPED)

    def open_session(self, now: float) -> None:
        self.cur_sess += 1
        c = self.counters
        c.stot += 1
        c.sess_rate.hit(now)
        c.conn_rate.hit(now)
        c.conn_tot += 1
        if self.cur_sess > c.smax:
            c.smax = self.cur_sess

    def close_session(self) -> None:
        self.cur_sess -= 1


class BackendState:
    """A backend's servers, balancer and queue (the `BACKEND` row of `show stat`)."""

    def __init__(self, spec: Proxy, now: float) -> None:
        self.spec = spec
        self.name = spec.name
        self.id = spec.id
        self.servers: list[ServerState] = [_server(s, spec, now) for s in spec.servers]
        self.balancer = make_balancer(spec.balance, self.servers, allbackups=spec.allbackups)
        self.queue: deque[q.Waiter] = deque()
        self.cur_sess = 0
        self.counters = Counters()
        self.last_change = now
        self.down_since: float | None = None if self.is_up else now
        self.downtime = 0.0

    def server(self, name: str) -> ServerState | None:
        for s in self.servers:
            if s.name == name:
                return s
        return None

    @property
    def is_up(self) -> bool:
        return any(s.usable for s in self.servers)

    def queued(self) -> int:
        return len(self.queue) + sum(len(s.queue) for s in self.servers)

    # --- the data plane's calls ------------------------------------------------------------

    def acquire(self, req: Any, now: float, avoid: ServerState | None = None) -> ServerState | q.Waiter | None:
        result = q.acquire(self, req, now, avoid)
        if result is not None:
            self._session_opened(now)
        return result

    def acquire_server(self, server: ServerState, req: Any, now: float) -> ServerState | q.Waiter:
        self._session_opened(now)
        return q.take_specific(self, server, req, now)

    def _session_opened(self, now: float) -> None:
        self.cur_sess += 1
        self.counters.session_opened(self.cur_sess, now)

    def release(self, server: ServerState | None, now: float) -> None:
        """End of a request that had a slot (server) or that never got one (None)."""
        self.cur_sess -= 1
        if server is not None:
            q.release(self, server, now)

    def cancel(self, waiter: q.Waiter) -> None:
        q.cancel(self, waiter)

    # --- state changes ---------------------------------------------------------------------

    def server_changed(self, server: ServerState, now: float) -> int:
        """After any change of a server's usability or weight: rebalance, move queues.

        Returns how many queued requests were redispatched.
        """
        was_up = self.down_since is None
        self.balancer.update()
        moved = 0
        if not server.usable and server.queue:
            moved = q.redispatch_queue(self, server, now)
        else:
            q.dispatch_backend_queue(self, now)
        if self.is_up != was_up:
            self.last_change = now
            if self.is_up and self.down_since is not None:
                self.downtime += now - self.down_since
                self.down_since = None
            elif not self.is_up:
                self.down_since = now
        return moved

    # --- dynamic servers (`add server`, `del server`) ----------------------------------------

    def add_server(self, spec: ServerSpec, now: float) -> ServerState:
        """A new server at the end of the list, with the lowest free id unless it has one. It
        starts in maintenance, as HAProxy starts dynamic servers."""
        if not spec.id:
            used = {s.id for s in self.servers}
            spec.id = next(i for i in range(1, len(used) + 2) if i not in used)
        server = _server(spec, self.spec, now)
        server.set_admin("maint", now)
        self.servers.append(server)  # the balancer reads this same list
        self.server_changed(server, now)
        return server

    def remove_server(self, server: ServerState, now: float) -> None:
        """Take a server out for good (the caller checked it is in maintenance and idle)."""
        self.servers.remove(server)
        self.balancer.update()

    def counts(self) -> tuple[int, int]:
        """(active, backup) servers usable now, for log messages and `show stat` act/bck."""
        act = sum(1 for s in self.servers if s.usable and not s.backup)
        bck = sum(1 for s in self.servers if s.usable and s.backup)
        return act, bck


def _server(spec: ServerSpec, proxy: Proxy, now: float) -> ServerState:
    health = None
    if spec.check:
        health = HealthState(spec.rise, spec.fall, spec.inter, spec.fastinter, spec.downinter)
    state = ServerState(spec, proxy.name, health, now)
    if spec.disabled:
        state.admin = MAINT
        state.refresh(now)
    return state


class Runtime:
    """Everything that changes while trio-lb runs."""

    def __init__(self, config: Config, now: float) -> None:
        self.config = config
        self.start_time = now
        self.pid = os.getpid()
        g = config.global_
        self.maxconn = g.maxconn or _default_maxconn()
        self.actconn = 0
        self.cum_conns = 0
        self.cum_reqs = 0
        self.conn_rate = Counters().conn_rate
        self.frontends: dict[str, FrontendState] = {}
        self.backends: dict[str, BackendState] = {}
        for proxy in config.proxies:
            if proxy.has_frontend:
                self.frontends[proxy.name] = FrontendState(proxy, self.maxconn)
            if proxy.has_backend:
                self.backends[proxy.name] = BackendState(proxy, now)
        self.stopping = False
        self.streams = Streams()  # live streams, for `show sess` / `shutdown session`
        self.error_log = ErrorLog(maxhdr=g.tune_maxhdr)  # `show errors`
        self.tables = build_tables(config)  # stick tables, by proxy name
        self.tls = build_tls(config)  # TLS contexts of binds and servers, and the certificate store
        # runtime limits (`set maxconn global`, `set rate-limit ... global`); 0 = no rate limit
        self.hard_maxconn = self.maxconn
        self.rate_limit_conns = int(g.settings.get("maxconnrate", 0) or 0)
        self.rate_limit_sess = int(g.settings.get("maxsessrate", 0) or 0)
        self.rate_limit_ssl = int(g.settings.get("maxsslrate", 0) or 0)
        self.rate_limit_comp = int(g.settings.get("maxcomprate", 0) or 0) * 1024  # bytes/s
        # callbacks of whoever admits connections (net/listeners.Gate), called by
        # `admission_changed()` when a limit or a frontend's state changes
        self.admission_watchers: list[Callable[[], None]] = []

    def admission_changed(self) -> None:
        """A limit or a frontend's state changed: let the accept loops look again."""
        for watcher in list(self.admission_watchers):
            watcher()

    def backend(self, name: str) -> BackendState | None:
        return self.backends.get(name)


def build_runtime(config: Config, now: float) -> Runtime:
    return Runtime(config, now)


def _default_maxconn() -> int:
    """HAProxy derives maxconn from the fd limit: about half of it, each session using 2 fds."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError):
        soft = 1024
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(1, (soft - 100) // 2)
