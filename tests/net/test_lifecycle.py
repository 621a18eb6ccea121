"""Soft stop (SIGUSR1): listeners close, requests in flight finish; traffic and health logs."""

from __future__ import annotations

import os
import re
import signal
import socket

import httpx
import trio

import trio_lb.config as config_pkg
from tests.support import http_config, lb_port, start_backend, wait_for
from trio_lb.net.main import run


async def _slow(backend, event, body):
    await trio.sleep(0.5)
    return 200, [], b"slow done\n"


async def _soft_stop_scenario(nursery, trigger) -> None:
    backend = await start_backend(nursery, "s1", handler=_slow)
    config = config_pkg.parse(http_config(backend.port), "t.cfg")
    finished = trio.Event()

    async def serve(task_status=trio.TASK_STATUS_IGNORED):
        await run(config, quiet=True, task_status=task_status)
        finished.set()

    lb = await nursery.start(serve)
    port = lb_port(lb, "fe")
    results = []

    async def in_flight():
        async with httpx.AsyncClient() as client:
            results.append((await client.get(f"http://127.0.0.1:{port}/")).text)

    async with trio.open_nursery() as inner:
        inner.start_soon(in_flight)
        await wait_for(lambda: backend.active == 1)  # the request is at the server
        trigger(lb)
        await wait_for(lambda: not lb.runtime.frontends["fe"].listeners[0].fileno() >= 0)
        # new connections are refused at once
        try:
            await trio.open_tcp_stream("127.0.0.1", port)
            refused = False
        except OSError:
            refused = True
        assert refused
    assert results == ["slow done\n"]  # the request in flight finished
    await finished.wait()  # and then run() returned by itself


async def test_soft_stop_lets_requests_in_flight_finish(nursery):
    with trio.fail_after(10):
        await _soft_stop_scenario(nursery, lambda lb: lb.soft_stop())


async def test_sigusr1_is_a_soft_stop(nursery):
    with trio.fail_after(10):
        await _soft_stop_scenario(nursery, lambda lb: os.kill(os.getpid(), signal.SIGUSR1))


async def test_soft_stop_closes_idle_keepalive_connections(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        config = config_pkg.parse(http_config(backend.port, client="30s", server="30s"), "t.cfg")
        lb = await nursery.start(lambda task_status: run(config, quiet=True, task_status=task_status))
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while not reply.endswith(b"s1\n"):
            reply += await stream.receive_some(4096)
        lb.soft_stop()  # the client is idle between requests: closed without waiting 30 s
        assert await stream.receive_some(4096) == b""
        await stream.aclose()


async def _udp_sink(task_status=trio.TASK_STATUS_IGNORED):
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", 0))
    lines = trio.open_memory_channel(100)
    task_status.started((sock.getsockname()[1], lines[1]))
    while True:
        data = await sock.recv(65536)
        await lines[0].send(data.decode())


HTTPLOG = re.compile(
    r"^127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe be/s1 \d+/0/\d+/\d+/\d+ 200 \d+ - - ---- "
    r"\d+/\d+/\d+/\d+/0 0/0 \"GET /logged\?x=1 HTTP/1\.1\"\n$")


async def test_httplog_line_and_health_transition_log(nursery):
    with trio.fail_after(15):
        port, lines = await nursery.start(_udp_sink)
        backend = await start_backend(nursery, "s1")
        config = config_pkg.parse(f"""
global
    log 127.0.0.1:{port} format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:{backend.port} check inter 100ms fall 1 rise 1
""", "t.cfg")
        lb = await nursery.start(lambda task_status: run(config, quiet=True, task_status=task_status))
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{lb_port(lb, 'fe')}/logged?x=1")).status_code == 200
        assert (await lines.receive()) == "Proxy fe started.\n"
        assert (await lines.receive()) == "Proxy be started.\n"
        line = await lines.receive()
        assert HTTPLOG.match(line), line
        backend.stop()
        line = await lines.receive()
        assert line.startswith("Server be/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"")
        assert "0 active and 0 backup servers left." in line
        assert (await lines.receive()) == "backend be has no server available!\n"


async def test_slowstart_ramps_the_weight_up(nursery):
    with trio.fail_after(15):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        config = config_pkg.parse(f"""
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:{b1.port} weight 100 check inter 100ms fall 1 rise 1 slowstart 1s
    server s2 127.0.0.1:{b2.port} weight 100
""", "t.cfg")
        lb = await nursery.start(lambda task_status: run(config, quiet=True, task_status=task_status))
        s1 = lb.runtime.backends["be"].server("s1")
        b1.stop()
        await wait_for(lambda: not s1.usable)
        await start_backend(nursery, "s1", port=b1.port)
        await wait_for(lambda: s1.usable)
        seen = [s1.eweight]
        await wait_for(lambda: seen.append(s1.eweight) or s1.eweight == 100)
        ramp = sorted(set(seen))
        assert ramp[0] < 50 and ramp[-1] == 100 and len(ramp) >= 3  # several steps on the way up
