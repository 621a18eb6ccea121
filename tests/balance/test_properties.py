"""Properties over random server states, for every algorithm."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from trio_lb.balance import is_full, make_balancer, select_candidates
from trio_lb.config.model import BalanceSpec

from .fakes import FakeRequest, FakeServer

SPECS = [
    BalanceSpec(algo="roundrobin"),
    BalanceSpec(algo="static-rr"),
    BalanceSpec(algo="leastconn"),
    BalanceSpec(algo="first"),
    BalanceSpec(algo="random", random_draws=3),
    BalanceSpec(algo="source"),
    BalanceSpec(algo="source", hash_type="consistent", hash_avalanche=True),
    BalanceSpec(algo="uri", hash_function="djb2"),
    BalanceSpec(algo="uri", hash_type="consistent", hash_function="wt6"),
    BalanceSpec(algo="url_param", param="k", hash_type="consistent", hash_function="crc32"),
    BalanceSpec(algo="hdr", param="host", use_domain_only=True),
]
HASHED = {"source", "uri", "url_param", "hdr"}

server_state = st.tuples(
    st.booleans(),  # backup
    st.integers(0, 5),  # eweight
    st.booleans(),  # usable
    st.integers(0, 4),  # cur_sess
    st.integers(0, 3),  # maxconn
    st.integers(0, 1),  # queue_len
)


def build(states) -> list[FakeServer]:
    return [
        FakeServer(i + 1, f"s{i + 1}", backup=b, eweight=w, usable=u, cur_sess=c, maxconn=m, queue_len=q)
        for i, (b, w, u, c, m, q) in enumerate(states)
    ]


request = st.builds(
    FakeRequest,
    src=st.ip_addresses().map(str),
    target=st.one_of(st.none(), st.text("/abk=&?.x", max_size=12).map(lambda t: "/" + t)),
    headers=st.dictionaries(st.just("host"), st.text("ab.c", max_size=8)),
)


@settings(max_examples=100, deadline=None)
@given(
    spec_idx=st.integers(0, len(SPECS) - 1),
    initial=st.lists(server_state, max_size=6),
    later=st.lists(server_state, max_size=6),
    allbackups=st.booleans(),
    reqs=st.lists(request, min_size=1, max_size=5),
    avoid_idx=st.integers(-1, 5),
    seed=st.integers(0, 1000),
)
def test_pick_returns_a_candidate(spec_idx, initial, later, allbackups, reqs, avoid_idx, seed) -> None:
    spec = SPECS[spec_idx]
    servers = build(initial)
    b = make_balancer(spec, servers, allbackups=allbackups, rng=random.Random(seed))
    # the runtime changes states, adds or removes servers, then calls update()
    servers[:] = build(later)
    b.update()
    cands, _ = select_candidates(servers, allbackups)
    avoid = servers[avoid_idx] if 0 <= avoid_idx < len(servers) else None
    for req in reqs:
        srv = b.pick(req, avoid)
        if srv is None:
            if spec.algo not in HASHED:
                # None only when every candidate is full
                assert all(is_full(s) for s in cands)
            else:
                assert not cands or all(is_full(s) for s in cands)
            continue
        assert any(srv is c for c in cands)
        assert srv.usable and srv.eweight > 0
        if spec.algo not in HASHED:
            assert not is_full(srv)
        if srv is avoid and spec.algo not in HASHED:
            assert all(c is avoid or is_full(c) for c in cands)


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.integers(1, 6), min_size=1, max_size=5))
def test_roundrobin_share_is_exact_over_a_round(weights) -> None:
    servers = build([(False, w, True, 0, 0, 0) for w in weights])
    for algo in ("roundrobin", "static-rr"):
        b = make_balancer(BalanceSpec(algo=algo), servers)
        total = sum(weights)
        seen: dict[str, int] = {}
        for _ in range(total * 3):
            name = b.pick(None).name
            seen[name] = seen.get(name, 0) + 1
        assert seen == {s.name: 3 * s.eweight for s in servers}
