"""roundrobin (live weights) and static-rr (frozen weights, HAProxy's map)."""

from __future__ import annotations

from trio_lb.balance import make_balancer
from trio_lb.config.model import BalanceSpec

from .fakes import FakeServer, counts, make_servers, names

RR = BalanceSpec(algo="roundrobin")
SRR = BalanceSpec(algo="static-rr")


def windows(seq: list[str], size: int) -> list[list[str]]:
    return [seq[i : i + size] for i in range(len(seq) - size + 1)]


def test_equal_weights_strictly_alternate() -> None:
    b = make_balancer(RR, make_servers(1, 1))
    assert names(b, 8) == ["s1", "s2"] * 4


def test_three_servers_cycle_in_order() -> None:
    b = make_balancer(RR, make_servers(5, 5, 5))
    assert names(b, 6) == ["s1", "s2", "s3"] * 2


def test_weights_3_to_1_hold_in_every_window_of_4() -> None:
    b = make_balancer(RR, make_servers(3, 1))
    seq = names(b, 40)
    for w in windows(seq, 4):
        assert counts(w) == {"s1": 3, "s2": 1}, seq


def test_weighted_distribution_is_exact_over_a_cycle() -> None:
    b = make_balancer(RR, make_servers(1, 2, 3, 1, 5))
    assert counts(names(b, 12 * 10)) == {"s1": 10, "s2": 20, "s3": 30, "s4": 10, "s5": 50}


def test_weight_change_applies_at_the_next_pick() -> None:
    servers = make_servers(1, 1)
    b = make_balancer(RR, servers)
    names(b, 2)
    servers[1].eweight = 3
    b.update()
    seq = names(b, 40)
    for w in windows(seq, 4):
        assert counts(w) == {"s1": 1, "s2": 3}, seq
    servers[1].eweight = 1
    b.update()
    seq = names(b, 8)
    assert all(a != b for a, b in zip(seq, seq[1:])), seq


def test_weight_change_mid_cycle_keeps_the_turn_already_due() -> None:
    servers = make_servers(1, 1)
    b = make_balancer(RR, servers)
    assert names(b, 3) == ["s1", "s2", "s1"]
    servers[1].eweight = 3
    b.update()
    seq = names(b, 41)
    assert seq[0] == "s2"  # s2 was next in line before the change
    for w in windows(seq[1:], 4):
        assert counts(w) == {"s1": 1, "s2": 3}, seq


def test_weight_change_without_update_is_not_seen() -> None:
    servers = make_servers(1, 1)
    b = make_balancer(RR, servers)
    servers[1].eweight = 3
    assert names(b, 4) == ["s1", "s2", "s1", "s2"]


def test_weight_zero_takes_no_traffic() -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(RR, servers)
    servers[1].eweight = 0
    b.update()
    assert set(names(b, 10)) == {"s1", "s3"}


def test_server_going_down_and_back() -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(RR, servers)
    servers[0].usable = False
    b.update()
    assert set(names(b, 6)) == {"s2", "s3"}
    servers[0].usable = True
    b.update()
    assert counts(names(b, 30)) == {"s1": 10, "s2": 10, "s3": 10}


def test_unusable_server_skipped_even_before_update() -> None:
    servers = make_servers(1, 1)
    b = make_balancer(RR, servers)
    servers[0].usable = False
    assert names(b, 4) == ["s2"] * 4


def test_servers_added_to_the_same_list() -> None:
    servers = make_servers(1, 1)
    b = make_balancer(RR, servers)
    servers.append(FakeServer(3, "s3"))
    b.update()
    assert counts(names(b, 30)) == {"s1": 10, "s2": 10, "s3": 10}


def test_full_server_is_skipped_and_all_full_returns_none() -> None:
    servers = make_servers(1, 1)
    for s in servers:
        s.maxconn = 2
    b = make_balancer(RR, servers)
    servers[0].cur_sess = 2
    assert names(b, 4) == ["s2"] * 4
    servers[1].cur_sess = 2
    assert b.pick(None) is None
    servers[0].cur_sess = 1
    assert b.pick(None).name == "s1"


def test_server_with_a_queue_counts_as_full() -> None:
    servers = make_servers(1, 1)
    servers[0].maxconn = 5
    servers[0].cur_sess = 4
    servers[0].queue_len = 1
    b = make_balancer(RR, servers)
    assert names(b, 3) == ["s2"] * 3


def test_avoid_is_skipped_when_another_candidate_exists() -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(RR, servers)
    assert all(n != "s2" for n in names(b, 9, avoid=servers[1]))
    servers[0].usable = servers[2].usable = False
    b.update()
    assert b.pick(None, avoid=servers[1]) is servers[1]


def test_no_server_returns_none() -> None:
    assert make_balancer(RR, []).pick(None) is None
    servers = make_servers(1)
    servers[0].usable = False
    assert make_balancer(RR, servers).pick(None) is None


def test_roundrobin_is_dynamic_static_rr_is_not() -> None:
    assert make_balancer(RR, make_servers(1)).is_dynamic()
    assert not make_balancer(SRR, make_servers(1)).is_dynamic()


# --- static-rr ------------------------------------------------------------------------------


def test_static_rr_sequence_matches_haproxy() -> None:
    # Captured from HAProxy 2.6.12: `balance static-rr`, weights 1 2 3 1 5.
    b = make_balancer(SRR, make_servers(1, 2, 3, 1, 5))
    expected = "1 2 5 3 5 2 3 5 3 5 4 5".split()
    assert [n[1:] for n in names(b, 24)] == expected * 2


def test_static_rr_alternates_and_keeps_ratios() -> None:
    assert names(make_balancer(SRR, make_servers(1, 1)), 4) == ["s1", "s2", "s1", "s2"]
    seq = names(make_balancer(SRR, make_servers(3, 1)), 40)
    assert counts(seq) == {"s1": 30, "s2": 10}


def test_static_rr_ignores_later_weight_changes() -> None:
    servers = make_servers(1, 1)
    b = make_balancer(SRR, servers)
    servers[1].eweight = 5
    b.update()
    assert counts(names(b, 10)) == {"s1": 5, "s2": 5}


def test_static_rr_weight_zero_and_down_remove_the_server() -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(SRR, servers)
    servers[0].eweight = 0
    servers[2].usable = False
    b.update()
    assert set(names(b, 6)) == {"s2"}
    servers[0].eweight = 7  # back to "100%": its frozen weight 1
    servers[2].usable = True
    b.update()
    assert counts(names(b, 30)) == {"s1": 10, "s2": 10, "s3": 10}


def test_static_rr_skips_full_and_avoid() -> None:
    servers = make_servers(1, 1, 1)
    b = make_balancer(SRR, servers)
    servers[0].maxconn, servers[0].cur_sess = 1, 1
    assert set(names(b, 6, avoid=servers[1])) == {"s3"}
    servers[2].usable = False
    b.update()
    assert b.pick(None, avoid=servers[1]) is servers[1]
    servers[1].maxconn, servers[1].cur_sess = 1, 1
    assert b.pick(None) is None
