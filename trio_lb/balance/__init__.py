"""Load-balancing algorithms (HAProxy's `balance` keyword); pure code, no I/O, no clock.

`make_balancer(spec, servers)` returns the Balancer for a backend. The runtime keeps `servers`
(a list it mutates in place), calls `update()` after any change of a server's usable state or
effective weight or of the list itself, and `pick(req, avoid)` once per request. See base.py for
the rules every algorithm shares (candidate set, backups, saturation, `avoid`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from trio_lb.balance.base import Balancer, LbRequest, ServerView, is_full, select_candidates
from trio_lb.balance.chash import HashRing
from trio_lb.balance.first import First
from trio_lb.balance.hashing import HashBalancer, make_key_hasher
from trio_lb.balance.lbmap import StaticRoundRobin, WeightMap
from trio_lb.balance.leastconn import LeastConn
from trio_lb.balance.random_ import RandomBalancer
from trio_lb.balance.roundrobin import RoundRobin
from trio_lb.config.model import BalanceSpec
from trio_lb.errors import ConfigError

__all__ = [
    "ALGORITHMS",
    "Balancer",
    "LbRequest",
    "ServerView",
    "is_full",
    "make_balancer",
    "select_candidates",
]

HASH_ALGORITHMS = frozenset({"source", "uri", "url_param", "hdr"})
ALGORITHMS = frozenset({"roundrobin", "static-rr", "leastconn", "first", "random"}) | HASH_ALGORITHMS

_CALL_FORM = re.compile(r"^(hdr|random)\((.*)\)$")


def _split_algo(spec: BalanceSpec) -> tuple[str, str | None, int]:
    """(algo, parameter, draws), also accepting the `hdr(name)` / `random(n)` spellings."""
    algo = spec.algo.strip().lower()
    param = spec.param
    draws = spec.random_draws
    m = _CALL_FORM.match(algo)
    if m:
        algo, arg = m.group(1), spec.algo.strip()[len(m.group(1)) + 1 : -1]
        if algo == "hdr":
            param = arg or param
        elif arg:
            try:
                draws = int(arg)
            except ValueError:
                raise ConfigError(f"random : invalid number of draws '{arg}'.") from None
    return algo, param, draws


def make_balancer(
    spec: BalanceSpec,
    servers: Sequence[ServerView],
    *,
    allbackups: bool = False,
    rng: random.Random | None = None,
) -> Balancer:
    """The balancer for `balance <spec.algo>` over `servers` (already update()d once)."""
    algo, param, draws = _split_algo(spec)
    if algo == "roundrobin":
        return RoundRobin(servers, allbackups)
    if algo == "static-rr":
        return StaticRoundRobin(servers, allbackups)
    if algo == "leastconn":
        return LeastConn(servers, allbackups)
    if algo == "first":
        return First(servers, allbackups)
    if algo == "random":
        if draws < 1:
            raise ConfigError("random : number of draws must be at least 1.")
        return RandomBalancer(servers, allbackups, draws=draws, rng=rng)
    if algo in HASH_ALGORITHMS:
        key = make_key_hasher(algo, spec, param)
        lookup = HashRing() if spec.hash_type == "consistent" else WeightMap(servers)
        return HashBalancer(algo, key, lookup, servers, allbackups)
    raise ConfigError(f"unsupported load-balancing algorithm '{spec.algo}'")
