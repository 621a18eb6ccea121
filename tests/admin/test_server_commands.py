"""Server state commands and `show servers state` / `show backend`, on a Runtime built from a
config and driven through a CLI Session (no event loop). Expected texts are HAProxy 2.6.12's."""

from __future__ import annotations

import pytest

import trio_lb.config as config_pkg
from trio_lb.admin.registry import default_registry
from trio_lb.admin.session import Session
from trio_lb.state.proxies import build_runtime

CFG = """
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:18990
    default_backend be
backend be
    server s1 127.0.0.1:18991 weight 10
    server s2 127.0.0.1:18992 check inter 1h
    server s3 127.0.0.1:18993 disabled
    server s4 127.0.0.1:18994 backup
backend st
    balance static-rr
    server a 127.0.0.1:18995
"""


class Ctx:
    def __init__(self) -> None:
        self.runtime = build_runtime(config_pkg.parse(CFG, "t.cfg"), 100.0)
        self.t = 100.0
        self.logs: list[tuple[str, str]] = []
        self.maint: list[str] = []

    def now(self) -> float:
        return self.t

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    def on_server_maint(self, server) -> None:
        self.maint.append(server.name)


@pytest.fixture
def ctx() -> Ctx:
    return Ctx()


def cli(ctx: Ctx, line: str, level: str = "admin") -> str:
    session = Session(default_registry(), ctx, level)
    return (session.feed(line.encode() + b"\n") + session.eof()).decode()


def server(ctx: Ctx, name: str = "s1", backend: str = "be"):
    return ctx.runtime.backends[backend].server(name)


HEADER = ("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
          "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
          "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
          "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")


