"""Server commands over a real stats socket (socat, as operators drive it), their effect on live
traffic, the daemon-side hooks, and a golden comparison with a live HAProxy 2.6 when installed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import trio

import trio_lb.config as config_pkg
from tests.support import lb_port, socat, start_backend, start_lb
from trio_lb.admin.registry import default_registry
from trio_lb.admin.session import Session
from trio_lb.net.admin_ctx import AdminContext
from trio_lb.state.proxies import build_runtime

needs_socat = pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")


def lb_config(sock: Path, port1: int, port2: int) -> str:
    return f"""
global
    stats socket {sock} mode 600 level admin
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
    server s1 127.0.0.1:{port1}
    server s2 127.0.0.1:{port2}
"""



async def served_by(client: httpx.AsyncClient, n: int) -> list[str]:
    out = []
    for _ in range(n):
        response = await client.get("/", headers={"connection": "close"})
        out.append(response.headers["x-served-by"])
    return out


@needs_socat
async def test_drain_and_ready_steer_live_traffic(nursery, tmp_path):
    with trio.fail_after(20):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, lb_config(sock, b1.port, b2.port))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            assert set(await served_by(client, 4)) == {"s1", "s2"}
            assert await socat(sock, "set server be/s1 state drain\n") == "\n"
            assert await served_by(client, 6) == ["s2"] * 6
            state = await socat(sock, "show servers state be\n")
            assert state.splitlines()[2].split()[3:7] == ["s1", "127.0.0.1", "2", "8"]
            assert await socat(sock, "set server be/s1 state ready\n") == "\n"
            assert set(await served_by(client, 4)) == {"s1", "s2"}
            assert await socat(sock, "disable server be/s2; get weight be/s2\n") == "\n1 (initial 1)\n\n"
            assert await served_by(client, 4) == ["s1"] * 4
            assert await socat(sock, "enable server be/s2; set weight be/s1 0\n") == "\n\n"
            assert await served_by(client, 4) == ["s2"] * 4


@needs_socat
async def test_errors_and_listings_over_socat(nursery, tmp_path):
    with trio.fail_after(20):
        b1 = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        await start_lb(nursery, lb_config(sock, b1.port, b1.port))
        assert await socat(sock, "set server be/zz state ready\n") == "No such server.\n\n"
        assert await socat(sock, "set weight be/s1 5x\n") == "Trailing garbage in weight string\n"
        assert await socat(sock, "show backend\n") == "# name\nbe\n\n"
        state = (await socat(sock, "show servers state\n")).splitlines()
        assert state[0] == "1" and state[1].startswith("# be_id be_name srv_id") and len(state) == 5
        assert state[4] == ""


async def test_context_hooks_log_and_close_idle_connections():
    config = config_pkg.parse(lb_config(Path("/nonexistent"), 1, 2), "t.cfg")
    runtime = build_runtime(config, trio.current_time())
    logged: list[tuple[str, str]] = []
    ctx = AdminContext(runtime, emit=lambda level, msg: logged.append((level, msg)))
    s1 = runtime.backends["be"].server("s1")
    a, b = socket.socketpair()
    s1.idle.append(SimpleNamespace(sock=a))
    session = Session(default_registry(), ctx, "admin")
    assert session.feed(b"set server be/s1 state maint\n") == b"\n"
    assert a.fileno() == -1 and not s1.idle
    assert logged == [("alert", "Server be/s1 is going DOWN for maintenance. 1 active and 0 backup servers left. "
                                "0 sessions active, 0 requeued, 0 remaining in queue.")]
    b.close()
    AdminContext(runtime).log("notice", "nobody listens")  # unwired: a no-op


# -- golden: the same config in HAProxy 2.6 and in trio-lb ------------------------------------

HAPROXY = shutil.which("haproxy")
GOLDEN_CFG = """
global
    stats socket {sock} mode 600 level admin
    pidfile {pid}
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend be
    server s1 127.0.0.1:18991 weight 10
    server s2 127.0.0.1:18992
    server s3 127.0.0.1:18993 disabled
    server s4 127.0.0.1:18994 backup
backend st
    balance static-rr
    server a 127.0.0.1:18995
"""
GOLDEN_COMMANDS = [
    "show servers state", "show backend", "show servers state st", "show servers state nope",
    "set server be/s1 state bogus", "set server be/s1", "set server be", "set server /s1 state ready",
    "set server nope/s1 state ready", "set server be/zz state ready", "set server be/s1 health bogus",
    "get weight be/s1", "get weight be", "get weight /s1", "get weight be/", "set weight be/s1",
    "set weight be/s1 300", "set weight be/s1 -5%", "set weight be/s1 x", "set weight be/s1 5x",
    "set weight st/a 2", "set weight be/s1 50%", "get weight be/s1", "set server be/s1 weight 1000%",
    "get weight be/s1", "enable health be/s1", "enable server", "set server be/s1 state drain",
    "disable server be/s2", "enable server be/s3", "set weight st/a 0", "show servers state",
    "disable server be/s3", "set server be/s1 state maint", "show servers state be",
    "set server be/s1 state ready", "show servers state be",
]


def _mask_times(text: str) -> str:
    """srv_time_since_last_change is the 10th field of a data row."""
    return re.sub(r"^((?:\S+ ){9})\d+ ", r"\1T ", text, flags=re.MULTILINE)


@pytest.mark.skipif(HAPROXY is None or shutil.which("socat") is None, reason="haproxy/socat not installed")
def test_golden_against_live_haproxy(tmp_path):
    sock, pid = tmp_path / "h.sock", tmp_path / "h.pid"
    cfg = tmp_path / "h.cfg"
    cfg.write_text(GOLDEN_CFG.format(sock=sock, pid=pid))
    # -D: the parent returns once the sockets are bound, so no waiting is needed
    subprocess.run([HAPROXY, "-D", "-q", "-f", str(cfg)], check=True, timeout=10)
    try:
        theirs = [subprocess.run(["socat", "stdio", f"UNIX-CONNECT:{sock}"], input=f"{c}\n".encode(),
                                 capture_output=True, timeout=5, check=True).stdout.decode()
                  for c in GOLDEN_COMMANDS]
    finally:
        os.kill(int(pid.read_text().split()[0]), signal.SIGTERM)
    runtime = build_runtime(config_pkg.parse(GOLDEN_CFG.format(sock=sock, pid=pid), "g.cfg"), 0.0)
    ctx = SimpleNamespace(runtime=runtime, now=lambda: 0.0)
    ours = []
    for command in GOLDEN_COMMANDS:
        session = Session(default_registry(), ctx, "admin")
        ours.append((session.feed(f"{command}\n".encode()) + session.eof()).decode())
    for command, mine, real in zip(GOLDEN_COMMANDS, ours, theirs):
        assert (command, _mask_times(mine).splitlines()) == (command, _mask_times(real).splitlines())
