"""source / uri / url_param / hdr over map-based and consistent hashing."""

from __future__ import annotations

import pytest

from trio_lb.balance import make_balancer
from trio_lb.config.model import BalanceSpec

from .fakes import FakeRequest, counts, make_servers, names

CONSISTENT_URI = BalanceSpec(algo="uri", hash_type="consistent", hash_avalanche=True)
MAP_URI = BalanceSpec(algo="uri")

# Captured from HAProxy 2.6.12 with servers s1..s5 of weights 1 2 3 1 5 (ids 1..5).
HAPROXY_VECTORS = {
    "uri map-based": (
        BalanceSpec(algo="uri"),
        [
            ("/d7/e35/f0?uid=898485&x=1", "s3"),
            ("/d3/e11/f1?uid=842950&x=1", "s3"),
            ("/d7/e19/f2?uid=148682&x=1", "s5"),
            ("/d3/e38/f5?uid=31543&x=1", "s2"),
            ("/d1/e29/f7?uid=686609&x=1", "s5"),
        ],
    ),
    "uri consistent": (
        BalanceSpec(algo="uri", hash_type="consistent", hash_avalanche=True),
        [
            ("/d1/e45/f0?uid=266332&x=1", "s5"),
            ("/d4/e1/f1?uid=73634&x=1", "s2"),
            ("/d4/e24/f2?uid=70072&x=1", "s1"),
            ("/d1/e36/f4?uid=660031&x=1", "s2"),
            ("/d1/e8/f6?uid=258356&x=1", "s5"),
        ],
    ),
    "uri depth 2 len 20 consistent crc32": (
        BalanceSpec(algo="uri", uri_depth=2, uri_len=20, hash_type="consistent", hash_function="crc32"),
        [
            ("/d7/e36/f0?uid=142331&x=1", "s3"),
            ("/d2/e19/f1?uid=952551&x=1", "s5"),
            ("/d3/e10/f2?uid=775342&x=1", "s2"),
            ("/d2/e46/f6?uid=72116&x=1", "s1"),
        ],
    ),
    "url_param map-based wt6 avalanche": (
        BalanceSpec(algo="url_param", param="uid", hash_function="wt6", hash_avalanche=True),
        [
            ("/d3/e46/f0?uid=806902&x=1", "s4"),
            ("/d6/e7/f1?uid=414033&x=1", "s5"),
            ("/d4/e37/f2?uid=318919&x=1", "s2"),
            ("/d6/e38/f3?uid=673013&x=1", "s3"),
        ],
    ),
}

HAPROXY_SOURCE_VECTORS = {
    "source consistent": (
        BalanceSpec(algo="source", hash_type="consistent", hash_avalanche=True),
        [("127.35.137.106", "s3"), ("127.38.246.18", "s4"), ("127.37.38.116", "s2"), ("127.22.66.204", "s5")],
    ),
    "source map-based": (
        BalanceSpec(algo="source"),
        [("127.242.39.224", "s3"), ("127.255.7.160", "s1"), ("127.6.36.21", "s2"), ("127.15.158.154", "s4")],
    ),
}


@pytest.mark.parametrize("case", list(HAPROXY_VECTORS))
def test_same_server_as_haproxy_for_targets(case: str) -> None:
    spec, rows = HAPROXY_VECTORS[case]
    b = make_balancer(spec, make_servers(1, 2, 3, 1, 5))
    assert [b.pick(FakeRequest(target=t)).name for t, _ in rows] == [s for _, s in rows]


@pytest.mark.parametrize("case", list(HAPROXY_SOURCE_VECTORS))
def test_same_server_as_haproxy_for_sources(case: str) -> None:
    spec, rows = HAPROXY_SOURCE_VECTORS[case]
    b = make_balancer(spec, make_servers(1, 2, 3, 1, 5))
    assert [b.pick(FakeRequest(src=src, target=None)).name for src, _ in rows] == [s for _, s in rows]


def _assign(balancer, keys: list[str]) -> dict[str, str]:
    return {k: balancer.pick(FakeRequest(target=k)).name for k in keys}


KEYS = [f"/object/{i}" for i in range(10_000)]


@pytest.mark.parametrize("n", [4, 5])
def test_consistent_hash_moves_about_one_nth_and_keys_return(n: int) -> None:
    servers = make_servers(*([1] * n))
    b = make_balancer(CONSISTENT_URI, servers)
    before = _assign(b, KEYS)
    assert set(before.values()) == {s.name for s in servers}
    for victim in servers:
        victim.usable = False
        b.update()
        after = _assign(b, KEYS)
        moved = [k for k in KEYS if before[k] != after[k]]
        assert 0.5 / n < len(moved) / len(KEYS) < 1.5 / n, (victim.name, len(moved))
        assert all(before[k] == victim.name for k in moved)  # only the victim's keys move
        assert victim.name not in after.values()
        victim.usable = True
        b.update()
        assert _assign(b, KEYS) == before


def test_consistent_hash_weight_change_moves_few_keys() -> None:
    servers = make_servers(2, 2, 2, 2)
    b = make_balancer(CONSISTENT_URI, servers)
    before = _assign(b, KEYS)
    servers[0].eweight = 1
    b.update()
    after = _assign(b, KEYS)
    moved = [k for k in KEYS if before[k] != after[k]]
    assert all(before[k] == "s1" for k in moved)
    assert 0.05 < len(moved) / len(KEYS) < 0.25


def test_consistent_hash_shares_follow_weights() -> None:
    b = make_balancer(CONSISTENT_URI, make_servers(1, 3))
    share = counts(_assign(b, KEYS).values())["s2"] / len(KEYS)
    assert 0.6 < share < 0.9


