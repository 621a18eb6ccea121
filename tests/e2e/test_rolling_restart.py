"""What a deploy script does, under load: drain a server, wait until it is idle, maint, restart
it, ready, over the admin socket with socat, while clients keep requests going.
No request may fail."""

from __future__ import annotations

import shutil

import httpx
import pytest
import trio

import trio_lb.config as config_pkg
from tests.support import socat, start_backend, wait_for
from trio_lb.net.main import run

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")



async def _slowish(backend, event, body):
    await trio.sleep(0.02)  # requests overlap the state changes
    return 200, [], f"{backend.name}\n".encode()


def scur(stat_csv: str, server: str) -> int:
    for line in stat_csv.splitlines():
        fields = line.split(",")
        if fields[:2] == ["be", server]:
            return int(fields[4])
    raise AssertionError(server)


async def test_drain_maint_restart_ready_under_load(nursery, tmp_path):
    with trio.fail_after(60):
        web1 = await start_backend(nursery, "web1", handler=_slowish)
        web2 = await start_backend(nursery, "web2", handler=_slowish)
        sock = tmp_path / "admin.sock"
        cfg = config_pkg.parse(f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server web1 127.0.0.1:{web1.port} check inter 200ms
    server web2 127.0.0.1:{web2.port} check inter 200ms
""", "t.cfg")
        lb = await nursery.start(lambda task_status: run(cfg, quiet=True, task_status=task_status))
        url = f"http://127.0.0.1:{lb.address('fe')[1]}/"
        results: list[int | str] = []
        done = trio.Event()

        async def client():
            async with httpx.AsyncClient() as c:
                while not done.is_set():
                    try:
                        results.append((await c.get(url)).status_code)
                    except httpx.HTTPError as exc:  # a failed request is a test failure
                        results.append(repr(exc))

        async with trio.open_nursery() as load:
            for _ in range(4):
                load.start_soon(client)
            await wait_for(lambda: len(results) > 20)
            assert await socat(sock, "set server be/web1 state drain\n") == "\n"
            while scur(await socat(sock, "show stat\n"), "web1"):
                await trio.sleep(0.05)
            assert await socat(sock, "set server be/web1 state maint\n") == "\n"
            served_before = web1.hits
            web1.stop()  # the "deploy": the process goes away and comes back on its port
            new_web1 = await start_backend(nursery, "web1", handler=_slowish, port=web1.port)
            assert await socat(sock, "set server be/web1 state ready\n") == "\n"
            s1 = lb.runtime.backends["be"].server("web1")
            await wait_for(lambda: s1.usable)
            count = len(results)
            await wait_for(lambda: len(results) > count + 20)
            done.set()
        failures = [r for r in results if r != 200]
        assert failures == []
        assert served_before > 0 and web2.hits > 0
        assert new_web1.hits > 0  # back in rotation after `ready`
