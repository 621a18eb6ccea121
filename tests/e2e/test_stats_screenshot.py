"""A screenshot of the stats page served by a running trio-lb, taken by headless Chromium.

Two backends: `web` with both servers UP, `api` with one server drained (through the admin form's
code path) and one DOWN (nothing listens on its port). The PNG is checked (signature, IHDR size);
with TRIO_LB_UPDATE_SCREENSHOT=1 it is copied to docs/stats-page.png (the README shows it).
Needs Debian's `chromium` (`apt-get install -y chromium`); skipped without it.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
from pathlib import Path

import httpx
import pytest
import trio

from tests.support import lb_port, start_backend, start_lb, wait_for
from trio_lb.http.stats_page import _PageCtx, apply_post

DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "stats-page.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1400, 900


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(web1: int, web2: int, api1: int, api2: int) -> str:
    return f"""
global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:0
    acl is_api path_beg /api/
    use_backend api if is_api
    default_backend web
backend web
    description Public web site
    balance roundrobin
    option httpchk GET /health
    default-server inter 100ms fall 1 rise 1
    server web1 127.0.0.1:{web1} check
    server web2 127.0.0.1:{web2} check
backend api
    balance leastconn
    option httpchk GET /health
    default-server inter 100ms fall 1 rise 1
    server api1 127.0.0.1:{api1} check
    server api2 127.0.0.1:{api2} check
listen stats
    bind 127.0.0.1:0
    stats enable
    stats uri /stats
    stats refresh 10s
"""


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package `chromium`)")
async def test_stats_page_screenshot(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            web1, web2, api1 = [await start_backend(nursery, n) for n in ("web1", "web2", "api1")]
            running = await start_lb(nursery, config(web1.port, web2.port, api1.port, closed_port()))
            rt = running.runtime
            servers = {s.name: s for b in rt.backends.values() for s in b.servers}
            await wait_for(lambda: all(servers[n].status_text() == "UP" for n in ("web1", "web2", "api1"))
                           and servers["api2"].status_text() == "DOWN")
            assert apply_post(b"s=api1&action=drain&b=api", rt, trio.current_time(), _PageCtx(rt, None)) == "DONE"
            base = f"http://127.0.0.1:{lb_port(running, 'www')}"
            async with httpx.AsyncClient() as client:
                for i in range(12):
                    await client.get(f"{base}/{'api/' if i % 3 == 0 else ''}page{i}")
            url = f"http://127.0.0.1:{lb_port(running, 'stats')}/stats;norefresh"
            page = (await httpx.AsyncClient().get(url)).text
            assert "api/api1" in page and "active_draining" in page and "active_down" in page
            png = tmp_path / "stats.png"
            await trio.run_process([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
                                    f"--window-size={WIDTH},{HEIGHT}", url],
                                   capture_stdout=True, capture_stderr=True)
            nursery.cancel_scope.cancel()
    data = png.read_bytes()
    assert png_size(data) == (WIDTH, HEIGHT)
    assert len(data) > 20_000  # a rendered page, not a blank one
    if os.environ.get("TRIO_LB_UPDATE_SCREENSHOT") == "1":
        DOCS_PNG.parent.mkdir(exist_ok=True)
        shutil.copyfile(png, DOCS_PNG)
