"""make_balancer(): algorithm names, CSV names, dynamic flags and errors."""

from __future__ import annotations

import pytest

from trio_lb.balance import Balancer, ServerView, make_balancer
from trio_lb.config.model import BalanceSpec
from trio_lb.errors import ConfigError

from .fakes import FakeServer, make_servers


@pytest.mark.parametrize(
    "spec,csv,dynamic",
    [
        (BalanceSpec(algo="roundrobin"), "roundrobin", True),
        (BalanceSpec(algo="static-rr"), "static-rr", False),
        (BalanceSpec(algo="leastconn"), "leastconn", True),
        (BalanceSpec(algo="first"), "first", True),
        (BalanceSpec(algo="random"), "unknown", True),
        (BalanceSpec(algo="source"), "source", False),
        (BalanceSpec(algo="source", hash_type="consistent"), "source", True),
        (BalanceSpec(algo="uri"), "uri", False),
        (BalanceSpec(algo="url_param", param="id"), "url_param", False),
        (BalanceSpec(algo="hdr", param="host", hash_type="consistent"), "hdr", True),
    ],
)
def test_names_and_dynamic(spec: BalanceSpec, csv: str, dynamic: bool) -> None:
    b = make_balancer(spec, make_servers(1, 1))
    assert isinstance(b, Balancer)
    assert b.algo_name == csv
    assert b.is_dynamic() is dynamic


@pytest.mark.parametrize(
    "spec",
    [
        BalanceSpec(algo="rdp-cookie"),
        BalanceSpec(algo="url_param"),
        BalanceSpec(algo="hdr"),
        BalanceSpec(algo="random(0)"),
        BalanceSpec(algo="random(x)"),
        BalanceSpec(algo="uri", hash_function="md5"),
    ],
)
def test_bad_specs_raise_config_error(spec: BalanceSpec) -> None:
    with pytest.raises(ConfigError):
        make_balancer(spec, make_servers(1))


def test_fake_server_satisfies_protocol() -> None:
    assert isinstance(FakeServer(1, "a"), ServerView)
