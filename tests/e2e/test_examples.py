"""The bundled example configs, run as written except for addresses: every `bind` becomes port 0
and every `server` points at a test backend of the same name (a real server on 127.0.0.1:0).
Each test stops a backend mid-test and checks that traffic leaves it within fall x inter and
returns within rise x inter, as the config's check settings promise."""

from __future__ import annotations

import importlib.util
import re
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

import trio_lb.config as config_pkg
from tests.support import HttpBackend, lb_port, start_backend, wait_for
from trio_lb.net.main import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load_demo() -> Any:
    spec = importlib.util.spec_from_file_location("demo_backends", EXAMPLES / "demo_backends.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = _load_demo()


def localize(text: str, ports: dict[str, int], tmp_path: Path) -> str:
    """Ports 0 for binds, test backends for servers, a temp path for the admin socket."""
    text = re.sub(r"(\n\s*bind\s+127\.0\.0\.1:)\d+", r"\g<1>0", text)
    text = re.sub(r"(stats socket )\S+", rf"\g<1>{tmp_path}/admin.sock", text)

    def server(m: re.Match) -> str:
        return f"{m.group(1)}127.0.0.1:{ports[m.group(2)]}"

    return re.sub(r"(\n\s*server\s+(\S+)\s+)127\.0\.0\.1:\d+", server, text)


async def start_example(nursery: trio.Nursery, name: str, ports: dict[str, int], tmp_path: Path):
    text = localize((EXAMPLES / f"{name}.cfg").read_text(), ports, tmp_path)
    config = config_pkg.parse(text, f"{name}.cfg")
    return await nursery.start(lambda task_status: run(config, quiet=True, task_status=task_status))


class TcpDemo:
    """A demo backend from examples/demo_backends.py that can be stopped and restarted."""

    def __init__(self, kind: str, name: str) -> None:
        self.handler = demo.KINDS[kind]
        self.name = name
        self.port = 0
        self.scope: trio.CancelScope | None = None

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as self.scope:
            listener = trio.socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            await listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            async with trio.open_nursery() as nursery:
                task_status.started(self)
                try:
                    while True:
                        sock, _ = await listener.accept()
                        nursery.start_soon(self.handler, self.name, trio.SocketStream(sock))
                finally:
                    listener.close()

    def stop(self) -> None:
        self.scope.cancel()


async def health_handler(backend: HttpBackend, event: Any, body: bytes):
    return 200, [], f"{backend.name} {event.target.decode()}\n".encode()


async def test_l7_site(nursery, tmp_path):
    with trio.fail_after(30):
        names = ["web1", "web2", "api1", "api2"]
        backends = {n: await start_backend(nursery, n, handler=health_handler) for n in names}
        lb = await start_example(nursery, "l7-site", {n: b.port for n, b in backends.items()}, tmp_path)
        url = f"http://127.0.0.1:{lb_port(lb, 'www')}"
        web = lb.runtime.backends["web"]
        async with httpx.AsyncClient(base_url=url) as client:
            served = [(await client.get("/")).headers["x-served-by"] for _ in range(4)]
            assert served == ["web1", "web2"] * 2
            api = (await client.get("/api/users")).headers["x-served-by"]
            assert api in ("api1", "api2")
            assert (await client.get("/app.js")).headers["x-served-by"].startswith("web")
            # forwardfor reached the server
            assert backends["web1"].requests[-1][2]["x-forwarded-for"] == "127.0.0.1"

            backends["web1"].stop()
            t0 = trio.current_time()
            await wait_for(lambda: not web.server("web1").usable)
            assert trio.current_time() - t0 <= 2 * 1.0 + 1.0  # fall 2 x inter 1s (+ one interval of phase)
            served = {(await client.get("/")).headers["x-served-by"] for _ in range(6)}
            assert served == {"web2"}

            await start_backend(nursery, "web1", handler=health_handler, port=backends["web1"].port)
            t0 = trio.current_time()
            await wait_for(lambda: web.server("web1").usable)
            assert trio.current_time() - t0 <= 2 * 1.0 + 1.0  # rise 2 x inter 1s
            served = Counter([(await client.get("/")).headers["x-served-by"] for _ in range(6)])
            assert served == {"web1": 3, "web2": 3}
            assert (await client.get("/healthz")).status_code == 200  # the monitor URI
        # the monitoring listener: the stats page and Prometheus metrics
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'stats')}") as client:
            page = await client.get("/stats")
            assert page.status_code == 200 and "web1" in page.text and "api2" in page.text
            metrics = await client.get("/metrics")
            assert 'haproxy_server_status{proxy="web",server="web1",state="UP"} 1' in metrics.text


