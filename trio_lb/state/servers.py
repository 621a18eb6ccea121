"""A server's runtime state: admin state x operational state, weights, slots and queue.

Theory of operation
-------------------
Two independent axes decide whether a server gets traffic, as in HAProxy's server.c:

* the admin state, set by the operator: READY, DRAIN (no new load-balanced traffic, persistent
  and in-flight traffic continues) or MAINT (no traffic at all, checks paused);
* the operational state, set by health checks (or `set server health`): UP, STOPPING (HAProxy's
  NOLB: no new load-balanced traffic, `set server health stopping`) or DOWN. A server without
  `check` is UP ("no check") unless the operator forced it down (`forced_down`).

`usable` (may be picked by the balancer) is READY and UP and not STOPPING; `eweight` is the weight the balancer
sees: the user weight, ramped by slowstart after the server comes back, and 0 when not usable.
Both are plain attributes recomputed by `refresh()` on every state change, so that the
balancer's per-request `pick()` reads fields instead of calling properties.

The table `ADMIN_TRANSITIONS` lists which admin state each operator action leads to; tests
enumerate it. Every change returns a short reason string that the caller logs.

Left out on purpose: tracking (`track`), agent checks, and the IMAINT/CMAINT sub-states
(inherited maintenance); the admin axis here is the operator's only.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from trio_lb.config.model import ServerSpec
from trio_lb.state.counters import Counters

if TYPE_CHECKING:
    from trio_lb.state.health import HealthState

READY, DRAIN, MAINT = "ready", "drain", "maint"

# operator action -> resulting admin state
ADMIN_TRANSITIONS: dict[str, str] = {
    "ready": READY,
    "drain": DRAIN,
    "maint": MAINT,
    "enable": READY,  # `enable server` leaves maintenance
    "disable": MAINT,  # `disable server` enters it
}


class ServerState:
    """One server of one backend, as the data plane, the balancer and the stats see it."""

    __slots__ = (
        "spec", "backend", "id", "name", "backup", "host", "port", "iweight", "uweight",
        "eweight", "usable", "admin", "health", "checks_enabled", "checks_off", "cur_sess", "maxconn",
        "maxqueue", "queue", "counters", "last_change", "down_since", "downtime",
        "slowstart_until", "idle", "pending_refresh", "stopping", "forced_down",
        "port_offset", "check_port", "fresh",
    )

    def __init__(self, spec: ServerSpec, backend: str, health: HealthState | None, now: float) -> None:
        self.spec = spec
        self.backend = backend
        self.id = spec.id
        self.name = spec.name
        self.backup = spec.backup
        self.host = spec.host
        self.port = spec.port  # None: the client's destination port, plus port_offset
        self.port_offset = int(spec.options.get("port_offset", 0) or 0)
        self.check_port = spec.check_port  # `port` / `set server check-port`
        self.iweight = spec.weight
        self.uweight = spec.weight
        self.admin = MAINT if spec.disabled else READY
        self.health = health
        self.checks_off = False  # the operator turned checks off (HAProxy's !CHK_ST_ENABLED)
        self.checks_enabled = health is not None  # checks run: on, and not paused by MAINT
        self.fresh = False  # a dynamic server that never left maintenance (see stats rows)
        self.cur_sess = 0
        self.maxconn = spec.maxconn
        self.maxqueue = spec.maxqueue
        self.queue: deque = deque()  # waiters queued on this server (filled by state.queue)
        self.counters = Counters()
        self.last_change = now
        self.down_since: float | None = None
        self.downtime = 0.0
        self.slowstart_until = 0.0
        self.idle: list = []  # idle keep-alive connections to this server (owned by net/)
        self.stopping = False  # NOLB: up, but takes no new load-balanced traffic
        self.forced_down = False  # a server without `check` set down by the operator
        self.eweight = 0
        self.usable = False
        self.refresh(now)

    # --- derived state -------------------------------------------------------------------

    @property
    def op_up(self) -> bool:
        return self.health.up if self.health is not None else not self.forced_down

    @property
    def queue_len(self) -> int:
        return len(self.queue)

    @property
    def full(self) -> bool:
        return 0 < self.maxconn <= self.cur_sess

    def refresh(self, now: float) -> None:
        """Recompute `usable` and `eweight` after any change (state, weight, time)."""
        self.usable = self.admin == READY and self.op_up and not self.stopping
        if not self.usable:
            self.eweight = 0
        elif now < self.slowstart_until:
            ramp = 1.0 - (self.slowstart_until - now) / self.spec.slowstart
            self.eweight = max(1, math.ceil(self.uweight * ramp)) if self.uweight else 0
        else:
            self.eweight = self.uweight

    def status_text(self) -> str:
        """The `status` column of `show stat` for this server."""
        if self.admin == MAINT:
            return "MAINT"
        if self.stopping and self.op_up:
            health = self.health
            if health is None or health.health == health.full:
                return "NOLB"
            return f"NOLB {health.health - health.rise + 1}/{health.fall}"
        if self.health is None:
            if self.forced_down:
                return "DOWN"
            return "DRAIN" if self.admin == DRAIN else "no check"
        text = self.health.status_text()
        if self.admin == DRAIN and self.health.up:
            return "DRAIN"
        return text

    # --- changes -------------------------------------------------------------------------

    def set_admin(self, action: str, now: float) -> bool:
        """Apply an operator action; returns True when the admin state changed."""
        new = ADMIN_TRANSITIONS[action]
        if new == self.admin:
            return False
        was_serving = self.usable
        self.admin = new
        if new != MAINT:
            self.fresh = False
        self._update_checks()
        self._changed(was_serving, now)
        return True

    def set_checks(self, on: bool) -> None:
        """`enable health` / `disable health` (a server without `check` has nothing to turn)."""
        self.checks_off = not on
        self._update_checks()

    def _update_checks(self) -> None:
        self.checks_enabled = self.health is not None and not self.checks_off and self.admin != MAINT

    def set_weight(self, weight: int, now: float) -> None:
        self.uweight = weight
        self.refresh(now)

    def on_health_transition(self, transition: str, now: float) -> None:
        """Called after HealthState reported "up" or "down"."""
        was_serving = self.usable
        self.stopping = False  # a check transition ends NOLB either way
        if transition == "up" and self.spec.slowstart > 0:
            self.slowstart_until = now + self.spec.slowstart
        if transition == "down":
            self.counters.chkdown += 1
        self._changed(was_serving, now)

    def _changed(self, was_serving: bool, now: float) -> None:
        self.refresh(now)
        serving = self.admin != MAINT and self.op_up
        if serving and self.down_since is not None:
            self.downtime += now - self.down_since
            self.down_since = None
        elif not serving and self.down_since is None:
            self.down_since = now
        if was_serving != self.usable or not serving:
            self.last_change = now

    def total_downtime(self, now: float) -> float:
        extra = now - self.down_since if self.down_since is not None else 0.0
        return self.downtime + extra

    def __repr__(self) -> str:
        return (f"<ServerState {self.backend}/{self.name} id={self.id} {self.status_text()} "
                f"admin={self.admin} w={self.eweight}/{self.uweight} cur={self.cur_sess} q={len(self.queue)}>")
