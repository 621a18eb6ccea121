"""Bad input, timeouts, server failures: each affects one connection only, with HAProxy's answers."""

from __future__ import annotations

import socket

import httpx
import pytest
import trio

from tests.support import http_config, lb_port, raw_request, start_backend, start_lb

BAD_REQUEST = (b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\n"
               b"Content-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\n"
               b"Your browser sent an invalid request.\n</body></html>\n")
TIMEOUT_408 = (b"HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\n"
               b"Connection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\n"
               b"Your browser didn't send a complete request in time.\n</body></html>\n")


def config(port: int, extra: str = "", timeouts: str = "") -> str:
    return http_config(port, backend=extra, timeouts=timeouts, client="2s", server="2s")


async def _good_client_loop(port: int, count: int, results: list) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(count):
            r = await client.get("/")
            results.append(r.status_code)


BAD_INPUTS = {
    "malformed request line": b"GARBAGE\r\n\r\n",
    "oversized headers": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
    "content-length with transfer-encoding": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "bad header name": b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    "two content-lengths": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
async def test_bad_request_gets_400_and_close_while_good_client_is_served(nursery, name):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        lb = await start_lb(nursery, config(backend.port))
        port = lb_port(lb, "fe")
        results: list[int] = []
        async with trio.open_nursery() as inner:
            inner.start_soon(_good_client_loop, port, 20, results)
            reply = await raw_request(port, BAD_INPUTS[name])
        assert reply == BAD_REQUEST  # and the connection was closed (raw_request read to EOF)
        assert results == [200] * 20
        assert all(b"x-big" not in str(r).encode() for r in backend.requests)
        assert lb.runtime.frontends["fe"].counters.ereq == 1


async def test_incomplete_request_gets_408_after_http_request_timeout(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        lb = await start_lb(nursery, config(backend.port, timeouts="    timeout http-request 300ms"))
        t0 = trio.current_time()
        reply = await raw_request(lb_port(lb, "fe"), b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert reply == TIMEOUT_408
        assert 0.25 < trio.current_time() - t0 < 2


async def test_silent_client_is_closed_without_response(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        lb = await start_lb(nursery, config(backend.port, timeouts="    timeout http-request 300ms"))
        t0 = trio.current_time()
        assert await raw_request(lb_port(lb, "fe"), b"") == b""
        assert 0.25 < trio.current_time() - t0 < 2


async def test_idle_keepalive_connection_closes_after_http_keep_alive(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        lb = await start_lb(nursery, config(backend.port, timeouts="    timeout http-keep-alive 200ms"))
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        t0 = trio.current_time()
        while True:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"s1\n")
        assert 0.15 < trio.current_time() - t0 < 2


async def _silent_server(task_status=trio.TASK_STATUS_IGNORED):
    """Accepts and reads, never answers."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    task_status.started(listener.getsockname()[1])
    conns = []
    try:
        while True:
            sock, _ = await listener.accept()
            conns.append(sock)
    finally:
        for c in conns:
            c.close()
        listener.close()


async def test_silent_server_gives_504_after_timeout_server(nursery):
    with trio.fail_after(10):
        port = await nursery.start(_silent_server)
        lb = await start_lb(nursery, config(port, timeouts="    timeout server 300ms"))
        t0 = trio.current_time()
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{lb_port(lb, 'fe')}/")
        assert r.status_code == 504
        assert "504 Gateway Time-out" in r.text
        assert 0.25 < trio.current_time() - t0 < 2
        assert lb.runtime.backends["be"].counters.eresp == 1


async def _closing_server(task_status=trio.TASK_STATUS_IGNORED):
    """Accepts, reads the request, closes without a response."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    task_status.started(listener.getsockname()[1])
    while True:
        sock, _ = await listener.accept()
        await sock.recv(65536)
        sock.close()


async def test_server_closing_without_response_gives_502(nursery):
    with trio.fail_after(10):
        port = await nursery.start(_closing_server)
        lb = await start_lb(nursery, config(port))
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{lb_port(lb, 'fe')}/")
        assert r.status_code == 502
        assert "The server returned an invalid or incomplete response." in r.text


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_connect_failure_retries_then_503(nursery):
    with trio.fail_after(10):
        dead = _free_port()
        lb = await start_lb(nursery, config(dead, extra="    retries 2", timeouts="    timeout connect 100ms"))
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{lb_port(lb, 'fe')}/")
        assert r.status_code == 503
        be = lb.runtime.backends["be"]
        assert be.counters.econ == 3  # first try + 2 retries
        assert be.counters.wretr == 2


async def test_redispatch_moves_the_last_retry_to_another_server(nursery):
    with trio.fail_after(10):
        live = await start_backend(nursery, "live")
        dead = _free_port()
        lb = await start_lb(nursery, f"""
defaults
    mode http
    timeout connect 100ms
    timeout client 2s
    timeout server 2s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    retries 1
    option redispatch
    server dead 127.0.0.1:{dead}
    server live 127.0.0.1:{live.port}
""")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            statuses = [(await client.get("/")).status_code for _ in range(4)]
        assert statuses == [200] * 4
        be = lb.runtime.backends["be"]
        # every request that landed on `dead` failed there once, then was redispatched to `live`
        dead_tries = be.server("dead").counters.econ
        assert dead_tries >= 2
        assert be.counters.wredis == dead_tries
        assert be.server("live").counters.wredis == dead_tries
