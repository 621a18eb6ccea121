"""The stats socket of a running trio-lb, driven with socat as operators do."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import trio

import trio_lb.config as config_pkg
from tests.support import socat, start_backend
from trio_lb.net.main import run

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")
ROOT = Path(__file__).resolve().parents[2]


def config(sock: Path, port: int) -> str:
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
    server s1 127.0.0.1:{port}
"""



async def test_show_stat_info_and_help_over_socat(nursery, tmp_path):
    with trio.fail_after(20):
        backend = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        cfg = config_pkg.parse(config(sock, backend.port), "t.cfg")
        lb = await nursery.start(lambda task_status: run(cfg, quiet=True, task_status=task_status))
        assert lb.admin == [str(sock)]
        stat = await socat(sock, "show stat\n")
        lines = stat.split("\n")
        assert lines[0].startswith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,")
        assert [ln.split(",")[:2] for ln in lines[1:4]] == [["fe", "FRONTEND"], ["be", "s1"], ["be", "BACKEND"]]
        assert stat.endswith(",\n\n")  # every row ends with a comma, the block with an empty line
        assert all(ln.count(",") == lines[0].count(",") for ln in lines[1:4])
        info = await socat(sock, "show info\n")
        assert info.startswith("Name: HAProxy\n") and f"Pid: {lb.runtime.pid}\n" in info
        help_text = await socat(sock, "help\n")
        assert "  show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server\n" in help_text
        # two commands on one line, as deploy scripts send them
        both = await socat(sock, "show cli level; show stat -1 1 -1\n")
        assert both.startswith("admin\n\n# pxname,")
        assert (sock.stat().st_mode & 0o777) == 0o600


async def test_a_live_socket_is_never_stolen(nursery, tmp_path):
    with trio.fail_after(20):
        backend = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        text = config(sock, backend.port)
        cfg = config_pkg.parse(text, "t.cfg")
        await nursery.start(lambda task_status: run(cfg, quiet=True, task_status=task_status))
        second = tmp_path / "second.cfg"
        second.write_text(text)
        result = await trio.run_process([sys.executable, "-m", "trio_lb", "-f", str(second)], capture_stderr=True,
                                        check=False, env={"PYTHONPATH": str(ROOT)})
        assert result.returncode == 1
        assert result.stderr.decode().endswith(
            f"Starting proxy GLOBAL: cannot bind UNIX socket (Address already in use) [{sock}]\n")
        assert (await socat(sock, "show cli level\n")) == "admin\n\n"  # the first one still serves it
