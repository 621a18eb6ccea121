"""`balance first`: the lowest server id that still has a free connection slot (lb_fas.c).

How it works: candidates are kept sorted by id; pick() returns the first one that is not
saturated, so traffic fills server 1 up to its maxconn before spilling onto server 2 (weights
only matter through weight 0). The server to avoid is returned only if no other one has room.
"""

from __future__ import annotations

from collections.abc import Sequence

from trio_lb.balance.base import BalancerBase, LbRequest, ServerView


class First(BalancerBase):
    algo_name = "first"
    dynamic = True

    def __init__(self, servers: Sequence[ServerView], allbackups: bool = False) -> None:
        super().__init__(servers, allbackups)
        self._ordered: list[ServerView] = []
        self.update()

    def _rebuild(self) -> None:
        self._ordered = sorted(self.candidates, key=lambda s: s.id)

    def pick(self, req: LbRequest | None, avoid: ServerView | None = None) -> ServerView | None:
        avoided = None
        for srv in self._ordered:
            if srv.usable and (srv.maxconn == 0 or (srv.queue_len == 0 and srv.cur_sess < srv.maxconn)):
                if srv is not avoid:
                    return srv
                avoided = srv
        return avoided
