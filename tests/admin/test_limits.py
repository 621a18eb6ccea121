"""Frontend states, runtime limits, `clear counters`, `show cli sockets` and `show servers conn`
on a Runtime built from a config, driven through a CLI Session (no event loop). The expected
texts are HAProxy 2.6.12's, captured live with the same config (lab in /tmp, see the report)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import trio_lb.config as config_pkg
from trio_lb.admin.commands.limits import c_atoi, c_strtol
from trio_lb.admin.registry import default_registry
from trio_lb.admin.session import Session
from trio_lb.config.model import StatsSocket
from trio_lb.state.proxies import build_runtime

CFG = """
global
    maxconn 1000
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:19980
    default_backend be
frontend fe2
    bind 127.0.0.1:19981
    maxconn 50
    default_backend be
backend be
    server s1 127.0.0.1:19970 maxconn 10
    server s2 127.0.0.1:19971
listen li
    bind 127.0.0.1:19982
    server l1 127.0.0.1:19972 pool-purge-delay 10s pool-max-conn 7
backend bq
    server one 127.0.0.1:19973 maxconn 1
"""

USAGE = ("'set rate-limit' only supports :\n"
         "   - 'connections global' to set the per-process maximum connection rate\n"
         "   - 'sessions global' to set the per-process maximum session rate\n"
         "   - 'ssl-sessions global' to set the per-process maximum SSL session rate\n"
         "   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n")


class Ctx:
    def __init__(self) -> None:
        self.runtime = build_runtime(config_pkg.parse(CFG, "t.cfg"), 100.0)
        self.t = 100.0
        self.logs: list[tuple[str, str]] = []
        self.admin_sockets: list = []
        self.woken = 0
        self.runtime.admission_watchers.append(self._woken)

    def _woken(self) -> None:
        self.woken += 1

    def now(self) -> float:
        return self.t

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))


@pytest.fixture
def ctx() -> Ctx:
    return Ctx()


def cli(ctx: Ctx, line: str, level: str = "admin", severity: str = "none") -> str:
    session = Session(default_registry(), ctx, level, severity_output=severity)
    return (session.feed(line.encode() + b"\n") + session.eof()).decode()


def fe(ctx: Ctx, name: str = "fe"):
    return ctx.runtime.frontends[name]


# -- replies (verified against 2.6.12) -----------------------------------------------------------

@pytest.mark.parametrize("line, reply", [
    ("disable frontend", "A frontend name is expected.\n\n"),
    ("disable frontend nope", "No such frontend.\n\n"),
    ("disable frontend be", "No such frontend.\n\n"),
    ("enable frontend", "A frontend name is expected.\n\n"),
    ("enable frontend fe", "All sockets are already enabled.\n\n"),
    ("shutdown frontend", "A frontend name is expected.\n\n"),
    ("shutdown frontend be", "No such frontend.\n\n"),
    ("set maxconn frontend", "A frontend name is expected.\n\n"),
    ("set maxconn frontend fe", "Integer value expected.\n\n"),
    ("set maxconn frontend nope 5", "No such frontend.\n\n"),
    ("set maxconn frontend fe -1", "Value out of range.\n\n"),
    ("set maxconn frontend fe abc", "\n"),
    ("set maxconn server", "Require 'backend/server'.\n\n"),
    ("set maxconn server be", "Require 'backend/server'.\n\n"),
    ("set maxconn server be/s1", "Require <maxconn>.\n\n"),
    ("set maxconn server be/s1 x", "maxconn string empty or preceded by garbage\n"),
    ("set maxconn server be/s1 5x", "Trailing garbage in maxconn string\n"),
    ("set maxconn server be/nope 3", "No such server.\n\n"),
    ("set maxconn server be/s1 20", "\n"),
    ("set maxconn global", "Expects an integer value.\n\n"),
    ("set maxconn global 100000", "Value out of range.\n\n"),
    ("set maxconn global 500", "\n"),
    ("set rate-limit", USAGE + "\n"),
    ("set rate-limit connections", USAGE + "\n"),
    ("set rate-limit connections foo 10", USAGE + "\n"),
    ("set rate-limit connections global", "Expects an integer value.\n\n"),
    ("set rate-limit connections global -1", "Value out of range.\n\n"),
    ("set rate-limit connections global abc", "\n"),
    ("set rate-limit connections global 10", "\n"),
    ("show servers conn nope", "Can't find backend.\n\n"),
])
def test_replies(ctx, line, reply):
    assert cli(ctx, line) == reply


@pytest.mark.parametrize("line", [
    "disable frontend fe", "enable frontend nope", "shutdown frontend nope", "set maxconn frontend fe 5",
    "set maxconn server be/s1 5", "set maxconn global 5", "set rate-limit connections global 5",
    "set rate-limit foo", "clear counters all",
])
def test_admin_only(ctx, line):
    assert cli(ctx, line, "operator") == "Permission denied\n\n"
    assert cli(ctx, line, "user") == "Permission denied\n\n"


def test_clear_counters_levels(ctx):
    assert cli(ctx, "clear counters", "user") == "Permission denied\n\n"
    assert cli(ctx, "clear counters", "operator") == "\n"
    assert cli(ctx, "clear counters foo", "operator") == "\n"
    assert cli(ctx, "clear counters all") == "\n"


def test_severities(ctx):
    """The "already" replies are notices, the others errors (set severity-output string)."""
    assert cli(ctx, "enable frontend fe", severity="string") == "[notice]: All sockets are already enabled.\n\n"
    assert cli(ctx, "disable frontend x", severity="string") == "[err]: No such frontend.\n\n"
    assert cli(ctx, "set maxconn server be/s1 x", severity="string") == (
        "[err]: maxconn string empty or preceded by garbage\n")


def test_c_number_parsing():
    assert c_atoi("12abc") == 12 and c_atoi("abc") == 0 and c_atoi(" -7") == -7 and c_atoi("+3") == 3
    assert c_atoi("4294967297") == 1  # (int) of a long, as glibc's atoi
    assert c_strtol("") == (None, "") and c_strtol("5x") == (5, "x") and c_strtol("-") == (None, "-")


# -- frontend states -----------------------------------------------------------------------------

def test_disable_enable_frontend(ctx):
    assert cli(ctx, "disable frontend fe") == "\n"
    assert fe(ctx).enabled is False and ctx.woken == 1
    assert cli(ctx, "disable frontend fe") == "All sockets are already disabled.\n\n"
    assert cli(ctx, "enable frontend #2") == "\n"  # fe has id 2
    assert fe(ctx).enabled is True and ctx.woken == 2
    assert cli(ctx, "disable frontend li; enable frontend li") == "\n\n"
    assert ctx.logs == [("warning", "Paused frontend fe."), ("warning", "Resumed frontend fe."),
                        ("warning", "Paused proxy li."), ("warning", "Resumed proxy li.")]


def test_shutdown_frontend(ctx):
    fe(ctx, "fe2").counters.stot = 4
    assert cli(ctx, "shutdown frontend fe2") == "\n"
    assert fe(ctx, "fe2").stopped and not fe(ctx, "fe2").enabled and ctx.woken == 1
    assert ctx.logs == [("warning", "Proxy fe2 stopped (cumulated conns: FE: 4, BE: 0).")]
    assert cli(ctx, "shutdown frontend fe2") == "Frontend was already shut down.\n\n"
    assert cli(ctx, "enable frontend fe2") == "Frontend was previously shut down, cannot enable.\n\n"
    assert cli(ctx, "disable frontend fe2") == "Frontend was previously shut down, cannot disable.\n\n"
    assert cli(ctx, "set maxconn frontend fe2 5") == "\n"  # still allowed, as in HAProxy
    assert fe(ctx, "fe2").maxconn == 5


# -- limits --------------------------------------------------------------------------------------

def test_set_maxconn_frontend(ctx):
    assert fe(ctx, "fe2").maxconn == 50
    assert cli(ctx, "set maxconn frontend fe2 7") == "\n"
    assert fe(ctx, "fe2").maxconn == 7 and ctx.woken == 1
    assert cli(ctx, "set maxconn frontend fe2 12abc") == "\n"
    assert fe(ctx, "fe2").maxconn == 12
    assert cli(ctx, "set maxconn frontend fe2 abc") == "\n"
    assert fe(ctx, "fe2").maxconn == 0  # atoi: HAProxy then admits nobody (verified)


def test_set_maxconn_global(ctx):
    rt = ctx.runtime
    assert (rt.maxconn, rt.hard_maxconn) == (1000, 1000)
    assert cli(ctx, "set maxconn global 500") == "\n"
    assert rt.maxconn == 500 and ctx.woken == 1
    assert cli(ctx, "set maxconn global 1001") == "Value out of range.\n\n"
    assert rt.maxconn == 500
    assert cli(ctx, "set maxconn global -1") == "\n"
    assert rt.maxconn == 1000  # <= 0 restores the hard limit
    cli(ctx, "set maxconn global 3")
    assert cli(ctx, "set maxconn global abc") == "\n" and rt.maxconn == 1000


def test_set_maxconn_server(ctx):
    s1 = ctx.runtime.backends["be"].server("s1")
    assert s1.maxconn == 10
    assert cli(ctx, "set maxconn server be/s1 +7") == "\n" and s1.maxconn == 7
    assert cli(ctx, "set maxconn server #4/#1 8") == "\n" and s1.maxconn == 8
    assert cli(ctx, "set maxconn server be/s1 0") == "\n" and s1.maxconn == 0 and not s1.full
    assert cli(ctx, "set maxconn server be/s1 -3") == "\n"
    assert s1.maxconn == 4294967293  # an unsigned int, as HAProxy's slim shows it


def test_raising_server_maxconn_dispatches_its_queue(ctx):
    backend = ctx.runtime.backends["bq"]
    one = backend.server("one")
    first = backend.acquire("r1", 100.0)
    waiters = [backend.acquire(f"r{i}", 100.0 + i) for i in (2, 3, 4)]
    assert first is one and all(not w.done for w in waiters) and backend.queued() == 3
    woken = []
    for w in waiters:
        w.wake = lambda w=w: woken.append(w.req)
    assert cli(ctx, "set maxconn server bq/one 3") == "\n"
    assert woken == ["r2", "r3"] and one.cur_sess == 3 and backend.queued() == 1
    assert all(w.server is one for w in waiters[:2]) and not waiters[2].done
    assert cli(ctx, "set maxconn server bq/one 0") == "\n"  # 0: no limit any more
    assert woken == ["r2", "r3", "r4"] and one.cur_sess == 4 and backend.queued() == 0


def test_raising_server_maxconn_serves_its_own_queue_first(ctx):
    """Persistent requests wait in the server's own queue: a raise hands them its slots."""
    backend = ctx.runtime.backends["bq"]
    one = backend.server("one")
    assert backend.acquire_server(one, "r1", 100.0) is one
    waiter = backend.acquire_server(one, "r2", 101.0)
    assert len(one.queue) == 1
    assert cli(ctx, "set maxconn server bq/one 2") == "\n"
    assert waiter.server is one and not one.queue and one.cur_sess == 2


