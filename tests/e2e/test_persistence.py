"""Session persistence on the wire: cookie insert/rewrite/prefix with a real cookie jar (httpx),
failover when the sticky server goes down, a draining server keeping its persistent clients,
`option redispatch`, and `stick on src` in mode http and mode tcp with `show table` over the
admin socket. Every backend is a real server on 127.0.0.1:0; clients bind 127.0.0.x sources."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.support import HttpBackend, lb_port, socat, start_backend, start_lb, wait_for


def cookie_config(sock: Path, ports: dict[str, int], *, cookie: str = "SRV insert indirect nocache",
                  backend: str = "", check: str = "check inter 100ms fall 1 rise 1") -> str:
    servers = "\n".join(f"    server {n} 127.0.0.1:{p} cookie {n} {check}" for n, p in ports.items())
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
    default_backend be
backend be
    balance roundrobin
    cookie {cookie}
{backend}
{servers}
"""


async def cacheable(backend: HttpBackend, event: Any, body: bytes):
    return 200, [("cache-control", "public, max-age=60")], f"{backend.name}\n".encode()


async def three(nursery: trio.Nursery) -> dict[str, HttpBackend]:
    return {n: await start_backend(nursery, n, handler=cacheable) for n in ("s1", "s2", "s3")}


async def newcomer(client: httpx.AsyncClient) -> str:
    """A request from a client without any cookie (a new visitor)."""
    client.cookies.clear()
    return served(await client.get("/"))


def served(response: httpx.Response) -> str:
    assert response.status_code == 200, response
    return response.headers["x-served-by"]


async def test_cookie_insert_sticks_fails_over_and_keeps_draining(nursery, tmp_path):
    with trio.fail_after(15):
        backends = await three(nursery)
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, cookie_config(sock, {n: b.port for n, b in backends.items()}))
        url = f"http://127.0.0.1:{lb_port(lb, 'fe')}"
        be = lb.runtime.backends["be"]

        # stickiness: the first answer sets SRV=<server>, every later request goes back there,
        # even on fresh connections, while cookie-less clients keep being balanced
        async with httpx.AsyncClient(base_url=url) as client:
            first = await client.get("/")
            home = served(first)
            set_cookie = first.headers["set-cookie"]
            assert set_cookie == f"SRV={home}; path=/"
            # nocache: a cacheable response carrying a cookie is made private (appended, as HAProxy does)
            assert first.headers.get_list("cache-control") == ["public, max-age=60", "private"]
            for _ in range(20):
                r = await client.get("/", headers={"connection": "close"})
                assert served(r) == home
                assert "set-cookie" not in r.headers  # a direct request needs no new cookie
            # indirect: the server never sees the persistence cookie
            assert all("SRV=" not in h.get("cookie", "") for _, _, h in backends[home].requests)
        async with httpx.AsyncClient(base_url=url) as fresh:
            assert len({await newcomer(fresh) for _ in range(3)} | {home}) >= 2

        # failover: the sticky server goes DOWN (its listener closes, fall 1 x inter 100ms), the
        # client is rebalanced and handed a new cookie, then sticks to its new server
        async with httpx.AsyncClient(base_url=url) as client:
            home = served(await client.get("/"))
            backends[home].stop()
            await wait_for(lambda: not be.server(home).usable)
            moved = await client.get("/")
            new_home = served(moved)
            assert new_home != home
            assert moved.headers["set-cookie"] == f"SRV={new_home}; path=/"
            assert client.cookies["SRV"] == new_home
            assert {served(await client.get("/")) for _ in range(5)} == {new_home}

            # DRAIN: persistent clients keep reaching the draining server, new clients do not
            assert await socat(sock, f"set server be/{new_home} state drain\n") == "\n"
            assert {served(await client.get("/")) for _ in range(5)} == {new_home}
            async with httpx.AsyncClient(base_url=url) as fresh:
                others = {await newcomer(fresh) for _ in range(6)}
            assert new_home not in others and home not in others and len(others) == 1


async def test_cookie_to_maint_server_is_rebalanced(nursery, tmp_path):
    with trio.fail_after(10):
        backends = await three(nursery)
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, cookie_config(sock, {n: b.port for n, b in backends.items()},
                                                   backend="    option redispatch"))
        url = f"http://127.0.0.1:{lb_port(lb, 'fe')}"
        async with httpx.AsyncClient(base_url=url) as client:
            home = served(await client.get("/"))
            assert {served(await client.get("/")) for _ in range(3)} == {home}
            assert await socat(sock, f"set server be/{home} state maint\n") == "\n"
            moved = await client.get("/")
            assert served(moved) != home
            assert moved.headers["set-cookie"] == f"SRV={served(moved)}; path=/"
            await socat(sock, f"set server be/{home} state ready\n")
            # the jar now holds the new server: the client stays there, s2's return does not pull it back
            assert {served(await client.get("/")) for _ in range(3)} == {served(moved)}


