"""`balance roundrobin`: smooth weighted round robin with live weights (HAProxy's lb_fwrr.c).

How it works (earliest-deadline-first, the idea behind fwrr's position trees): each candidate
has a deadline on a virtual time line and a step of SCALE // weight. A pick takes the server
with the earliest deadline (ties: declaration order), moves virtual time to that deadline and
pushes the server's deadline one step further. Over any SCALE of virtual time each server is
picked `weight` times, evenly spread: equal weights alternate a,b,a,b and 3:1 gives a,a,a,b.

The candidates live in a binary heap, so a pick is one sift (O(log n)). Servers that cannot take
the request (saturated, the one to avoid, gone unusable) are consumed as if they had been
picked, like fwrr does, and put back afterwards.

update() keeps every surviving server's place: an unchanged weight keeps its deadline; a new
weight rescales the time left until its deadline (so the change shows from the next pick); a
server (re)entering the set starts one step after the current virtual time.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heapify, heappop, heappush, heapreplace

from trio_lb.balance.base import BalancerBase, LbRequest, ServerView

# Virtual-time units per round. Steps are SCALE // weight: the rounding error (< 1 unit per
# pick) only shifts the sequence after ~2**40 / weight rounds.
SCALE = 1 << 40

# Heap entry fields: [deadline, order, step, server]
_DEADLINE, _ORDER, _STEP, _SERVER = range(4)


class RoundRobin(BalancerBase):
    algo_name = "roundrobin"
    dynamic = True

    def __init__(self, servers: Sequence[ServerView], allbackups: bool = False) -> None:
        super().__init__(servers, allbackups)
        self._heap: list[list] = []
        self._vtime = 0
        self.update()

    def _rebuild(self) -> None:
        previous = {id(e[_SERVER]): e for e in self._heap}
        vt = self._vtime
        heap = []
        for order, srv in enumerate(self.candidates):
            step = SCALE // srv.eweight
            old = previous.get(id(srv))
            if old is None:
                deadline = vt + step
            elif old[_STEP] != step:
                deadline = vt + (old[_DEADLINE] - vt) * step // old[_STEP]
            else:
                deadline = old[_DEADLINE]
            heap.append([deadline, order, step, srv])
        heapify(heap)
        self._heap = heap

    def pick(self, req: LbRequest | None, avoid: ServerView | None = None) -> ServerView | None:
        heap = self._heap
        if not heap:
            return None
        entry = heap[0]
        srv = entry[_SERVER]
        if (
            srv is not avoid
            and srv.usable
            and (srv.maxconn == 0 or (srv.queue_len == 0 and srv.cur_sess < srv.maxconn))
        ):
            self._vtime = entry[_DEADLINE]
            entry[_DEADLINE] += entry[_STEP]
            heapreplace(heap, entry)
            return srv
        return self._pick_skipping(avoid)

    def _pick_skipping(self, avoid: ServerView | None) -> ServerView | None:
        heap = self._heap
        skipped = []
        chosen = None
        avoided = None
        while heap:
            entry = heappop(heap)
            self._vtime = entry[_DEADLINE]
            entry[_DEADLINE] += entry[_STEP]
            skipped.append(entry)
            srv = entry[_SERVER]
            if srv.usable and (srv.maxconn == 0 or (srv.queue_len == 0 and srv.cur_sess < srv.maxconn)):
                if srv is not avoid:
                    chosen = srv
                    break
                avoided = srv
        for entry in skipped:
            heappush(heap, entry)
        return chosen if chosen is not None else avoided
