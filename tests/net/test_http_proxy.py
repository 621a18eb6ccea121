"""mode http end to end: real sockets on 127.0.0.1, real HTTP clients (httpx), real backends."""

from __future__ import annotations

import httpx
import trio

from tests.support import lb_port, raw_request, start_backend, start_lb

BASE = """
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
"""


def two_servers(b1, b2, extra_backend: str = "", extra_frontend: str = "") -> str:
    return BASE + f"""
frontend fe
    bind 127.0.0.1:0
{extra_frontend}
    default_backend be
backend be
{extra_backend}
    server s1 127.0.0.1:{b1.port}
    server s2 127.0.0.1:{b2.port}
"""


async def test_roundrobin_alternates_and_reuses_connections_both_sides(nursery):
    with trio.fail_after(10):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        lb = await start_lb(nursery, two_servers(b1, b2))
        port = lb_port(lb, "fe")
        seen = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(10):
                r = await client.get("/")
                assert r.status_code == 200
                seen.append(r.text.strip())
        assert seen == ["s1", "s2"] * 5
        # keep-alive toward the servers: one connection each carried all requests
        assert (b1.connections, b2.connections) == (1, 1)
        # keep-alive toward the client: one frontend session for ten requests
        assert lb.runtime.frontends["fe"].counters.stot == 1
        assert lb.runtime.frontends["fe"].counters.req_tot == 10


async def test_http_server_close_and_httpclose(nursery):
    with trio.fail_after(10):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        lb = await start_lb(nursery, two_servers(b1, b2, extra_backend="    option http-server-close"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            for _ in range(4):
                assert (await client.get("/")).status_code == 200
        assert b1.connections + b2.connections == 4  # a new server connection per request
        assert lb.runtime.frontends["fe"].counters.stot == 1  # client side still kept alive

    with trio.fail_after(10):
        lb2 = await start_lb(nursery, two_servers(b1, b2, extra_frontend="    option httpclose"))
        reply = await raw_request(lb_port(lb2, "fe"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200")
        assert b"connection: close" in reply.lower()


async def test_forwardfor_and_hop_by_hop(nursery):
    with trio.fail_after(10):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        lb = await start_lb(nursery, two_servers(b1, b2, extra_frontend="    option forwardfor"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            await client.get("/", headers={"Connection": "keep-alive, X-Secret", "X-Secret": "1", "Keep-Alive": "5"})
        _, _, headers = b1.requests[0]
        assert headers["x-forwarded-for"] == "127.0.0.1"
        assert "x-secret" not in headers and "keep-alive" not in headers and "connection" not in headers


async def test_forwardfor_except_and_header(nursery):
    with trio.fail_after(10):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        lb = await start_lb(nursery, two_servers(
            b1, b2, extra_frontend="    option forwardfor except 127.0.0.0/8 header X-Client"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            await client.get("/")
        assert "x-client" not in b1.requests[0][2]


async def test_acl_routing(nursery):
    with trio.fail_after(10):
        web = await start_backend(nursery, "web")
        api = await start_backend(nursery, "api")
        img = await start_backend(nursery, "img")
        lb = await start_lb(nursery, BASE + f"""
frontend fe
    bind 127.0.0.1:0
    acl is_api path_beg /api/
    acl is_img path_end .png .jpg
    acl admin_host hdr(host) -i admin.example.com
    acl from_local src 127.0.0.0/8
    use_backend api if is_api from_local || admin_host
    use_backend img if is_img !is_api
    use_backend api if {{ url_param(v) -m str 2 }}
    use_backend img if METH_POST {{ path /upload }}
    default_backend web
backend web
    server web 127.0.0.1:{web.port}
backend api
    server api 127.0.0.1:{api.port}
backend img
    server img 127.0.0.1:{img.port}
""")
        cases = [
            ("GET", "/", {}, "web"),
            ("GET", "/api/users", {}, "api"),
            ("GET", "/x/logo.png", {}, "img"),
            ("GET", "/api/logo.png", {}, "api"),
            ("GET", "/", {"Host": "ADMIN.example.com"}, "api"),
            ("GET", "/page?v=2", {}, "api"),
            ("GET", "/page?v=3", {}, "web"),
            ("POST", "/upload", {}, "img"),
            ("GET", "/upload", {}, "web"),
        ]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            for method, path, headers, expected in cases:
                r = await client.request(method, path, headers=headers)
                assert r.text.strip() == expected, (method, path, headers)


async def test_no_backend_gives_haproxy_503_and_keeps_connection(nursery):
    with trio.fail_after(10):
        lb = await start_lb(nursery, BASE + """
frontend fe
    bind 127.0.0.1:0
""")
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        for _ in range(2):  # the same connection serves both
            await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while not data.endswith(b"</body></html>\n"):
                data += await stream.receive_some(4096)
            assert data == (b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\n"
                            b"content-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\n"
                            b"No server is available to handle this request.\n</body></html>\n")
        await stream.aclose()


async def test_pipelined_requests_are_answered_in_order(nursery):
    with trio.fail_after(10):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        lb = await start_lb(nursery, two_servers(b1, b2))
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        await stream.send_all(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n" * 3 + b"GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            data += chunk
        assert data.count(b"HTTP/1.1 200 ") == 4
        bodies = [part.split(b"\r\n\r\n", 1)[1][:3] for part in data.split(b"HTTP/1.1 ")[1:]]
        assert bodies == [b"s1\n", b"s2\n", b"s1\n", b"s2\n"]