def redispatch_config(sock: Path, ports: dict[str, int], backend: str) -> str:
    # no health check: s1 still looks UP, so its cookie designates it, and its connection is refused
    # (the turn-around between retries is min(timeout connect, 1s): keep it short)
    return cookie_config(sock, ports, check="", backend=backend + "\n    timeout connect 100ms")


async def test_option_redispatch_when_the_cookie_server_refuses(nursery, tmp_path):
    """With `option redispatch` the last retry goes to another server; without it the client
    gets a 503 once the retries are spent."""
    with trio.fail_after(10):
        backends = await three(nursery)
        ports = {n: b.port for n, b in backends.items()}
        backends["s1"].stop()
        lb = await start_lb(nursery, redispatch_config(tmp_path / "a.sock", ports, "    option redispatch\n    retries 2"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            r = await client.get("/", headers={"cookie": "SRV=s1"})
            assert served(r) in ("s2", "s3")
        lb2 = await start_lb(nursery, redispatch_config(tmp_path / "b.sock", ports, "    retries 1"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb2, 'fe')}") as client:
            assert (await client.get("/", headers={"cookie": "SRV=s1"})).status_code == 503


async def test_redispatched_client_gets_a_new_cookie(nursery, tmp_path):
    """HAProxy 2.6 clears SF_DIRECT when it redispatches, so the response inserts the new
    server's cookie (checked with haproxy 2.6: `set-cookie: SRV=s2; path=/`)."""
    with trio.fail_after(10):
        backends = await three(nursery)
        ports = {n: b.port for n, b in backends.items()}
        backends["s1"].stop()
        lb = await start_lb(nursery, redispatch_config(tmp_path / "a.sock", ports, "    option redispatch\n    retries 2"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            r = await client.get("/", headers={"cookie": "SRV=s1"})
            assert r.headers.get("set-cookie") == f"SRV={served(r)}; path=/"
            assert client.cookies["SRV"] == served(r)  # the jar follows: the client now sticks there
            assert {served(await client.get("/")) for _ in range(3)} == {served(r)}


async def test_cookie_rewrite_and_prefix(nursery, tmp_path):
    async def app_cookie(backend: HttpBackend, event: Any, body: bytes):
        return 200, [("set-cookie", "JSESSIONID=abc123; path=/")], f"{backend.name}\n".encode()

    with trio.fail_after(10):
        backends = {n: await start_backend(nursery, n, handler=app_cookie) for n in ("s1", "s2")}
        ports = {n: b.port for n, b in backends.items()}
        # rewrite: the server's own SRV cookie gets the server's cookie value
        async def srv_cookie(backend: HttpBackend, event: Any, body: bytes):
            return 200, [("set-cookie", "SRV=anything; path=/")], f"{backend.name}\n".encode()

        for b in backends.values():
            b.handler = srv_cookie
        lb = await start_lb(nursery, cookie_config(tmp_path / "r.sock", ports, cookie="SRV rewrite", check=""))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            r = await client.get("/")
            home = served(r)
            assert r.headers["set-cookie"] == f"SRV={home}; path=/"
            assert {served(await client.get("/")) for _ in range(5)} == {home}
            # rewrite mode passes the cookie through to the server as the client sent it
            assert backends[home].requests[-1][2]["cookie"] == f"SRV={home}"

        # prefix: the application's session cookie is prefixed with "<server>~", stripped on the way in
        for b in backends.values():
            b.handler = app_cookie
        lb = await start_lb(nursery, cookie_config(tmp_path / "p.sock", ports, cookie="JSESSIONID prefix",
                                                   check=""))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            r = await client.get("/")
            home = served(r)
            assert r.headers["set-cookie"] == f"JSESSIONID={home}~abc123; path=/"
            assert {served(await client.get("/")) for _ in range(5)} == {home}
            assert backends[home].requests[-1][2]["cookie"] == "JSESSIONID=abc123"


# --- stick tables -----------------------------------------------------------------------------

def stick_config(sock: Path, ports: dict[str, int], mode: str) -> str:
    servers = "\n".join(f"    server {n} 127.0.0.1:{p}" for n, p in ports.items())
    return f"""
global
    stats socket {sock} level admin
defaults
    mode {mode}
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin
    stick-table type ip size 1k expire 1m
    stick on src
{servers}
"""


def table_entries(text: str) -> dict[str, dict[str, str]]:
    """`show table <t>` lines -> key -> {data: value}."""
    out = {}
    for line in text.splitlines():
        if line.startswith("0x"):
            fields = dict(w.split("=", 1) for w in line.split()[1:])
            out[fields.pop("key")] = fields
    return out


async def test_stick_on_src_http(nursery, tmp_path):
    with trio.fail_after(10):
        backends = await three(nursery)
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, stick_config(sock, {n: b.port for n, b in backends.items()}, "http"))
        url = f"http://127.0.0.1:{lb_port(lb, 'fe')}"
        homes = {}
        for src in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            seen = set()
            for _ in range(4):  # a new connection each time: the table, not the connection, sticks
                transport = httpx.AsyncHTTPTransport(local_address=src)
                async with httpx.AsyncClient(base_url=url, transport=transport) as client:
                    seen.add(served(await client.get("/")))
            assert len(seen) == 1, (src, seen)
            homes[src] = seen.pop()
        assert len(set(homes.values())) == 3  # the balancer placed each new source elsewhere
        text = await socat(sock, "show table be\n")
        assert text.startswith("# table: be, type: ip, size:1024, used:3\n")
        entries = table_entries(text)
        ids = {"s1": "1", "s2": "2", "s3": "3"}
        assert {k: (v["server_id"], v["server_key"]) for k, v in entries.items()} == {
            s: (ids[h], h) for s, h in homes.items()}


async def test_stick_on_src_tcp(nursery, tmp_path):
    async def named_echo(name: str, stream: trio.SocketStream) -> None:
        try:
            await stream.send_all(f"hello from {name}\n".encode())
            async for data in stream:
                await stream.send_all(data)
        except trio.BrokenResourceError:
            pass
        finally:
            await stream.aclose()

    async def serve(name: str, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        task_status.started(listeners[0].socket.getsockname()[1])
        await trio.serve_listeners(lambda s: named_echo(name, s), listeners)

    async def who(port: int, src: str) -> str:
        sock = trio.socket.socket()
        await sock.bind((src, 0))
        await sock.connect(("127.0.0.1", port))
        stream = trio.SocketStream(sock)
        greeting = b""
        while not greeting.endswith(b"\n"):
            greeting += await stream.receive_some(100)
        await stream.send_all(b"ping\n")
        assert await stream.receive_some(100) == b"ping\n"
        await stream.aclose()
        return greeting.split()[-1].decode()

    with trio.fail_after(10):
        ports = {n: await nursery.start(serve, n) for n in ("t1", "t2")}
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, stick_config(sock, ports, "tcp"))
        port = lb_port(lb, "fe")
        a = {await who(port, "127.0.0.2") for _ in range(4)}
        b = {await who(port, "127.0.0.3") for _ in range(4)}
        assert len(a) == 1 and len(b) == 1 and a != b
        entries = table_entries(await socat(sock, "show table be\n"))
        ids = {"t1": "1", "t2": "2"}
        for src, home in (("127.0.0.2", a), ("127.0.0.3", b)):
            (name,) = home
            assert entries[src]["server_id"] == ids[name] and entries[src]["server_key"] == name
        # HAProxy 2.6 finds the server by server_key (its name) before server_id: rewriting the id
        # does not move the client; clearing its entry makes the balancer place it afresh
        (name,) = a
        other = "2" if name == "t1" else "1"
        assert await socat(sock, f"set table be key 127.0.0.2 data.server_id {other}\n") == "\n"
        assert {await who(port, "127.0.0.2") for _ in range(2)} == a
        assert await socat(sock, "clear table be key 127.0.0.2\n") == "\n"
        assert "127.0.0.2" not in table_entries(await socat(sock, "show table be\n"))
        await who(port, "127.0.0.2")
        assert "127.0.0.2" in table_entries(await socat(sock, "show table be\n"))


async def test_log_cookie_flags(nursery, tmp_path):
    """The last two characters of the httplog termination state: N/V/D (request cookie: none,
    valid, server down) then I/N (cookie inserted, nothing done)."""
    with trio.fail_after(10):
        syslog = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        await syslog.bind(("127.0.0.1", 0))
        backends = await three(nursery)
        sock = tmp_path / "admin.sock"
        text = cookie_config(sock, {n: b.port for n, b in backends.items()}, check="").replace(
            "defaults\n", f"defaults\n    log 127.0.0.1:{syslog.getsockname()[1]} local0\n    option httplog\n")
        lb = await start_lb(nursery, text)

        async def state_of_next_log() -> str:
            line = (await syslog.recv(4096)).decode()
            # ... be/s1 0/0/0/0/1 200 143 - - --NI 1/1/1/1/0 0/0 "GET / HTTP/1.1"
            return re.search(r" \d{3} \d+ \S+ \S+ (\S{4}) [\d/]+ [\d/]+ \"", line).group(1)

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            home = served(await client.get("/"))
            assert await state_of_next_log() == "--NI"
            await client.get("/")
            assert await state_of_next_log() == "--VN"
            await socat(sock, f"set server be/{home} state maint\n")
            await client.get("/")
            assert await state_of_next_log() == "--DI"
