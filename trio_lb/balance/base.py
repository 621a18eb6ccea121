"""What a load-balancing algorithm sees and offers, and the parts they all share.

How it works: the runtime owns the server objects and keeps them in one list that it mutates in
place. A balancer holds a reference to that list and, in `update()`, derives the *candidate set*
exactly as HAProxy's recount_servers() does: the active servers that are usable and carry a
non-zero effective weight; when there are none, the backups (only the first usable one by id
unless `option allbackups`). Each algorithm then precomputes whatever its `pick()` needs (a
heap, a weighted map, a hash ring) so that `pick()`, which runs once per request, stays cheap.

`pick()` never reads the clock and never mutates a server: the runtime increments `cur_sess`
once it has actually taken a slot on the chosen server.

Weights: `eweight` is in user-weight units (the `weight` keyword, 0..256) already scaled by
slowstart. Only ratios matter, except for consistent hashing where it sets the number of points
a server owns on the ring (16 per unit, as HAProxy's BE_WEIGHT_SCALE).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class ServerView(Protocol):
    """The attributes of a runtime server that the balancers read (and never write)."""

    id: int
    name: str
    backup: bool
    eweight: int  # effective weight, slowstart applied; 0 = no load-balanced traffic
    usable: bool  # operationally UP and admin READY (not DRAIN/MAINT/DOWN)
    cur_sess: int  # connections/requests being served now
    maxconn: int  # 0 = unlimited (the runtime passes the dynamic maxconn if minconn is used)
    queue_len: int  # requests waiting in this server's own queue


class LbRequest(Protocol):
    """What the hashing algorithms read from a request. In tcp mode only `src` is meaningful."""

    src: str  # the client IP address as text
    target: str | None  # raw HTTP request target "/a/b?x=1" (None in tcp mode)

    def header(self, name: str) -> str | None:
        """Value of the last occurrence of header `name` (case-insensitive), or None."""
        ...


@runtime_checkable
class Balancer(Protocol):
    algo_name: str  # the stats CSV `algo` column text

    def update(self) -> None: ...

    def pick(self, req: LbRequest | None, avoid: ServerView | None = None) -> ServerView | None: ...

    def is_dynamic(self) -> bool: ...


def is_full(srv: ServerView) -> bool:
    """True when a new stream may not take a slot on `srv` now (HAProxy's saturation test).

    A server with a maxconn is full when all its slots are taken, or while requests wait in
    its own queue, so that a newcomer never overtakes them (map_get_server_rr, fwrr, fas).
    """
    return srv.maxconn > 0 and (srv.queue_len > 0 or srv.cur_sess >= srv.maxconn)


def select_candidates(servers: Sequence[ServerView], allbackups: bool) -> tuple[list[ServerView], bool]:
    """The servers eligible for load-balanced traffic, in list order, and whether they are backups."""
    active = [s for s in servers if not s.backup and s.usable and s.eweight > 0]
    if active:
        return active, False
    backups = [s for s in servers if s.backup and s.usable and s.eweight > 0]
    if not allbackups and backups:
        backups = [min(backups, key=lambda s: s.id)]
    return backups, True


class BalancerBase(ABC):
    """Tracks the candidate set; subclasses rebuild their lookup structure in `_rebuild`.

    `update()` is cheap when nothing relevant changed: the signature compares the identity and
    weight (as the algorithm sees it, see `weight_of`) of every candidate, and `_rebuild` only
    runs when it differs.
    """

    algo_name = "none"
    dynamic = True

    def __init__(self, servers: Sequence[ServerView], allbackups: bool = False) -> None:
        self.servers = servers
        self.allbackups = allbackups
        self.candidates: list[ServerView] = []
        self.using_backups = False
        self._signature: tuple[tuple[int, int], ...] | None = None

    def update(self) -> None:
        cands, using_backups = select_candidates(self.servers, self.allbackups)
        weight_of = self.weight_of
        signature = tuple((id(s), weight_of(s)) for s in cands)
        if signature == self._signature and using_backups == self.using_backups:
            return
        self._signature = signature
        self.candidates = cands
        self.using_backups = using_backups
        self._rebuild()

    def weight_of(self, srv: ServerView) -> int:
        """The weight this algorithm balances with: the live effective weight by default."""
        return srv.eweight

    @abstractmethod
    def _rebuild(self) -> None:
        """Recompute the lookup structure from `self.candidates`."""

    def is_dynamic(self) -> bool:
        return self.dynamic

    def __repr__(self) -> str:
        names = ",".join(s.name for s in self.candidates)
        return f"<{type(self).__name__} {self.algo_name} [{names}]>"
