"""Every balance algorithm through the real proxy, with httpx and two or three real servers.
(The algorithms' finer properties are unit-tested in tests/balance.)"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
import trio

from tests.support import lb_port, start_backend, start_lb


async def _setup(nursery, balance: str, opts=("", ""), extra: str = "", n: int = 2):
    backends = [await start_backend(nursery, f"s{i + 1}") for i in range(n)]
    servers = "\n".join(f"    server s{i + 1} 127.0.0.1:{b.port} {opts[i] if i < len(opts) else ''}"
                        for i, b in enumerate(backends))
    lb = await start_lb(nursery, f"""
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance {balance}
{extra}
{servers}
""")
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}"), lb


async def _who(client, path="/", **kw) -> str:
    return (await client.get(path, **kw)).headers["x-served-by"]


@pytest.mark.parametrize("algo", ["roundrobin", "static-rr"])
async def test_weights_3_to_1(nursery, algo):
    with trio.fail_after(10):
        client, _ = await _setup(nursery, algo, ("weight 3", "weight 1"))
        async with client:
            seq = [await _who(client) for _ in range(16)]
        for i in range(0, 16, 4):  # every window of four requests holds three s1 and one s2
            assert Counter(seq[i:i + 4]) == {"s1": 3, "s2": 1}, seq


async def test_roundrobin_weight_change_applies_at_once(nursery):
    with trio.fail_after(10):
        client, lb = await _setup(nursery, "roundrobin")
        be = lb.runtime.backends["be"]
        async with client:
            assert Counter([await _who(client) for _ in range(4)]) == {"s1": 2, "s2": 2}
            be.server("s2").set_weight(0, trio.current_time())
            be.server_changed(be.server("s2"), trio.current_time())
            assert {await _who(client) for _ in range(4)} == {"s1"}


async def test_leastconn_and_random_use_every_server(nursery):
    with trio.fail_after(10):
        for algo in ("leastconn", "random"):
            client, _ = await _setup(nursery, algo)
            async with client:
                seen = Counter([await _who(client) for _ in range(40)])
            assert set(seen) == {"s1", "s2"}, (algo, seen)


async def test_first_fills_the_lowest_id(nursery):
    with trio.fail_after(10):
        client, _ = await _setup(nursery, "first", ("maxconn 10", "maxconn 10"))
        async with client:
            assert {await _who(client) for _ in range(10)} == {"s1"}


async def test_source_hash_is_sticky(nursery):
    with trio.fail_after(10):
        client, _ = await _setup(nursery, "source", n=3)
        async with client:
            assert len({await _who(client) for _ in range(10)}) == 1


@pytest.mark.parametrize("hash_type", ["map-based", "consistent"])
async def test_uri_hash(nursery, hash_type):
    with trio.fail_after(20):
        client, _ = await _setup(nursery, "uri", extra=f"    hash-type {hash_type}", n=3)
        async with client:
            first = {p: await _who(client, p) for p in (f"/o/{i}" for i in range(30))}
            again = {p: await _who(client, p + "?q=1") for p in first}  # the query is not hashed
        assert first == again
        assert len(set(first.values())) == 3


async def test_url_param_and_hdr(nursery):
    with trio.fail_after(20):
        client, _ = await _setup(nursery, "url_param user", n=3)
        async with client:
            for user in ("alice", "bob", "carol"):
                assert len({await _who(client, f"/?user={user}") for _ in range(5)}) == 1
            assert len({await _who(client, "/") for _ in range(6)}) > 1  # no parameter: roundrobin
        client, _ = await _setup(nursery, "hdr(X-Tenant)", n=3)
        async with client:
            for tenant in ("a", "b", "c"):
                assert len({await _who(client, headers={"X-Tenant": tenant}) for _ in range(5)}) == 1
