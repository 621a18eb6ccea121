"""`balance leastconn`: the server with the fewest requests per unit of weight (lb_fwlc.c).

How it works: a server's load key is HAProxy 2.6's fwlc key, 0 when idle and otherwise
(inflight + 1) * 4096 / (weight * 16) where inflight = cur_sess + queue_len: idle servers always
come first, then the least loaded relative to weight. fwlc keeps servers in a tree keyed by that
value; here the runtime changes `cur_sess` without telling us, so pick() scans the (few)
candidates. Equal keys are served round robin: the scan starts just after the server picked last
and only a strictly smaller key replaces the best so far, which is what re-inserting a server at
the end of its duplicates does in fwlc.
"""

from __future__ import annotations

from collections.abc import Sequence

from trio_lb.balance.base import BalancerBase, LbRequest, ServerView

LOAD_SCALE = 256  # SRV_EWGHT_MAX / BE_WEIGHT_SCALE: eweight here is in user-weight units


class LeastConn(BalancerBase):
    algo_name = "leastconn"
    dynamic = True

    def __init__(self, servers: Sequence[ServerView], allbackups: bool = False) -> None:
        super().__init__(servers, allbackups)
        self._servers: list[ServerView] = []
        self._weights: list[int] = []
        self._next = 0
        self.update()

    def _rebuild(self) -> None:
        self._servers = list(self.candidates)
        self._weights = [s.eweight for s in self._servers]
        if self._next >= len(self._servers):
            self._next = 0

    def pick(self, req: LbRequest | None, avoid: ServerView | None = None) -> ServerView | None:
        servers = self._servers
        weights = self._weights
        n = len(servers)
        best = None
        best_key = 0
        best_idx = 0
        avoided = None
        idx = self._next
        for _ in range(n):
            if idx >= n:
                idx = 0
            srv = servers[idx]
            if srv.usable and (srv.maxconn == 0 or (srv.queue_len == 0 and srv.cur_sess < srv.maxconn)):
                if srv is avoid:
                    avoided = srv
                else:
                    inflight = srv.cur_sess + srv.queue_len
                    key = (inflight + 1) * LOAD_SCALE // weights[idx] if inflight else 0
                    if best is None or key < best_key:
                        best, best_key, best_idx = srv, key, idx
                        if not key:
                            break
            idx += 1
        if best is None:
            return avoided
        self._next = best_idx + 1
        return best