async def test_mysql_read_pool_with_backup(nursery, tmp_path):
    with trio.fail_after(30):
        dbs = {n: await nursery.start(TcpDemo("mysql", n).serve) for n in ("db1", "db2", "db3")}
        lb = await start_example(nursery, "mysql-read", {n: d.port for n, d in dbs.items()}, tmp_path)
        port = lb_port(lb, "mysql-read")
        be = lb.runtime.backends["mysql-read"]

        async def who() -> str:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            greeting = await stream.receive_some(100)
            await stream.send_all(b"SELECT 1\n")
            echo = await stream.receive_some(100)
            await stream.aclose()
            assert echo == b"SELECT 1\n"
            return greeting.split()[1].decode()

        assert {await who() for _ in range(4)} == {"db1", "db2"}  # leastconn, the backup idle
        dbs["db1"].stop()
        await wait_for(lambda: not be.server("db1").usable)
        assert {await who() for _ in range(3)} == {"db2"}
        dbs["db2"].stop()
        await wait_for(lambda: not be.server("db2").usable)
        assert {await who() for _ in range(3)} == {"db3"}  # only now the backup
        await nursery.start(dbs["db1"].serve)  # back on its port: the backup steps aside
        await wait_for(lambda: be.server("db1").usable)
        assert {await who() for _ in range(3)} == {"db1"}


async def test_redis_pool_checks_ping(nursery, tmp_path):
    with trio.fail_after(30):
        r1 = TcpDemo("redis", "r1")
        await nursery.start(r1.serve)
        r2 = await nursery.start(TcpDemo("redis", "r2").serve)
        lb = await start_example(nursery, "redis", {"r1": r1.port, "r2": r2.port}, tmp_path)
        port = lb_port(lb, "redis-in")
        be = lb.runtime.backends["redis"]

        async def get() -> bytes:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"GET k\r\n")
            reply = await stream.receive_some(100)
            await stream.aclose()
            return reply

        assert all([b"r1:GET k" in await get() for _ in range(3)])  # balance first: r1 while it has room
        assert be.server("r1").health.last.status == "L7OK"  # +PONG and +OK matched
        r1.stop()
        t0 = trio.current_time()
        await wait_for(lambda: not be.server("r1").usable)
        assert trio.current_time() - t0 <= 2 * 1.0 + 1.0  # fall 2 x inter 1s
        assert b"r2:GET k" in await get()
        await nursery.start(r1.serve)  # same port again
        t0 = trio.current_time()
        await wait_for(lambda: be.server("r1").usable)
        assert trio.current_time() - t0 <= 1 * 1.0 + 1.0  # rise 1
        assert b"r1:GET k" in await get()


async def test_static_hash_consistent(nursery, tmp_path):
    with trio.fail_after(30):
        caches = {n: await start_backend(nursery, n, handler=health_handler) for n in ("cache1", "cache2", "cache3")}
        lb = await start_example(nursery, "static-hash", {n: b.port for n, b in caches.items()}, tmp_path)
        be = lb.runtime.backends["static"]
        paths = [f"/img/{i}.png" for i in range(60)]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'static-in')}") as client:
            async def placement() -> dict[str, str]:
                return {p: (await client.get(p + "?v=1")).headers["x-served-by"] for p in paths}

            before = await placement()
            assert before == await placement()  # the same URI always lands on the same cache
            assert len(set(before.values())) == 3
            caches["cache2"].stop()
            await wait_for(lambda: not be.server("cache2").usable)
            after = await placement()
            moved = [p for p in paths if before[p] != after[p]]
            # only cache2's objects moved; the others kept their cache
            assert moved and all(before[p] == "cache2" for p in moved)
            assert "cache2" not in after.values()
            await start_backend(nursery, "cache2", handler=health_handler, port=caches["cache2"].port)
            t0 = trio.current_time()
            await wait_for(lambda: be.server("cache2").usable)
            assert trio.current_time() - t0 <= 2 * 1.0 + 1.0  # default rise 2 x inter 1s
            assert await placement() == before  # every object is back on its cache


@pytest.mark.parametrize("name", ["l7-site", "mysql-read", "redis", "static-hash"])
def test_example_passes_config_check(name, capsys):
    from trio_lb.cli import main

    assert main(["-c", "-f", str(EXAMPLES / f"{name}.cfg")]) == 0
    assert capsys.readouterr().out.endswith("Configuration file is valid\n")
