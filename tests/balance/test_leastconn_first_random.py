"""leastconn, first and random."""

from __future__ import annotations

import random

from trio_lb.balance import make_balancer
from trio_lb.config.model import BalanceSpec

from .fakes import counts, make_servers, names

LC = BalanceSpec(algo="leastconn")
FIRST = BalanceSpec(algo="first")


def test_leastconn_picks_least_busy() -> None:
    servers = make_servers(1, 1, 1)
    servers[0].cur_sess, servers[1].cur_sess, servers[2].cur_sess = 5, 2, 7
    b = make_balancer(LC, servers)
    assert b.pick(None).name == "s2"


def test_leastconn_counts_the_server_queue() -> None:
    servers = make_servers(1, 1)
    servers[0].cur_sess, servers[0].queue_len = 2, 3
    servers[1].cur_sess = 4
    assert make_balancer(LC, servers).pick(None).name == "s2"


def test_leastconn_is_relative_to_weight() -> None:
    servers = make_servers(1, 3)
    servers[0].cur_sess, servers[1].cur_sess = 2, 4  # 3/1 vs 5/3
    assert make_balancer(LC, servers).pick(None).name == "s2"


def test_leastconn_round_robins_between_ties() -> None:
    b = make_balancer(LC, make_servers(1, 1, 1))
    assert names(b, 6) == ["s1", "s2", "s3"] * 2


def test_leastconn_fills_evenly_when_sessions_stay_open() -> None:
    servers = make_servers(1, 1, 2)
    b = make_balancer(LC, servers)
    for _ in range(40):
        b.pick(None).cur_sess += 1
    assert [s.cur_sess for s in servers] == [10, 10, 20]


def test_leastconn_skips_full_and_avoid() -> None:
    servers = make_servers(1, 1, 1)
    servers[0].maxconn = 1
    servers[0].cur_sess = 1
    b = make_balancer(LC, servers)
    servers[2].cur_sess = 3
    assert b.pick(None, avoid=servers[1]).name == "s3"
    servers[2].usable = False
    b.update()
    assert b.pick(None, avoid=servers[1]) is servers[1]
    servers[1].maxconn, servers[1].cur_sess = 1, 1
    assert b.pick(None) is None


def test_leastconn_weight_change_applies_after_update() -> None:
    servers = make_servers(1, 1)
    servers[0].cur_sess, servers[1].cur_sess = 3, 5
    b = make_balancer(LC, servers)
    assert b.pick(None).name == "s1"
    servers[1].eweight = 4  # 6*256//4 = 384 < 4*256 = 1024
    b.update()
    assert b.pick(None).name == "s2"


def test_first_fills_lowest_id_first() -> None:
    servers = make_servers(1, 1, 1)
    for s in servers:
        s.maxconn = 2
    b = make_balancer(FIRST, servers)
    order = []
    for _ in range(6):
        srv = b.pick(None)
        order.append(srv.name)
        srv.cur_sess += 1
    assert order == ["s1", "s1", "s2", "s2", "s3", "s3"]
    assert b.pick(None) is None
    servers[1].cur_sess -= 1
    assert b.pick(None).name == "s2"


def test_first_orders_by_id_not_list_position() -> None:
    servers = make_servers(1, 1)
    servers[0].id, servers[1].id = 9, 4
    b = make_balancer(FIRST, servers)
    assert b.pick(None).name == "s2"


def test_first_avoid_and_weight_zero() -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(FIRST, servers)
    assert b.pick(None, avoid=servers[0]).name == "s2"
    servers[0].eweight = 0
    b.update()
    assert b.pick(None).name == "s2"
    servers[2].usable = servers[0].usable = False
    b.update()
    assert b.pick(None, avoid=servers[1]) is servers[1]


def test_random_is_weighted() -> None:
    servers = make_servers(1, 3)
    b = make_balancer(BalanceSpec(algo="random", random_draws=1), servers, rng=random.Random(1))
    c = counts(names(b, 8000))
    assert 0.22 < c["s1"] / 8000 < 0.28


def test_random_prefers_least_loaded_of_draws() -> None:
    servers = make_servers(1, 1)
    servers[0].cur_sess = 10
    b = make_balancer(BalanceSpec(algo="random", random_draws=2), servers, rng=random.Random(2))
    c = counts(names(b, 4000))
    # s1 only wins when both draws land on it: about 1/4 of the time
    assert 0.2 < c["s1"] / 4000 < 0.3
    b5 = make_balancer(BalanceSpec(algo="random(5)"), servers, rng=random.Random(3))
    assert b5.draws == 5
    assert counts(names(b5, 4000))["s1"] < 4000 * 0.06


def test_random_skips_full_and_avoid() -> None:
    servers = make_servers(1, 1, 1)
    servers[0].maxconn, servers[0].cur_sess = 1, 1
    b = make_balancer(BalanceSpec(algo="random"), servers, rng=random.Random(4))
    assert set(names(b, 200, avoid=servers[1])) == {"s3"}
    servers[2].maxconn, servers[2].cur_sess = 1, 1
    assert set(names(b, 20, avoid=servers[1])) == {"s2"}
    servers[1].maxconn, servers[1].cur_sess = 1, 1
    assert b.pick(None) is None


def test_random_csv_name_and_dynamic() -> None:
    b = make_balancer(BalanceSpec(algo="random"), make_servers(1))
    assert b.algo_name == "unknown"
    assert b.is_dynamic()
