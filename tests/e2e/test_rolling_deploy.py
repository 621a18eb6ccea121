"""examples/rolling-deploy.sh, as an operator runs it: against a live trio-lb (in process) whose three
servers are restarted one by one by the script's restart hook, while clients keep sending requests.
No request may fail, and every server must come back and serve again.

The hook is a tiny program that asks the test, over a control Unix socket, to restart a named
backend: the test stops that in-process HTTP server and starts a new one on the same port."""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
import trio

from tests.support import HttpBackend, lb_port, start_backend, start_lb, wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "rolling-deploy.sh"
SERVERS = ("web1", "web2", "web3")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")

RESTART_HOOK = """\
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\\n")
sys.exit(0 if s.recv(16) == b"ok\\n" else 1)
"""


async def _slowish(backend: HttpBackend, event: object, body: bytes) -> tuple[int, list, bytes]:
    await trio.sleep(0.01)  # requests are in flight when the drain starts
    return 200, [], f"{backend.name}\n".encode()


async def _restart(nursery: trio.Nursery, old: HttpBackend) -> HttpBackend:
    """Stop `old` and start a new server on its port (retrying while the old listener closes)."""
    old.stop()
    for _ in range(200):
        try:
            return await start_backend(nursery, old.name, handler=_slowish, port=old.port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            await trio.sleep(0.01)
    raise AssertionError(f"port {old.port} stays in use")


async def test_rolling_deploy_script_under_load(nursery, tmp_path):
    with trio.fail_after(60):
        backends = {name: await start_backend(nursery, name, handler=_slowish) for name in SERVERS}
        admin = tmp_path / "admin.sock"
        servers = "\n".join(f"    server {name} 127.0.0.1:{b.port} check inter 100ms rise 2 fall 2"
                            for name, b in backends.items())
        lb = await start_lb(nursery, f"""
global
    stats socket {admin} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin
{servers}
""")
        url = f"http://127.0.0.1:{lb_port(lb, 'fe')}/"

        restarts: list[tuple[str, int, int]] = []  # (server, requests it served, requests in flight)
        ctl = tmp_path / "ctl.sock"

        async def control(task_status: trio.TaskStatus = trio.TASK_STATUS_IGNORED) -> None:
            listener = trio.socket.socket(trio.socket.AF_UNIX)
            await listener.bind(str(ctl))
            listener.listen(8)
            task_status.started()
            while True:
                sock, _ = await listener.accept()
                async with trio.SocketStream(sock) as stream:
                    name = (await stream.receive_some(64)).decode().strip()
                    old = backends[name]
                    restarts.append((name, old.hits, old.active))
                    backends[name] = await _restart(nursery, old)
                    await stream.send_all(b"ok\n")

        await nursery.start(control)
        hook = tmp_path / "restart.py"
        hook.write_text(RESTART_HOOK)

        results: list[int | str] = []
        served = Counter()
        done = trio.Event()

        async def client() -> None:
            async with httpx.AsyncClient() as http:
                while not done.is_set():
                    try:
                        response = await http.get(url)
                        results.append(response.status_code)
                        served[response.headers.get("x-served-by")] += 1
                    except httpx.HTTPError as exc:  # a failed request fails the test
                        results.append(repr(exc))

        env = {**os.environ, "PYTHONPATH": str(ROOT), "LBCTL": f"{sys.executable} -m lbctl",
               "RESTART_CMD": f"{sys.executable} {hook} {ctl} %s"}
        env.pop("LBCTL_SOCKET", None)
        async with trio.open_nursery() as load:
            for _ in range(4):
                load.start_soon(client)
            await wait_for(lambda: len(results) > 30)
            before = len(results)
            deploy = await trio.run_process(["bash", str(SCRIPT), "-S", str(admin), "-t", "10s", "-u", "20",
                                             "-w", "10", "be"], env=env, capture_stdout=True,
                                            capture_stderr=True, check=False)
            during = len(results) - before
            served.clear()
            count = len(results)
            await wait_for(lambda: len(results) > count + 60)  # traffic after the deploy
            done.set()

        log = deploy.stderr.decode()
        assert deploy.returncode == 0, log
        assert [name for name, _, _ in restarts] == list(SERVERS), log
        assert all(hits > 0 for _, hits, _ in restarts)  # each served traffic before its restart...
        assert all(active == 0 for _, _, active in restarts)  # ...and nothing was in flight when it stopped
        assert during > 50  # the deploy really happened under load
        assert [r for r in results if r != 200] == []
        assert set(served) == set(SERVERS)  # every restarted server is back in rotation
        for name in SERVERS:
            assert f"draining be/{name}" in log and f"be/{name} is UP" in log


async def test_rolling_deploy_stops_at_the_first_failure(nursery, tmp_path):
    with trio.fail_after(30):
        web1 = await start_backend(nursery, "web1")
        web2 = await start_backend(nursery, "web2")
        admin = tmp_path / "admin.sock"
        await start_lb(nursery, f"""
global
    stats socket {admin} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server web1 127.0.0.1:{web1.port}
    server web2 127.0.0.1:{web2.port}
""")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LBCTL": f"{sys.executable} -m lbctl",
               "RESTART_CMD": "exit 3"}
        result = await trio.run_process(["bash", str(SCRIPT), "-S", str(admin), "be"], env=env,
                                        capture_stdout=True, capture_stderr=True, check=False)
        log = result.stderr.decode()
        assert result.returncode == 1, log
        assert "FAILED: restart command for web1" in log and "web2" not in log
        stat = await trio.run_process([sys.executable, "-m", "lbctl", "-S", str(admin), "--raw", "-c",
                                       "show servers state be"], env=env, capture_stdout=True)
        states = {line.split()[3]: line.split()[6] for line in stat.stdout.decode().splitlines()[2:]}
        assert states == {"web1": "1", "web2": "0"}  # web1 left in maint for the operator; web2 untouched

        missing = await trio.run_process(["bash", str(SCRIPT), "-S", str(admin), "nosuch"], env=env,
                                         capture_stdout=True, capture_stderr=True, check=False)
        assert missing.returncode == 1 and "cannot read the servers of nosuch" in missing.stderr.decode()
        usage = await trio.run_process(["bash", str(SCRIPT)], env=env, capture_stdout=True, capture_stderr=True,
                                       check=False)
        assert usage.returncode == 2 and "Rolling deploy" in usage.stderr.decode()
