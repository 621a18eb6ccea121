"""Map-based balancing: `static-rr` and `hash-type map-based` (HAProxy's lb_map.c).

How it works: the candidates are spread over an array with one slot per unit of weight, in the
interleaved order recalc_server_map() produces (each step every server earns its weight, the
one with the highest score takes the slot and pays the total back; ties go to the first
declared). Weights are divided by the GCD of all servers' weights, as init_server_map() does,
so `hash % len(map)` lands on the same server as in HAProxy.

The map is static: a server's weight is frozen the first time it is seen with a non-zero
effective weight; afterwards only "weight 0" (or not usable) versus "its frozen weight" counts
(HAProxy only accepts 0% or 100% for static algorithms). The map is rebuilt only when the
candidate set changes, so the O(total_weight x servers) build stays off the request path.

`rr_pick` is map_get_server_rr(): a cursor walks the map, skipping saturated servers; `hash_pick`
is map_get_server_hash(), which returns the slot's server even when it is full (the runtime then
queues on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd

from trio_lb.balance.base import BalancerBase, LbRequest, ServerView


def build_map(servers: Sequence[ServerView], weights: Sequence[int]) -> list[ServerView]:
    """recalc_server_map(): one slot per unit of weight, interleaved, first declared first."""
    tot = sum(weights)
    if tot == 0:
        return []
    if tot == 1:
        return [next(s for s, w in zip(servers, weights) if w)]
    n = len(servers)
    score = [0] * n
    out: list[ServerView] = []
    for _ in range(tot):
        best = -1
        best_v = 0
        for i in range(n):
            w = weights[i]
            if not w:
                continue
            score[i] += w
            v = (score[i] + tot) // tot
            if best < 0 or v > best_v:
                best_v = v
                best = i
        out.append(servers[best])
        score[best] -= tot
    return out


class WeightMap:
    """The weighted map with a round-robin cursor; also a hashing.HashLookup."""

    dynamic = False

    def __init__(self, servers: Sequence[ServerView]) -> None:
        self._frozen: dict[int, tuple[ServerView, int]] = {}  # id(server) -> (server, weight)
        for s in servers:
            if s.eweight > 0:
                self._frozen[id(s)] = (s, s.eweight)
        self.map: list[ServerView] = []
        self.rr_idx = 0

    def weight_of(self, srv: ServerView) -> int:
        if srv.eweight <= 0:
            return 0
        entry = self._frozen.get(id(srv))
        if entry is None or entry[0] is not srv:
            entry = self._frozen[id(srv)] = (srv, srv.eweight)
        return entry[1]

    def rebuild(self, candidates: list[ServerView], all_servers: Sequence[ServerView]) -> None:
        present = {id(s) for s in all_servers}
        for key in [k for k in self._frozen if k not in present]:
            del self._frozen[key]
        divisor = 0
        for _, w in self._frozen.values():
            divisor = gcd(divisor, w)
        divisor = divisor or 1
        self.map = build_map(candidates, [self.weight_of(s) // divisor for s in candidates])
        if self.rr_idx >= len(self.map):
            self.rr_idx = 0

    def rr_pick(self, avoid: ServerView | None) -> ServerView | None:
        m = self.map
        n = len(m)
        if not n:
            return None
        idx = start = self.rr_idx
        avoided = None
        avoided_idx = 0
        while True:
            srv = m[idx]
            idx += 1
            if idx == n:
                idx = 0
            if srv.usable and (srv.maxconn == 0 or (srv.queue_len == 0 and srv.cur_sess < srv.maxconn)):
                if srv is not avoid:
                    self.rr_idx = idx
                    return srv
                avoided = srv
                avoided_idx = idx
            if idx == start:
                break
        if avoided is not None:
            self.rr_idx = avoided_idx
        return avoided

    def hash_pick(self, h: int, avoid: ServerView | None) -> ServerView | None:
        m = self.map
        n = len(m)
        if not n:
            return None
        idx = h % n
        srv = m[idx]
        if srv is not avoid and srv.usable:
            return srv
        # Not in HAProxy (which ignores `avoid` here): retries/redispatch move on to the next
        # slot holding another usable server, and a server gone unusable before update() was
        # called is never returned.
        for k in range(1, n):
            other = m[(idx + k) % n]
            if other is not avoid and other.usable:
                return other
        return srv if srv.usable else None


class StaticRoundRobin(BalancerBase):
    """`balance static-rr`: the map walked in order, weights frozen."""

    algo_name = "static-rr"
    dynamic = False

    def __init__(self, servers: Sequence[ServerView], allbackups: bool = False) -> None:
        super().__init__(servers, allbackups)
        self._map = WeightMap(servers)
        self.update()

    def weight_of(self, srv: ServerView) -> int:
        return self._map.weight_of(srv)

    def _rebuild(self) -> None:
        self._map.rebuild(self.candidates, self.servers)

    def pick(self, req: LbRequest | None, avoid: ServerView | None = None) -> ServerView | None:
        return self._map.rr_pick(avoid)
