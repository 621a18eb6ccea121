"""Rate limiting with stick tables, on the wire: clients from two loopback sources (127.0.0.2 over
its limit, 127.0.0.3 at a normal rate), `http-request track-sc0` + deny 429 and `tcp-request
connection track-sc0` + reject, with `show table` / `clear table` over the admin socket. The
expected tables are what HAProxy 2.6.12 printed for the same config and traffic (pointers and
expiry dates aside)."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import httpx
import trio

from tests.support import lb_port, socat, start_backend, start_lb, wait_for

LIMIT = 5


def config(sock: Path, port: int) -> str:
    return f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    http-request track-sc0 src table limits
    http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt {LIMIT} }}
    default_backend be
frontend tcpfe
    bind 127.0.0.1:0
    mode tcp
    tcp-request connection track-sc0 src table climits
    tcp-request connection reject if {{ sc_conn_rate(0) gt 3 }}
    default_backend be
backend be
    server s1 127.0.0.1:{port}
backend limits
    stick-table type ip size 1k expire 1m store http_req_rate(10s),http_req_cnt,conn_cur,conn_cnt
backend climits
    stick-table type ip size 1k expire 1m store conn_rate(10s),conn_cur,conn_cnt
"""


def rows(text: str) -> list[str]:
    """`show table` entry lines without the pointer and the expiry countdown."""
    return [re.sub(r" exp=\d+", "", line.split(": ", 1)[1]) for line in text.splitlines() if line.startswith("0x")]


def client(url: str, src: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, transport=httpx.AsyncHTTPTransport(local_address=src))


async def test_http_req_rate_limit_per_source(nursery, tmp_path):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, backend.port))
        url = f"http://127.0.0.1:{lb_port(lb, 'fe')}"
        async with client(url, "127.0.0.2") as greedy, client(url, "127.0.0.3") as calm:
            statuses = []
            for i in range(8):
                statuses.append((await greedy.get("/")).status_code)
                if i % 3 == 0:  # the calm client's requests are interleaved with the flood
                    assert (await calm.get("/")).status_code == 200
            # the request that starts tracking counts: LIMIT pass, then the rate is over the limit
            assert statuses == [200] * LIMIT + [429] * 3
            denied = await greedy.get("/")
            assert denied.status_code == 429 and "Too Many Requests" in denied.text
            assert backend.hits == LIMIT + 3  # denied requests never reach the server
            assert (await socat(sock, "show table\n")).splitlines()[:2] == [
                "# table: climits, type: ip, size:1024, used:0",
                "# table: limits, type: ip, size:1024, used:2",
            ]
            # http-request tracking is per stream: conn_cnt counts requests, conn_cur is 0 between them
            text = await socat(sock, "show table limits\n")
            assert text.startswith("# table: limits, type: ip, size:1024, used:2\n")
            assert rows(text) == [
                "key=127.0.0.2 use=0 conn_cnt=9 conn_cur=0 http_req_cnt=9 http_req_rate(10000)=9",
                "key=127.0.0.3 use=0 conn_cnt=3 conn_cur=0 http_req_cnt=3 http_req_rate(10000)=3",
            ]
            # filters and one key, as operators query it
            assert rows(await socat(sock, "show table limits data.http_req_rate gt 5\n")) == [
                "key=127.0.0.2 use=0 conn_cnt=9 conn_cur=0 http_req_cnt=9 http_req_rate(10000)=9"]
            assert rows(await socat(sock, "show table limits key 127.0.0.3\n")) == [
                "key=127.0.0.3 use=0 conn_cnt=3 conn_cur=0 http_req_cnt=3 http_req_rate(10000)=3"]
            # clearing the greedy client's entry lifts its limit at once
            assert await socat(sock, "clear table limits key 127.0.0.2\n") == "\n"
            assert (await greedy.get("/")).status_code == 200
            assert rows(await socat(sock, "show table limits key 127.0.0.2\n")) == [
                "key=127.0.0.2 use=0 conn_cnt=1 conn_cur=0 http_req_cnt=1 http_req_rate(10000)=1"]
            # and an operator can impose a rate on an entry
            await socat(sock, "set table limits key 127.0.0.3 data.http_req_rate 100\n")
            assert (await calm.get("/")).status_code == 429


async def connect_from(port: int, src: str) -> trio.SocketStream:
    sock = trio.socket.socket()
    await sock.bind((src, 0))
    await sock.connect(("127.0.0.1", port))
    return trio.SocketStream(sock)


async def exchange(port: int, src: str) -> str:
    """One HTTP/1.0 request through the TCP frontend: "200", or "reset" when rejected."""
    stream = await connect_from(port, src)
    try:
        await stream.send_all(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := await stream.receive_some(4096):
            data += chunk
        return data.split()[1].decode() if data else "closed"
    except trio.BrokenResourceError as exc:
        assert isinstance(exc.__cause__, ConnectionResetError) and exc.__cause__.errno == errno.ECONNRESET
        return "reset"
    finally:
        await stream.aclose()


async def test_conn_rate_reject_per_source(nursery, tmp_path):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, backend.port))
        port = lb_port(lb, "tcpfe")
        table = lb.runtime.tables["climits"]
        flood = [await exchange(port, "127.0.0.2") for _ in range(6)]
        assert flood == ["200"] * 3 + ["reset"] * 3  # the 4th connection is over 3 per 10s
        assert [await exchange(port, "127.0.0.3") for _ in range(2)] == ["200", "200"]
        # a connection held open is counted in conn_cur until it closes
        held = await connect_from(port, "127.0.0.3")
        await wait_for(lambda: any(e.ref_cnt for e in table.entries(trio.current_time())))
        assert rows(await socat(sock, "show table climits\n")) == [
            "key=127.0.0.2 use=0 conn_cnt=6 conn_rate(10000)=6 conn_cur=0",
            "key=127.0.0.3 use=1 conn_cnt=3 conn_rate(10000)=3 conn_cur=1",
        ]
        await held.aclose()
        await wait_for(lambda: not any(e.ref_cnt for e in table.entries(trio.current_time())))
        assert await socat(sock, "clear table climits\n") == "\n"
        assert (await socat(sock, "show table climits\n")) == "# table: climits, type: ip, size:1024, used:0\n\n"
        assert await exchange(port, "127.0.0.2") == "200"  # a fresh rate after the clear