def test_map_based_is_stable_for_the_same_set() -> None:
    servers = make_servers(1, 2, 1)
    first = _assign(make_balancer(MAP_URI, servers), KEYS[:2000])
    b = make_balancer(MAP_URI, make_servers(1, 2, 1))
    assert _assign(b, KEYS[:2000]) == first
    assert _assign(b, KEYS[:2000]) == first  # picking does not move anything
    c = counts(first.values())
    assert 0.4 < c["s2"] / 2000 < 0.6


def test_map_based_remaps_over_usable_servers_and_back() -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(MAP_URI, servers)
    before = _assign(b, KEYS[:3000])
    servers[1].usable = False
    b.update()
    during = _assign(b, KEYS[:3000])
    assert set(during.values()) == {"s1", "s3"}
    servers[1].usable = True
    b.update()
    assert _assign(b, KEYS[:3000]) == before
    assert not b.is_dynamic()


def test_map_based_uses_frozen_weights() -> None:
    servers = make_servers(1, 1)
    b = make_balancer(MAP_URI, servers)
    before = _assign(b, KEYS[:500])
    servers[0].eweight = 9
    b.update()
    assert _assign(b, KEYS[:500]) == before


@pytest.mark.parametrize("spec", [MAP_URI, CONSISTENT_URI], ids=["map", "consistent"])
def test_hash_returns_the_hashed_server_even_when_full(spec: BalanceSpec) -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(spec, servers)
    req = FakeRequest(target="/some/key")
    owner = b.pick(req)
    owner.maxconn, owner.cur_sess = 1, 1
    assert b.pick(req) is owner


@pytest.mark.parametrize("spec", [MAP_URI, CONSISTENT_URI], ids=["map", "consistent"])
def test_hash_avoid_goes_elsewhere_unless_alone(spec: BalanceSpec) -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(spec, servers)
    req = FakeRequest(target="/some/key")
    owner = b.pick(req)
    other = b.pick(req, avoid=owner)
    assert other is not None and other is not owner
    assert b.pick(req, avoid=owner) is other  # deterministic
    for s in servers:
        if s is not owner:
            s.usable = False
    b.update()
    assert b.pick(req, avoid=owner) is owner


@pytest.mark.parametrize("spec", [MAP_URI, CONSISTENT_URI], ids=["map", "consistent"])
def test_hash_never_returns_server_gone_unusable_before_update(spec: BalanceSpec) -> None:
    servers = make_servers(1, 1)
    b = make_balancer(spec, servers)
    req = FakeRequest(target="/k")
    owner = b.pick(req)
    owner.usable = False
    assert b.pick(req) is not owner


def test_url_param_absent_falls_back_to_round_robin() -> None:
    spec = BalanceSpec(algo="url_param", param="uid")
    b = make_balancer(spec, make_servers(1, 1, 1))
    assert names(b, 6, req=FakeRequest(target="/p?other=1")) == ["s1", "s2", "s3"] * 2
    uid = FakeRequest(target="/p?uid=abc")
    assert len({b.pick(uid).name for _ in range(10)}) == 1


def test_url_param_absent_round_robin_skips_full_servers() -> None:
    servers = make_servers(1, 1, 1)
    servers[0].maxconn, servers[0].cur_sess = 1, 1
    b = make_balancer(BalanceSpec(algo="url_param", param="uid", hash_type="consistent"), servers)
    picked = names(b, 60, req=FakeRequest(target="/p"))
    assert set(picked) == {"s2", "s3"}
    servers[1].maxconn, servers[1].cur_sess = 1, 1
    servers[2].maxconn, servers[2].cur_sess = 1, 1
    assert b.pick(FakeRequest(target="/p")) is None


def test_hdr_hashes_the_header_and_falls_back_when_absent() -> None:
    spec = BalanceSpec(algo="hdr", param="Host", use_domain_only=True)
    b = make_balancer(spec, make_servers(1, 1, 1, 1))
    a = b.pick(FakeRequest(headers={"host": "www.example.com"}))
    assert b.pick(FakeRequest(headers={"Host": "img.example.org"})) is a  # same "example"
    assert len(set(names(b, 8, req=FakeRequest(headers={})))) == 4


def test_hdr_call_form_and_tcp_mode() -> None:
    b = make_balancer(BalanceSpec(algo="hdr(X-User)"), make_servers(1, 1))
    assert b.algo_name == "hdr"
    req = FakeRequest(headers={"x-user": "alice"})
    assert len({b.pick(req).name for _ in range(6)}) == 1
    tcp = FakeRequest(target=None, headers={"x-user": "alice"})
    assert set(names(b, 4, req=tcp)) == {"s1", "s2"}


def test_uri_in_tcp_mode_round_robins() -> None:
    b = make_balancer(MAP_URI, make_servers(1, 1))
    assert names(b, 4, req=FakeRequest(target=None)) == ["s1", "s2", "s1", "s2"]
    assert names(b, 2, req=None) == ["s1", "s2"]


def test_source_spreads_clients_and_is_sticky() -> None:
    b = make_balancer(BalanceSpec(algo="source"), make_servers(1, 1, 1))
    reqs = [FakeRequest(src=f"192.168.{i // 250}.{i % 250}") for i in range(3000)]
    first = [b.pick(r).name for r in reqs]
    assert [b.pick(r).name for r in reqs] == first
    assert all(700 < n < 1300 for n in counts(first).values())
    assert b.pick(FakeRequest(src="2001:db8::7")) is not None
    assert b.algo_name == "source"


def test_map_weights_are_reduced_by_their_gcd_like_haproxy() -> None:
    spec, rows = HAPROXY_VECTORS["uri map-based"]
    b = make_balancer(spec, make_servers(2, 4, 6, 2, 10))
    assert [b.pick(FakeRequest(target=t)).name for t, _ in rows] == [s for _, s in rows]
