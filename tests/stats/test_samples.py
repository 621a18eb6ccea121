"""`show stat` against the captures of a real HAProxy 2.6.12 (tests/data/golden/show_stat*.csv).

The captures ran lab-haproxy.cfg for 4 s with some traffic; the test builds the same runtime
from the test copy of that config (minus what trio-lb does not parse), feeds it the check
results the capture shows (app1/app2 L7OK 200, app3 refused, api2/t1 L4OK) and renders it 4 s
later. Columns fed by traffic are compared for emptiness only (same fields empty, same fields
filled); every other column must be byte-equal. Not comparable: the BACKEND `cookie` of be_app
(`cookie SRV insert` is stripped from the test config).
"""

from __future__ import annotations

import pytest

from tests.stats.helpers import GOLDEN, feed_check, parse_csv, runtime_from
from trio_lb.state.health import CheckResult
from trio_lb.stats import parse_show_stat, render_csv

T0 = 1000.0
NOW = T0 + 4  # the capture was taken 4 s after start (lastchg 4 everywhere)

TRAFFIC = {
    "smax", "stot", "bin", "bout", "dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "lbtot",
    "rate", "rate_max", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other",
    "req_rate", "req_rate_max", "req_tot", "cli_abrt", "srv_abrt", "lastsess", "qtime", "ctime", "rtime",
    "ttime", "conn_rate", "conn_rate_max", "conn_tot", "intercepted", "connect", "reuse", "qtime_max",
    "ctime_max", "rtime_max", "ttime_max", "srv_icur", "idle_conn_cur", "safe_conn_cur", "used_conn_cur",
    "need_conn_est", "h1_open_connections", "h1_open_streams", "h1_total_connections", "h1_total_streams",
    "h1_bytes_in", "h1_bytes_out",
}
NOT_COMPARABLE = {("be_app", "BACKEND", "cookie")}


def lab_runtime():
    rt = runtime_from((GOLDEN / "lab-haproxy.cfg").read_text(), T0)
    feed_check(rt, "be_app", "app1", CheckResult("L7OK", 200, 0.0), T0)
    feed_check(rt, "be_app", "app2", CheckResult("L7OK", 200, 0.0), T0)
    feed_check(rt, "be_app", "app3", CheckResult("L4CON", None, 0.0, "Connection refused"), T0)
    feed_check(rt, "be_api", "api2", CheckResult("L4OK", None, 0.0), T0)
    feed_check(rt, "tcp_svc", "t1", CheckResult("L4OK", None, 0.0), T0)
    return rt


def compare(ours: str, golden_file: str) -> None:
    names, got = parse_csv(ours)
    gnames, want = parse_csv((GOLDEN / golden_file).read_text())
    assert names == gnames
    assert [(r["pxname"], r["svname"]) for r in got] == [(r["pxname"], r["svname"]) for r in want]
    for g, w in zip(got, want):
        for name in names:
            key = (w["pxname"], w["svname"], name)
            if key in NOT_COMPARABLE:
                continue
            if name in TRAFFIC:
                assert (g[name] == "") == (w[name] == ""), key
            else:
                assert g[name] == w[name], (key, g[name], w[name])


def test_show_stat_matches_the_capture():
    compare(render_csv(lab_runtime(), NOW), "show_stat.csv")


def test_user_level_socket_hides_addr_cookie_algo():
    compare(render_csv(lab_runtime(), NOW, legends=False), "show_stat_user_level.csv")


def test_show_stat_up():
    rt = lab_runtime()
    req = parse_show_stat(["up"], rt)
    compare(render_csv(rt, NOW, filter=req.filter), "show_stat_up.csv")


def test_show_stat_filtered_on_one_backends_servers():
    rt = lab_runtime()
    req = parse_show_stat(["be_app", "4", "-1"], rt)
    compare(render_csv(rt, NOW, filter=req.filter), "show_stat_filter_be_app_servers.csv")


@pytest.mark.parametrize("golden", ["show_stat.csv", "show_stat_up.csv", "show_stat_user_level.csv"])
def test_golden_framing(golden):
    """The captures themselves follow the framing the renderer is held to."""
    names, rows = parse_csv((GOLDEN / golden).read_text())
    assert len(names) == 128 and rows
