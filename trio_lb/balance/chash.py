"""Consistent hashing: `hash-type consistent` (HAProxy's lb_chash.c).

How it works: every candidate owns `eweight * 16` points on a 32-bit ring (16 is HAProxy's
BE_WEIGHT_SCALE). Point n of the server with id `i` sits at full_hash(i * 4096 + n), as in
chash_init_server_tree(), so a server keeps the same points whatever the other servers do, a
weight change only adds or removes its last points, and — server ids being the same — a key
lands on the same server as in HAProxy. Taking a server out removes only its points, so only the
keys it owned (about 1/N of them) move; they come back when it returns.

A lookup (chash_get_server_hash) finds the points just before and at-or-after the hash and takes
the closer one (the previous one on a tie), then walks forward past the server to avoid. The
ring is a sorted list of keys searched with bisect. update() adds or removes just the points
that change (a slowstart step, a server going down) when they are few, and otherwise re-sorts
the whole ring; each server's point keys are computed once and cached.

`rr_pick` is chash_get_next_server(): the fallback when the hashed key is absent, a cursor
walking the ring point by point and skipping saturated servers.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from trio_lb.balance.base import ServerView
from trio_lb.balance.hashing import MASK32, full_hash

POINTS_PER_WEIGHT = 16  # BE_WEIGHT_SCALE
ID_STRIDE = 4096  # SRV_EWGHT_RANGE: room for 256 weight units x 16 points per server id


def point_keys(server_id: int, count: int, start: int = 0) -> list[int]:
    """Keys of points start..count-1 of server `server_id` (chash_init_server_tree)."""
    base = server_id * ID_STRIDE
    return [full_hash((base + n) & MASK32) for n in range(start, count)]


class HashRing:
    """The ring of points; a hashing.HashLookup."""

    dynamic = True

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.owners: list[ServerView] = []
        self.last = -1  # index of the point rr_pick returned last
        self._keys: dict[int, tuple[int, list[int]]] = {}  # id(server) -> (server.id, point keys)
        self._placed: dict[int, tuple[ServerView, int, int]] = {}  # id(server) -> (server, id, points)

    def weight_of(self, srv: ServerView) -> int:
        return srv.eweight

    def _keys_for(self, srv: ServerView, count: int) -> list[int]:
        cached = self._keys.get(id(srv))
        if cached is None or cached[0] != srv.id:
            cached = (srv.id, point_keys(srv.id, count))
            self._keys[id(srv)] = cached
        elif len(cached[1]) < count:
            cached[1].extend(point_keys(srv.id, count, len(cached[1])))
        return cached[1]

    def rebuild(self, candidates: list[ServerView], all_servers: Sequence[ServerView]) -> None:
        present = {id(s) for s in all_servers}
        for key in [k for k in self._keys if k not in present]:
            del self._keys[key]
        wanted = {id(s): (s, s.id, s.eweight * POINTS_PER_WEIGHT) for s in candidates}
        moves = self._moves(wanted)
        if moves is None or 64 * sum(abs(new - old) for _, old, new in moves) > len(self.keys):
            self._build(candidates)
        else:
            for srv, old, new in moves:
                self._adjust(srv, old, new)
        self._placed = wanted
        if self.last >= len(self.keys):
            self.last = -1

    def _moves(self, wanted: dict[int, tuple[ServerView, int, int]]) -> list[tuple[ServerView, int, int]] | None:
        """(server, points now, points wanted) for each server whose share changes; None if an
        id changed (the points themselves move: rebuild)."""
        moves = []
        for key, (srv, sid, count) in wanted.items():
            placed = self._placed.get(key)
            if placed is None:
                moves.append((srv, 0, count))
            elif placed[1] != sid:
                return None
            elif placed[2] != count:
                moves.append((srv, placed[2], count))
        for key, (srv, _, count) in self._placed.items():
            if key not in wanted:
                moves.append((srv, count, 0))
        return moves

    def _build(self, candidates: list[ServerView]) -> None:
        # Sort (key, order) pairs packed into single ints: much faster than tuples.
        packed: list[int] = []
        for order, srv in enumerate(candidates):
            count = srv.eweight * POINTS_PER_WEIGHT
            packed.extend([(k << 32) | order for k in self._keys_for(srv, count)[:count]])
        packed.sort()
        self.keys = [p >> 32 for p in packed]
        self.owners = [candidates[p & MASK32] for p in packed]

    def _adjust(self, srv: ServerView, old: int, new: int) -> None:
        """Add or remove one server's last points in place (a few, so O(points) memmoves)."""
        keys, owners = self.keys, self.owners
        point_list = self._keys_for(srv, max(old, new))
        for k in point_list[new:old]:
            i = bisect_left(keys, k)
            while owners[i] is not srv:
                i += 1
            del keys[i]
            del owners[i]
        for k in point_list[old:new]:
            i = bisect_right(keys, k)
            keys.insert(i, k)
            owners.insert(i, srv)

    def nearest(self, h: int) -> int:
        """Index of the point closest to `h` (chash_get_server_hash); the ring must not be empty."""
        keys = self.keys
        n = len(keys)
        nxt = bisect_left(keys, h)
        if nxt == n:
            nxt = 0
        prev = nxt - 1 if nxt else n - 1
        if self.owners[prev] is self.owners[nxt]:
            return nxt
        if (h - keys[prev]) & MASK32 <= (keys[nxt] - h) & MASK32:
            return prev
        return nxt

    def hash_pick(self, h: int, avoid: ServerView | None) -> ServerView | None:
        owners = self.owners
        n = len(owners)
        if not n:
            return None
        idx = self.nearest(h)
        srv = owners[idx]
        if srv is not avoid and srv.usable:
            return srv
        for k in range(1, n):
            other = owners[(idx + k) % n]
            if other is not avoid and other.usable:
                return other
        return srv if srv.usable else None

    def rr_pick(self, avoid: ServerView | None) -> ServerView | None:
        owners = self.owners
        n = len(owners)
        if not n:
            return None
        idx = self.last
        avoided = None
        avoided_idx = -1
        for _ in range(n):
            idx += 1
            if idx == n:
                idx = 0
            srv = owners[idx]
            if srv.usable and (srv.maxconn == 0 or (srv.queue_len == 0 and srv.cur_sess < srv.maxconn)):
                if srv is not avoid:
                    self.last = idx
                    return srv
                avoided = srv
                avoided_idx = idx
        if avoided is not None:
            self.last = avoided_idx
        return avoided