def test_set_rate_limits(ctx):
    rt = ctx.runtime
    assert rt.rate_limit_conns == 0
    assert cli(ctx, "set rate-limit connections global 10") == "\n"
    assert cli(ctx, "set rate-limit sessions global 5") == "\n"
    assert cli(ctx, "set rate-limit ssl-sessions global 4") == "\n"
    assert cli(ctx, "set rate-limit http-compression global 5") == "\n"
    assert (rt.rate_limit_conns, rt.rate_limit_sess, rt.rate_limit_ssl, rt.rate_limit_comp) == (10, 5, 4, 5120)
    assert ctx.woken == 4
    assert cli(ctx, "set rate-limit connections global 0") == "\n" and rt.rate_limit_conns == 0


def test_rate_limits_start_from_the_config():
    text = CFG.replace("    maxconn 1000\n", "    maxconn 1000\n    maxconnrate 30\n    maxcomprate 2\n")
    rt = build_runtime(config_pkg.parse(text, "t.cfg"), 0.0)
    assert (rt.rate_limit_conns, rt.rate_limit_comp) == (30, 2048)


# -- counters ------------------------------------------------------------------------------------

def _dirty(ctx: Ctx) -> list:
    rt = ctx.runtime
    objs = [fe(ctx), fe(ctx, "li"), rt.backends["be"], rt.backends["be"].server("s1")]
    for obj in objs:
        c = obj.counters
        c.stot, c.smax, c.qmax, c.bin = 9, 5, 3, 1234
        c.sess_rate.hit(99.0, 7)
        c.sess_rate.rate(100.0)  # a past second: its count is folded into the maximum
    rt.conn_rate.hit(99.0, 4)
    rt.conn_rate.rate(100.0)
    assert all(obj.counters.sess_rate.max == 7 for obj in objs) and rt.conn_rate.max == 4
    return objs


