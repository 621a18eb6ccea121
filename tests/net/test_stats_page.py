"""The stats listener: HAProxy's `;csv`, Basic auth with the realm, refresh, the HTML report."""

from __future__ import annotations


import httpx
import trio

from tests.support import lb_port, start_backend, start_lb
from trio_lb.stats import render_csv

UNAUTHORIZED = (b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\n"
                b"content-type: text/html\r\nwww-authenticate: Basic realm=\"Ops Only\"\r\n\r\n"
                b"<html><body><h1>401 Unauthorized</h1>\n"
                b"You need a valid user and password to access this content.\n</body></html>\n")


def config(port: int) -> str:
    return f"""
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:0
    default_backend web
backend web
    server web1 127.0.0.1:{port}
    server web2 127.0.0.1:{port} disabled
listen stats
    bind 127.0.0.1:0
    stats enable
    stats uri /stats
    stats realm Ops\\ Only
    stats auth admin:secret
    stats auth viewer:view
    stats refresh 5s
"""


async def test_stats_listener(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "web1")
        lb = await start_lb(nursery, config(backend.port))
        stats = f"http://127.0.0.1:{lb_port(lb, 'stats')}"
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{lb_port(lb, 'www')}/")  # some traffic to count
            # no credentials, wrong password: HAProxy's 401, exact bytes, page never served
            stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "stats"))
            await stream.send_all(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while not got.endswith(b"</html>\n"):
                got += await stream.receive_some(4096)
            assert got == UNAUTHORIZED
            await stream.aclose()
            r = await client.get(stats + "/stats", auth=("admin", "wrong"))
            assert r.status_code == 401 and "web1" not in r.text

            r = await client.get(stats + "/stats;csv", auth=("viewer", "view"))
            assert r.status_code == 200
            assert r.headers["content-type"] == "text/plain" and r.headers["refresh"] == "5"
            assert r.text.startswith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,")
            lines = r.text.splitlines()
            assert [ln.split(",")[:2] for ln in lines[1:]] == [
                ["www", "FRONTEND"], ["web", "web1"], ["web", "web2"], ["web", "BACKEND"],
                ["stats", "FRONTEND"], ["stats", "BACKEND"]]
            assert lines[3].split(",")[17] == "MAINT"  # web2 is disabled
            # the same CSV as `show stat` (without its reply-ending empty line), bar the moving columns
            expected = render_csv(lb.runtime, trio.current_time(), legends=False, block=False).splitlines()
            assert lines[0] == expected[0] and len(lines) == len(expected)

            r = await client.get(stats + "/stats;csv;norefresh", auth=("viewer", "view"))
            assert "refresh" not in r.headers
            r = await client.get(stats + "/stats", auth=("admin", "secret"))
            assert r.status_code == 200 and r.headers["content-type"] == "text/html"
            for name in ("www", "web1", "web2", "stats", "MAINT"):
                assert name in r.text
            # `;up` hides servers that are not up
            r = await client.get(stats + "/stats;csv;up", auth=("admin", "secret"))
            assert "web2" not in r.text and "web1" in r.text


async def test_stats_uri_on_a_frontend_does_not_hide_other_paths(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "web1")
        lb = await start_lb(nursery, f"""
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:0
    stats uri /lb-stats
    default_backend web
backend web
    server web1 127.0.0.1:{backend.port}
""")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'www')}") as client:
            assert (await client.get("/")).text == "web1\n"
            r = await client.get("/lb-stats;csv")
            assert r.text.startswith("# pxname,") and "www,FRONTEND" in r.text
        assert backend.hits == 1