@pytest.mark.parametrize("line, reply", [
    ("set server be/s1 state bogus", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"),
    ("set server be/s1 state", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"),
    ("set server be/s1", "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | "
                         "agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n\n"),
    ("set server be", "Require 'backend/server'.\n\n"),
    ("set server", "Require 'backend/server'.\n\n"),
    ("set server /s1 state ready", "Require 'backend/server'.\n\n"),
    ("set server be/ state ready", "Require 'backend/server'.\n\n"),
    ("set server nope/s1 state ready", "No such backend.\n\n"),
    ("set server be/zz state ready", "No such server.\n\n"),
    ("set server be/#9 state ready", "No such server.\n\n"),
    ("set server #9/s1 state ready", "No such backend.\n\n"),
    ("set server be/s1 health bogus", "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n"),
    ("get weight be/s1", "10 (initial 10)\n\n"),
    ("get weight be", "Require 'backend/server'.\n\n"),
    ("get weight", "Require 'backend/server'.\n\n"),
    ("get weight nope/s1", "No such backend.\n\n"),
    ("get weight /s1", "No such backend.\n\n"),
    ("get weight be/", "Require 'backend/server'.\n\n"),
    ("get weight be/zz", "No such server.\n\n"),
    ("set weight be/s1", "Require <weight> or <weight%>.\n\n"),
    ("set weight be/s1 300", "Absolute weight can only be between 0 and 256 inclusive.\n\n"),
    ("set weight be/s1 -1", "Absolute weight can only be between 0 and 256 inclusive.\n\n"),
    ("set weight be/s1 -5%", "Relative weight must be positive.\n\n"),
    ("set weight be/s1 x", "Empty weight string empty or preceded by garbage\n"),
    ("set weight be/s1 5x", "Trailing garbage in weight string\n"),
    ("set weight st/a 2", "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n"),
    ("set weight be", "Require 'backend/server'.\n\n"),
    ("set server be/s1 weight", "Require <weight> or <weight%>.\n\n"),
    ("enable health be/s1", "Health check was not configured on this server, cannot enable.\n\n"),
    ("enable server", "Require 'backend/server'.\n\n"),
    ("disable server be", "Require 'backend/server'.\n\n"),
    ("enable health nope/x", "No such backend.\n\n"),
    ("show servers state nope", "Can't find backend.\n\n"),
])
def test_replies_and_errors(ctx, line, reply):
    assert cli(ctx, line) == reply


@pytest.mark.parametrize("line", ["set weight be/s1 5", "set server be/s1 state drain", "enable server be/s1",
                                  "disable health be/s1", "disable server be/s1", "set server be/s1 weight 2"])
def test_setters_need_admin(ctx, line):
    assert cli(ctx, line, "operator") == "Permission denied\n\n"
    assert server(ctx).admin == "ready" and server(ctx).uweight == 10


def test_get_weight_at_user_level(ctx):
    assert cli(ctx, "get weight #3/#1", "user") == "10 (initial 10)\n\n"


@pytest.mark.parametrize("value, weight", [("5", 5), ("50%", 5), ("1000%", 100), ("+3", 3), ("0", 0),
                                           ("256", 256), ("25600000%", 256)])
def test_weights(ctx, value, weight):
    assert cli(ctx, f"set weight be/s1 {value}") == "\n"
    assert server(ctx).uweight == weight and server(ctx).iweight == 10
    assert server(ctx).eweight == weight
    assert cli(ctx, "get weight be/s1") == f"{weight} (initial 10)\n\n"


def test_static_algorithm_accepts_zero_and_initial_weight(ctx):
    for value, weight in (("0", 0), ("100%", 1), ("1", 1), ("0%", 0)):
        assert cli(ctx, f"set server st/a weight {value}") == "\n"
        assert server(ctx, "a", "st").uweight == weight


def test_weight_zero_takes_server_out_of_rotation(ctx):
    backend = ctx.runtime.backends["be"]
    cli(ctx, "set weight be/s1 0")
    assert {backend.balancer.pick(None).name for _ in range(10)} == {"s2"}
    cli(ctx, "set weight be/s1 100%")
    assert "s1" in {backend.balancer.pick(None).name for _ in range(10)}


def test_drain_maint_ready_cycle_with_logs(ctx):
    s1 = server(ctx)
    backend = ctx.runtime.backends["be"]
    assert cli(ctx, "set server be/s1 state drain") == "\n"
    assert s1.admin == "drain" and not s1.usable and s1.op_up
    assert {backend.balancer.pick(None).name for _ in range(10)} == {"s2"}
    assert cli(ctx, "set server be/s1 state ready") == "\n"
    assert s1.usable
    ctx.t = 110.0
    assert cli(ctx, "set server be/s1 state maint") == "\n"
    assert s1.admin == "maint" and not s1.usable and ctx.maint == ["s1"]
    assert s1.last_change == 110.0
    assert cli(ctx, "set server be/s1 state drain") == "\n"
    assert cli(ctx, "set server be/s1 state maint") == "\n"
    assert cli(ctx, "set server be/s1 state ready") == "\n"
    assert ctx.logs == [
        ("notice", "Server be/s1 enters drain state. 1 active and 1 backup servers online. 0 sessions requeued, "
                   "0 total in queue."),
        ("notice", "Server be/s1 is UP (leaving forced drain)."),
        ("alert", "Server be/s1 is going DOWN for maintenance. 1 active and 1 backup servers left. "
                  "0 sessions active, 0 requeued, 0 remaining in queue."),
        ("notice", "Server be/s1 is UP/DRAIN (leaving forced maintenance)."),
        ("notice", "Server be/s1 remains in forced drain mode."),
        ("alert", "Server be/s1 is going DOWN for maintenance. 1 active and 1 backup servers left. "
                  "0 sessions active, 0 requeued, 0 remaining in queue."),
        ("notice", "Server be/s1 is UP/READY (leaving forced maintenance)."),
    ]


def test_running_on_backup_and_backend_down(ctx):
    cli(ctx, "set server be/s2 health down")
    cli(ctx, "disable server be/s1")
    assert ctx.logs[-1] == ("alert", "Server be/s1 is going DOWN for maintenance. 0 active and 1 backup servers "
                                     "left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.")
    cli(ctx, "disable server be/s4")
    assert ctx.logs[-2:] == [
        ("alert", "Backup Server be/s4 is going DOWN for maintenance. 0 active and 0 backup servers left. "
                  "0 sessions active, 0 requeued, 0 remaining in queue."),
        ("emerg", "backend be has no server available!"),
    ]
    assert not ctx.runtime.backends["be"].is_up


def test_health_commands(ctx):
    s2 = server(ctx, "s2")
    assert cli(ctx, "set server be/s2 health down") == "\n"
    assert not s2.usable and s2.health.health == 0
    assert ctx.logs[-1] == ("alert", "Server be/s2 is DOWN, changed from CLI. 1 active and 1 backup servers left. "
                                     "0 sessions active, 0 requeued, 0 remaining in queue.")
    assert cli(ctx, "set server be/s2 health up") == "\n"
    assert s2.usable and s2.health.health == 4
    assert ctx.logs[-1] == ("notice", "Server be/s2 is UP, changed from CLI. 2 active and 1 backup servers online. "
                                      "0 sessions requeued, 0 total in queue.")
    cli(ctx, "disable server be/s2")
    assert not s2.checks_enabled
    cli(ctx, "enable server be/s2")
    assert s2.checks_enabled and s2.health.health == s2.health.rise and s2.usable
    assert cli(ctx, "disable health be/s2") == "\n" and not s2.checks_enabled
    cli(ctx, "disable server be/s2")
    cli(ctx, "enable server be/s2")
    assert not s2.checks_enabled and s2.usable  # maintenance does not re-enable what the operator disabled
    assert cli(ctx, "enable health be/s2") == "\n" and s2.checks_enabled


def test_entering_maintenance_when_down(ctx):
    cli(ctx, "set server be/s2 health down")
    cli(ctx, "disable server be/s2")
    assert ctx.logs[-1] == ("notice", "Server be/s2 was DOWN and now enters maintenance.")


def test_show_servers_state(ctx):
    ctx.t = 104.0
    be_id = ctx.runtime.backends["be"].id
    st_id = ctx.runtime.backends["st"].id
    assert cli(ctx, "show servers state") == HEADER + (
        f"{be_id} be 1 s1 127.0.0.1 2 0 10 10 4 1 0 2 0 0 0 0 - 18991 - 0 0 - - 0\n"
        f"{be_id} be 2 s2 127.0.0.1 2 0 1 1 4 1 0 2 6 0 0 0 - 18992 - 0 0 - - 0\n"
        f"{be_id} be 3 s3 127.0.0.1 0 5 1 1 4 1 0 0 8 0 0 0 - 18993 - 0 0 - - 0\n"
        f"{be_id} be 4 s4 127.0.0.1 2 0 1 1 4 1 0 2 0 0 0 0 - 18994 - 0 0 - - 0\n"
        f"{st_id} st 1 a 127.0.0.1 2 0 1 1 4 1 0 2 0 0 0 0 - 18995 - 0 0 - - 0\n\n")
    assert cli(ctx, f"show servers state #{st_id}", "user") == HEADER + (
        f"{st_id} st 1 a 127.0.0.1 2 0 1 1 4 1 0 2 0 0 0 0 - 18995 - 0 0 - - 0\n\n")
    cli(ctx, "disable server be/s2")
    cli(ctx, "set server be/s1 state drain")
    cli(ctx, "enable server be/s3")
    rows = cli(ctx, "show servers state be").splitlines()[2:6]
    assert [r.split()[5:7] + r.split()[12:14] for r in rows] == [
        ["2", "8", "2", "0"], ["0", "1", "0", "14"], ["2", "4", "0", "8"], ["2", "0", "2", "0"]]
    cli(ctx, "disable server be/s3")
    cli(ctx, "enable server be/s2")
    cli(ctx, "disable health be/s2")
    rows = cli(ctx, "show servers state be").splitlines()[2:6]
    assert rows[1].split()[5:7] + rows[1].split()[12:14] == ["2", "0", "2", "2"]
    assert rows[2].split()[5:7] == ["0", "5"]


def test_show_backend(ctx):
    assert cli(ctx, "show backend", "user") == "# name\nbe\nst\n\n"


def test_health_stopping_is_haproxys_nolb(ctx):
    s2 = server(ctx, "s2")
    assert cli(ctx, "set server be/s2 health stopping") == "\n"
    assert not s2.usable and s2.status_text() == "NOLB" and s2.health.health == 4
    assert ctx.logs[-1] == ("notice", "Server be/s2 is stopping, changed from CLI. 1 active and 1 backup servers "
                                      "online. 0 sessions requeued, 0 total in queue.")
    logged = len(ctx.logs)
    assert cli(ctx, "set server be/s2 health stopping") == "\n" and len(ctx.logs) == logged  # no change, no log
    assert cli(ctx, "show servers state be").splitlines()[3].split()[5] == "3"  # SRV_ST_STOPPING
    s2.health.health = 3
    assert s2.status_text() == "NOLB 2/3"  # NOLB going down, as HAProxy prints it
    assert cli(ctx, "set server be/s2 health up") == "\n" and s2.usable and s2.status_text() == "UP"
    assert ctx.logs[-1][1].startswith("Server be/s2 is UP, changed from CLI.")


def test_forced_health_on_a_server_without_check(ctx):
    s1 = server(ctx, "s1")
    assert cli(ctx, "set server be/s1 health down") == "\n"
    assert not s1.usable and s1.status_text() == "DOWN"
    assert cli(ctx, "show servers state be").splitlines()[2].split()[5:13:7] == ["0", "0"]  # stopped, health 0
    assert cli(ctx, "set server be/s1 health stopping") == "\n" and s1.status_text() == "NOLB" and not s1.usable
    assert cli(ctx, "set server be/s1 health up") == "\n" and s1.usable and s1.status_text() == "no check"
    assert cli(ctx, "show servers state be").splitlines()[2].split()[12] == "4"  # rise + fall - 1
