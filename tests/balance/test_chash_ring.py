"""The consistent-hash ring: in-place updates give the same ring as a fresh build."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trio_lb.balance.base import select_candidates
from trio_lb.balance.chash import POINTS_PER_WEIGHT, HashRing, point_keys
from trio_lb.balance.hashing import full_hash

from .fakes import make_servers


def fresh(servers) -> HashRing:
    ring = HashRing()
    cands, _ = select_candidates(servers, False)
    ring.rebuild(cands, servers)
    return ring


def test_point_keys_follow_haproxy_layout() -> None:
    assert point_keys(3, 2) == [full_hash(3 * 4096), full_hash(3 * 4096 + 1)]
    assert point_keys(3, 4, start=2) == point_keys(3, 4)[2:]


def test_points_per_weight_unit() -> None:
    servers = make_servers(1, 3)
    ring = fresh(servers)
    assert len(ring.keys) == 4 * POINTS_PER_WEIGHT
    assert ring.keys == sorted(ring.keys)
    assert sum(1 for o in ring.owners if o is servers[1]) == 3 * POINTS_PER_WEIGHT


class CountingRing(HashRing):
    builds = 0

    def _build(self, candidates) -> None:
        self.builds += 1
        super()._build(candidates)


def test_small_changes_are_applied_in_place() -> None:
    servers = make_servers(40, 30, 20)
    ring = CountingRing()
    ring.rebuild(list(servers), servers)
    assert ring.builds == 1
    servers[0].eweight = 39
    ring.rebuild(list(servers), servers)
    servers[2].eweight = 21
    ring.rebuild(list(servers), servers)
    assert ring.builds == 1
    assert ring.keys == fresh(servers).keys
    ring.rebuild(list(servers[1:]), servers)  # a whole server leaving: rebuilt
    assert ring.builds == 2


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # server
            st.one_of(st.integers(36, 44), st.integers(0, 5)),  # new weight: small or big step
            st.sampled_from([True, True, True, False]),  # usable
        ),
        max_size=12,
    )
)
def test_incremental_updates_match_a_fresh_build(steps) -> None:
    servers = make_servers(40, 41, 42, 38, 39, 40)
    ring = fresh(servers)
    for idx, weight, usable in steps:
        servers[idx].eweight = weight
        servers[idx].usable = usable
        cands, _ = select_candidates(servers, False)
        ring.rebuild(cands, servers)
        expected = fresh(servers)
        assert ring.keys == expected.keys
        assert [o.name for o in ring.owners] == [o.name for o in expected.owners]
