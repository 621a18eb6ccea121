"""`balance random(<draws>)`: power of N random choices, weighted (backend.c get_server_rnd).

How it works: update() lays the candidates' weights end to end (cumulative sums); a draw picks a
uniform point on that line (bisect), so each server is drawn in proportion to its weight. After
`draws` draws the least loaded one is kept, comparing cur_sess / weight by cross-multiplication
as HAProxy does (a tie keeps the latest draw). A drawn server that cannot take the request
(saturated, the one to avoid) hands over to the next candidate in order; if none has room the
pick returns None and the runtime queues the request in the backend.

HAProxy draws points on its consistent-hash ring; the distribution is the same (proportional to
weight) and nothing depends on which server a given random number lands on.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence

from trio_lb.balance.base import BalancerBase, LbRequest, ServerView, is_full


class RandomBalancer(BalancerBase):
    algo_name = "unknown"  # HAProxy 2.6 shows `balance random` as "unknown" in the stats CSV
    dynamic = True

    def __init__(
        self,
        servers: Sequence[ServerView],
        allbackups: bool = False,
        draws: int = 2,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(servers, allbackups)
        self.draws = max(1, draws)
        self._rng = rng if rng is not None else random.Random()
        self._servers: list[ServerView] = []
        self._weights: list[int] = []
        self._cumulative: list[int] = []
        self._total = 0
        self.update()

    def _rebuild(self) -> None:
        self._servers = list(self.candidates)
        self._weights = [s.eweight for s in self._servers]
        cumulative = []
        total = 0
        for w in self._weights:
            total += w
            cumulative.append(total)
        self._cumulative = cumulative
        self._total = total

    def _draw(self, avoid: ServerView | None) -> int:
        """Index of a weighted-random server with room other than `avoid`, or -1 if none has."""
        servers = self._servers
        n = len(servers)
        idx = bisect_right(self._cumulative, self._rng.randrange(self._total))
        for _ in range(n):
            srv = servers[idx]
            if (
                srv is not avoid
                and srv.usable
                and (srv.maxconn == 0 or (srv.queue_len == 0 and srv.cur_sess < srv.maxconn))
            ):
                return idx
            idx += 1
            if idx == n:
                idx = 0
        return -1

    def pick(self, req: LbRequest | None, avoid: ServerView | None = None) -> ServerView | None:
        if not self._total:
            return None
        servers = self._servers
        weights = self._weights
        best = -1
        for _ in range(self.draws):
            idx = self._draw(avoid)
            if idx < 0:
                break
            if best >= 0 and best != idx:
                cur, prev = servers[idx], servers[best]
                if cur.cur_sess * weights[best] > prev.cur_sess * weights[idx]:
                    idx = best
            best = idx
        if best >= 0:
            return servers[best]
        # Nobody else has room: the server to avoid is still better than queueing.
        if avoid is not None and avoid.usable and not is_full(avoid) and any(s is avoid for s in servers):
            return avoid
        return None