def test_clear_counters_resets_maxima(ctx):
    objs = _dirty(ctx)
    assert cli(ctx, "clear counters", "operator") == "\n"
    for obj in objs:
        c = obj.counters
        assert (c.stot, c.smax, c.qmax, c.bin, c.sess_rate.max) == (9, 0, 0, 1234, 0)
    assert ctx.runtime.conn_rate.max == 0


def test_clear_counters_all_resets_everything(ctx):
    objs = _dirty(ctx)
    assert cli(ctx, "clear counters all") == "\n"
    for obj in objs:
        c = obj.counters
        assert (c.stot, c.smax, c.qmax, c.bin, c.sess_rate.max) == (0, 0, 0, 0, 0)


# -- show cli sockets / show servers conn --------------------------------------------------------

def test_show_cli_sockets(ctx):
    assert cli(ctx, "show cli sockets", "user") == "# socket lvl processes\n\n"
    ctx.admin_sockets = [
        (StatsSocket("unix", "/tmp/h12/admin.sock", level="admin"), "/tmp/h12/admin.sock"),
        (StatsSocket("unix", "lab/oper.sock"), "lab/oper.sock"),
        (StatsSocket("ipv4", ("127.0.0.1", 0), level="user"), ("127.0.0.1", 19991)),
        (StatsSocket("ipv6", ("::1", 19998), level="operator"), ("::1", 19998, 0, 0)),
    ]
    assert cli(ctx, "show cli sockets", "user") == (
        "# socket lvl processes\n"
        "unix@/tmp/h12/admin.sock admin all\n"
        "unix@lab/oper.sock operator all\n"
        "ipv4@127.0.0.1:19991 user all\n"
        "ipv6@[::1]:19998 operator all\n\n")


CONN_HEADER = ("# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb "
               "idle_lim idle_cur idle_per_thr[1]\n")


def test_show_servers_conn(ctx):
    s1 = ctx.runtime.backends["be"].server("s1")
    s1.cur_sess, s1.counters.smax = 1, 2
    s1.idle.extend([SimpleNamespace(reused=False), SimpleNamespace(reused=True), SimpleNamespace(reused=True)])
    assert cli(ctx, "show servers conn", "user") == CONN_HEADER + (
        "be/s1 4/1 127.0.0.1 19970 - 5000 1 2 2 1 2 -1 3 3\n"
        "be/s2 4/2 127.0.0.1 19971 - 5000 0 0 0 0 0 -1 0 0\n"
        "li/l1 5/1 127.0.0.1 19972 - 10000 0 0 0 0 0 7 0 0\n"
        "bq/one 6/1 127.0.0.1 19973 - 5000 0 0 0 0 0 -1 0 0\n\n")
    assert cli(ctx, "show servers conn li") == CONN_HEADER + "li/l1 5/1 127.0.0.1 19972 - 10000 0 0 0 0 0 7 0 0\n\n"
    assert cli(ctx, "show servers conn #4") == cli(ctx, "show servers conn be")
