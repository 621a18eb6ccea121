"""Backup servers: used only when no active server is usable; first one only unless allbackups."""

from __future__ import annotations

import pytest

from trio_lb.balance import make_balancer
from trio_lb.config.model import BalanceSpec

from .fakes import FakeRequest, counts, make_servers, names

ALGOS = [
    BalanceSpec(algo="roundrobin"),
    BalanceSpec(algo="static-rr"),
    BalanceSpec(algo="leastconn"),
    BalanceSpec(algo="first"),
    BalanceSpec(algo="random"),
    BalanceSpec(algo="source"),
    BalanceSpec(algo="uri", hash_type="consistent", hash_avalanche=True),
]


@pytest.mark.parametrize("spec", ALGOS, ids=lambda s: f"{s.algo}-{s.hash_type}")
def test_backups_only_when_no_active(spec: BalanceSpec) -> None:
    servers = make_servers(1, 1, backups=(1, 1))
    b = make_balancer(spec, servers)
    reqs = [FakeRequest(src=f"10.0.0.{i}", target=f"/k{i}") for i in range(20)]
    assert {b.pick(r).name for r in reqs} <= {"s1", "s2"}
    for s in servers[:2]:
        s.usable = False
    b.update()
    assert {b.pick(r).name for r in reqs} == {"b1"}


@pytest.mark.parametrize("spec", ALGOS, ids=lambda s: f"{s.algo}-{s.hash_type}")
def test_allbackups_spreads_over_usable_backups(spec: BalanceSpec) -> None:
    servers = make_servers(1, backups=(1, 1, 1))
    servers[0].usable = False
    servers[1].usable = False  # b1 down: b2 and b3 share the load
    b = make_balancer(spec, servers, allbackups=True)
    reqs = [FakeRequest(src=f"10.0.{i}.{i % 7}", target=f"/k{i}") for i in range(200)]
    picked = {b.pick(r).name for r in reqs}
    if spec.algo == "first":
        assert picked == {"b2"}
    else:
        assert picked == {"b2", "b3"}


def test_first_backup_is_lowest_id_usable() -> None:
    servers = make_servers(1, backups=(1, 1))
    servers[0].usable = False
    b = make_balancer(BalanceSpec(), servers)
    assert names(b, 3) == ["b1"] * 3
    servers[1].usable = False
    b.update()
    assert names(b, 3) == ["b2"] * 3


def test_active_server_returning_takes_over_from_backup() -> None:
    servers = make_servers(1, backups=(1,))
    servers[0].usable = False
    b = make_balancer(BalanceSpec(), servers)
    assert b.pick(None).name == "b1"
    servers[0].usable = True
    b.update()
    assert counts(names(b, 4)) == {"s1": 4}
