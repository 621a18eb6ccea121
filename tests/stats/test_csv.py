"""render_csv on runtimes built from small configs, then mutated as the data plane and the admin
commands mutate them. Expected values follow HAProxy 2.6.12 (checked on a live instance)."""

from __future__ import annotations

import pytest

from tests.stats.helpers import DEFAULTS, feed_check, parse_csv, row, runtime_from
from trio_lb.errors import CommandError
from trio_lb.state.health import CheckResult
from trio_lb.stats import COLUMNS, StatFilter, parse_show_stat, render_csv, render_resolvers_csv
from trio_lb.stats.csv import csv_field
from trio_lb.stats.rows import fullconn_table, lb_summary

T0 = 1000.0

WEB = """
global
    maxconn 500
""" + DEFAULTS + """
frontend fe
    bind 127.0.0.1:8080
    bind :8081 name alt maxconn 2
    option socket-stats
    maxconn 300
    default_backend be_web

backend be_web
    balance roundrobin
    server w1 127.0.0.1:9001 check rise 2 fall 3 weight 10 cookie c1
    server w2 127.0.0.1:9002 check maxconn 20 maxqueue 5
    server w3 [::1]:9003 weight 3
    server w4 127.0.0.1:9004 backup
    server w5 127.0.0.1:9005 backup disabled

listen tcp_in
    mode tcp
    bind 127.0.0.1:9443
    balance source
    server t1 127.0.0.1:9100 check

backend be_off
    disabled
    server o1 127.0.0.1:1
"""


def stat(rt, now=T0 + 5, **kw):
    return parse_csv(render_csv(rt, now, **kw))


def test_framing_and_order():
    text = render_csv(runtime_from(WEB, T0), T0)
    names, rows = parse_csv(text)
    assert len(names) == len(COLUMNS) + 1 + 24
    assert [(r["pxname"], r["svname"]) for r in rows] == [
        ("fe", "FRONTEND"), ("fe", "sock-1"), ("fe", "alt"),
        ("be_web", "w1"), ("be_web", "w2"), ("be_web", "w3"), ("be_web", "w4"), ("be_web", "w5"),
        ("be_web", "BACKEND"),
        ("tcp_in", "FRONTEND"), ("tcp_in", "t1"), ("tcp_in", "BACKEND"),
    ]  # the disabled proxy is not listed
    assert all(r["-"] == "-" for r in rows)
    assert [r["type"] for r in rows] == ["0", "3", "3", "2", "2", "2", "2", "2", "1", "0", "2", "1"]
    assert [r["iid"] for r in rows][:3] == ["2", "2", "2"]
    assert [r["sid"] for r in rows][:4] == ["0", "1", "2", "1"]


def test_initial_values():
    _, rows = stat(runtime_from(WEB, T0))
    fe, li, alt = row(rows, "fe", "FRONTEND"), row(rows, "fe", "sock-1"), row(rows, "fe", "alt")
    assert (fe["status"], fe["slim"], fe["mode"], fe["rate_lim"]) == ("OPEN", "300", "http", "0")
    assert (fe["qcur"], fe["econ"], fe["weight"], fe["lastchg"]) == ("", "", "", "")
    assert (li["status"], li["slim"], li["addr"]) == ("OPEN", "0", "127.0.0.1:8080")
    assert (alt["slim"], alt["addr"]) == ("2", "0.0.0.0:8081")
    w1, w2, w3 = row(rows, "be_web", "w1"), row(rows, "be_web", "w2"), row(rows, "be_web", "w3")
    assert (w1["status"], w1["check_status"], w1["check_desc"], w1["check_health"]) == ("UP 1/3", "INI", "Initializing", "2")
    assert (w1["check_code"], w1["check_duration"], w1["last_chk"], w1["chkfail"]) == ("", "", "", "0")
    assert (w1["weight"], w1["uweight"], w1["cookie"], w1["slim"], w1["lastchg"]) == ("10", "10", "c1", "", "5")
    assert (w2["slim"], w2["qlimit"], w2["downtime"]) == ("20", "5", "0")
    assert (w3["status"], w3["addr"], w3["chkfail"], w3["downtime"], w3["check_status"]) == ("no check", "[::1]:9003", "", "", "")
    w4, w5 = row(rows, "be_web", "w4"), row(rows, "be_web", "w5")
    assert (w4["status"], w4["act"], w4["bck"]) == ("no check", "0", "1")
    assert (w5["status"], w5["weight"]) == ("MAINT", "1")
    be = row(rows, "be_web", "BACKEND")
    assert (be["status"], be["weight"], be["uweight"], be["act"], be["bck"]) == ("UP", "14", "14", "3", "1")
    assert (be["slim"], be["algo"], be["cookie"], be["downtime"], be["lastsess"]) == ("30", "roundrobin", "", "0", "-1")
    assert (be["agg_server_status"], be["agg_check_status"]) == ("0", "0")
    tcp = row(rows, "tcp_in", "BACKEND")
    assert (tcp["algo"], tcp["req_tot"], tcp["hrsp_2xx"], tcp["slim"]) == ("source", "", "", "50")
    tfe = row(rows, "tcp_in", "FRONTEND")
    assert (tfe["req_tot"], tfe["hrsp_2xx"], tfe["intercepted"], tfe["h1_total_connections"]) == ("0", "", "", "0")


def test_maint_keeps_check_counters_but_hides_check_status():
    rt = runtime_from(WEB, T0)
    be = rt.backends["be_web"]
    w1 = be.server("w1")
    w1.set_admin("maint", T0 + 1)
    be.server_changed(w1, T0 + 1)
    _, rows = stat(rt, T0 + 5)
    r = row(rows, "be_web", "w1")
    assert r["status"] == "MAINT"
    assert (r["check_status"], r["check_desc"], r["check_health"], r["last_chk"]) == ("", "", "", "")
    assert (r["chkfail"], r["chkdown"], r["downtime"], r["lastchg"]) == ("0", "0", "4", "4")
    assert r["weight"] == "10"  # HAProxy keeps the weight of a server in maintenance
    b = row(rows, "be_web", "BACKEND")
    assert (b["weight"], b["act"]) == ("4", "2")
    _, rows = stat(rt, T0 + 5, filter=StatFilter(hide_maint=True))
    assert "w1" not in [r["svname"] for r in rows] and "w5" not in [r["svname"] for r in rows]
    assert row(rows, "be_web", "BACKEND")["status"] == "UP (3/5)"


def test_health_down_then_back_up():
    rt = runtime_from(WEB, T0)
    feed_check(rt, "be_web", "w1", CheckResult("L4CON", None, 0.0012, "Connection refused"), T0 + 1)
    _, rows = stat(rt, T0 + 3)
    r = row(rows, "be_web", "w1")
    assert (r["status"], r["check_status"], r["check_code"], r["check_duration"]) == ("DOWN", "L4CON", "", "1")
    assert (r["last_chk"], r["check_desc"], r["check_health"]) == ("Connection refused", "Layer4 connection problem", "0")
    assert (r["chkfail"], r["chkdown"], r["lastchg"], r["downtime"]) == ("1", "1", "2", "2")
    assert r["weight"] == "10"
    assert row(rows, "be_web", "BACKEND")["weight"] == "4"
    feed_check(rt, "be_web", "w1", CheckResult("L7OK", 200, 0.003), T0 + 4)
    _, rows = stat(rt, T0 + 6)
    r = row(rows, "be_web", "w1")
    assert (r["status"], r["check_code"], r["check_duration"]) == ("DOWN 1/2", "200", "3")
    feed_check(rt, "be_web", "w1", CheckResult("L7OK", 200, 0.003), T0 + 5)
    _, rows = stat(rt, T0 + 6)
    r = row(rows, "be_web", "w1")
    assert (r["status"], r["check_health"], r["downtime"], r["lastchg"]) == ("UP", "4", "4", "1")
    feed_check(rt, "be_web", "w1", CheckResult("L7STS", 503, 0.001, "Service Unavailable"), T0 + 6)
    _, rows = stat(rt, T0 + 6)
    r = row(rows, "be_web", "w1")
    assert (r["status"], r["check_status"], r["check_code"], r["last_chk"]) == ("UP 2/3", "L7STS", "503", "Service Unavailable")


def test_whole_backend_down_falls_back_to_first_backup():
    rt = runtime_from(WEB, T0)
    be = rt.backends["be_web"]
    for name in ("w1", "w2"):
        feed_check(rt, "be_web", name, CheckResult("L4TOUT", None, 2.0), T0 + 1)
    be.server("w3").set_admin("drain", T0 + 1)
    be.server_changed(be.server("w3"), T0 + 1)
    _, rows = stat(rt, T0 + 2)
    b = row(rows, "be_web", "BACKEND")
    assert (b["status"], b["weight"], b["uweight"], b["act"], b["bck"]) == ("UP", "1", "1", "0", "1")
    assert row(rows, "be_web", "w3")["status"] == "DRAIN"
    assert row(rows, "be_web", "w3")["weight"] == "3"
    be.server("w4").set_admin("maint", T0 + 2)
    be.server_changed(be.server("w4"), T0 + 2)
    _, rows = stat(rt, T0 + 7)
    b = row(rows, "be_web", "BACKEND")
    assert (b["status"], b["weight"], b["act"], b["bck"], b["lastchg"], b["downtime"]) == ("DOWN", "0", "0", "0", "5", "5")
    _, rows = stat(rt, T0 + 7, filter=StatFilter(hide_down=True))
    assert [r["svname"] for r in rows if r["pxname"] == "be_web"] == ["w3", "BACKEND"]
    assert row(rows, "be_web", "BACKEND")["status"] == "DOWN (1/5)"


def test_drain_going_down_shows_counts():
    rt = runtime_from(WEB, T0)
    be = rt.backends["be_web"]
    be.server("w2").set_admin("drain", T0)  # health is still `rise` (never checked): going down
    _, rows = stat(rt, T0)
    assert row(rows, "be_web", "w2")["status"] == "DRAIN 1/3"


def test_lb_summary_with_allbackups():
    rt = runtime_from(WEB.replace("balance roundrobin", "balance roundrobin\n    option allbackups"), T0)
    be = rt.backends["be_web"]
    for s in be.servers[:3]:
        s.set_admin("maint", T0)
    be.server("w5").set_admin("ready", T0)
    be.balancer.update()
    assert lb_summary(be.servers, True) == (2, 2, 0, 2)
    assert lb_summary(be.servers, False) == (1, 1, 0, 2)


def test_counters_rates_and_times():
    rt = runtime_from(WEB, T0)
    fe, be = rt.frontends["fe"], rt.backends["be_web"]
    w1 = be.server("w1")
    for i in range(3):
        fe.open_session(T0 + 10.1 + i * 0.1)
    fe.counters.req_tot += 3
    for _ in range(3):
        fe.counters.req_rate.hit(T0 + 10.2)
    fe.counters.bin, fe.counters.bout = 480, 9000
    fe.counters.count_status(200)
    fe.counters.count_status(404)
    fe.counters.count_status(999)
    got = be.acquire(None, T0 + 10.3)
    assert got is w1 or got is not None
    server = got
    server.counters.req_tot += 1
    server.counters.record_times(0, 2, 10, 13)
    server.counters.connect += 1
    _, rows = stat(rt, T0 + 10.5)
    f = row(rows, "fe", "FRONTEND")
    assert (f["scur"], f["smax"], f["stot"], f["conn_tot"], f["bin"], f["bout"]) == ("3", "3", "3", "3", "480", "9000")
    assert (f["rate"], f["rate_max"], f["conn_rate"], f["req_rate"], f["req_tot"]) == ("3", "3", "3", "3", "3")
    assert (f["hrsp_2xx"], f["hrsp_4xx"], f["hrsp_other"]) == ("1", "1", "1")
    assert (f["h1_open_connections"], f["h1_total_streams"], f["h1_bytes_out"]) == ("3", "3", "9000")
    li = row(rows, "fe", "sock-1")  # two listeners: per-listener counters are not kept
    assert li["stot"] == "0"
    s = row(rows, "be_web", server.name)
    assert (s["scur"], s["stot"], s["lbtot"], s["rate"], s["lastsess"]) == ("1", "1", "1", "1", "0")
    assert (s["ctime"], s["rtime"], s["ttime"], s["req_tot"], s["used_conn_cur"], s["connect"]) == ("2", "10", "13", "1", "1", "1")
    b = row(rows, "be_web", "BACKEND")
    assert (b["scur"], b["stot"], b["lbtot"], b["connect"], b["lastsess"]) == ("1", "1", "1", "1", "0")
    _, rows = stat(rt, T0 + 12.5)
    f = row(rows, "fe", "FRONTEND")
    assert (f["rate"], f["rate_max"], f["req_rate"], f["req_rate_max"]) == ("0", "3", "0", "3")
    assert row(rows, "be_web", server.name)["lastsess"] == "2"


def test_single_listener_reports_the_frontend_counters():
    rt = runtime_from(WEB.replace("    bind :8081 name alt maxconn 2\n", ""), T0)
    fe = rt.frontends["fe"]
    fe.open_session(T0)
    fe.counters.bin = 77
    _, rows = stat(rt, T0)
    li = row(rows, "fe", "sock-1")
    assert (li["scur"], li["stot"], li["bin"], li["rate"], li["dcon"]) == ("1", "1", "77", "", "0")


def test_listener_and_frontend_status():
    rt = runtime_from(WEB, T0)
    fe = rt.frontends["fe"]
    fe.maxconn = 2
    fe.open_session(T0)
    fe.open_session(T0)
    _, rows = stat(rt, T0)
    assert row(rows, "fe", "sock-1")["status"] == "WAITING"
    fe.enabled = False
    _, rows = stat(rt, T0)
    assert row(rows, "fe", "FRONTEND")["status"] == "PAUSED"
    rt.stopping = True
    _, rows = stat(rt, T0)
    assert row(rows, "fe", "FRONTEND")["status"] == "STOP"


def test_queue_and_slowstart():
    rt = runtime_from(WEB.replace("maxconn 20 maxqueue 5", "maxconn 1 maxqueue 5 slowstart 10s"), T0)
    be = rt.backends["be_web"]
    w2 = be.server("w2")
    for s in be.servers:
        if s is not w2:
            s.set_admin("maint", T0)
    be.balancer.update()
    assert be.acquire(None, T0) is w2
    assert be.acquire_server(w2, None, T0) is not w2  # persistence: waits in w2's own queue
    assert be.acquire(None, T0) is not w2  # load-balanced: waits in the backend's queue
    _, rows = stat(rt, T0)
    r = row(rows, "be_web", "w2")
    assert (r["qcur"], r["qmax"], r["scur"], r["throttle"]) == ("1", "1", "1", "")
    b = row(rows, "be_web", "BACKEND")
    assert (b["qcur"], b["qmax"], b["scur"]) == ("1", "2", "3")
    w2.set_admin("maint", T0)
    w2.set_admin("ready", T0 + 1)
    w2.on_health_transition("up", T0 + 1)
    w2.refresh(T0 + 3.5)
    _, rows = stat(rt, T0 + 3.5)
    assert row(rows, "be_web", "w2")["throttle"] == "25"


def test_legends_off_empties_addr_cookie_algo():
    _, rows = stat(runtime_from(WEB, T0), legends=False)
    assert all(r["addr"] == r["cookie"] == r["algo"] == "" for r in rows)


def test_fullconn_counts_each_frontend_once_per_backend():
    text = """
global
    maxconn 1000
""" + DEFAULTS + """
frontend a
    bind :1
    maxconn 100
    default_backend b1
    use_backend b2 if TRUE
    use_backend b2 if TRUE
    use_backend b1 if TRUE
    use_backend %[req.hdr(host)] if TRUE
frontend c
    bind :2
    use_backend b2 if TRUE
backend b1
backend b2
backend b3
    fullconn 33
listen l
    bind :3
    maxconn 20
"""
    rt = runtime_from(text, T0)
    table = fullconn_table(rt.config, {n: f.maxconn for n, f in rt.frontends.items()})
    assert table == {"b1": 10, "b2": 110, "b3": 33, "l": 2}


def test_csv_quoting():
    assert csv_field(None) == "" and csv_field(0) == "0" and csv_field("UP 1/3") == "UP 1/3"
    assert csv_field('a,b') == '"a,b"' and csv_field('say "hi"') == '"say ""hi"""' and csv_field("x\ny") == '"x\ny"'
    rt = runtime_from(WEB, T0)
    feed_check(rt, "be_web", "w1", CheckResult("L7RSP", None, 0.0, 'bad, "reply"'), T0)
    text = render_csv(rt, T0)
    assert ',"bad, ""reply""",' in text
    _, rows = parse_csv(text)
    assert row(rows, "be_web", "w1")["last_chk"] == 'bad, "reply"'


def test_block_and_module_options():
    rt = runtime_from(WEB, T0)
    assert render_csv(rt, T0).endswith(",\n\n")
    assert render_csv(rt, T0, block=False).endswith(",\n")
    line = render_csv(rt, T0, modules=False).splitlines()[1]
    assert line.endswith(",-,") and line.count(",") == len(COLUMNS) + 1


# --- `show stat` arguments ------------------------------------------------------------------------

def names_for(rt, args):
    req = parse_show_stat(args, rt)
    _, rows = stat(rt, filter=req.filter)
    return [(r["pxname"], r["svname"]) for r in rows]


def test_filters():
    rt = runtime_from(WEB, T0)
    assert names_for(rt, ["be_web", "4", "-1"]) == [("be_web", f"w{i}") for i in range(1, 6)]
    assert names_for(rt, ["3", "2", "-1"]) == [("be_web", "BACKEND")]
    assert names_for(rt, ["-1", "2", "-1"]) == [("be_web", "BACKEND"), ("tcp_in", "BACKEND")]
    assert names_for(rt, ["fe", "8", "2"]) == [("fe", "alt")]
    assert names_for(rt, ["be_web", "-1", "2"]) == [("be_web", "w2"), ("be_web", "BACKEND")]
    assert names_for(rt, ["99", "-1", "-1"]) == []
    assert names_for(rt, ["be_web", "4"]) == names_for(rt, [])  # a partial filter is ignored
    assert names_for(rt, ["domain", "proxy", "tcp_in", "1", "-1"]) == [("tcp_in", "FRONTEND")]


def test_filter_errors_and_words():
    rt = runtime_from(WEB, T0)
    with pytest.raises(CommandError) as e:
        parse_show_stat(["nope", "1", "1"], rt)
    assert e.value.text == "No such proxy.\n"
    for bad in (["domain"], ["domain", "foo"]):
        with pytest.raises(CommandError) as e:
            parse_show_stat(bad, rt)
        assert e.value.text == "Invalid statistics domain.\n"
    req = parse_show_stat(["be_web", "-1", "-1", "typed", "desc", "up", "no-maint", "json"], rt)
    assert (req.format, req.desc, req.filter.hide_down, req.filter.hide_maint) == ("json", True, True, True)
    assert req.filter.iid == 3
    with pytest.raises(CommandError):  # as HAProxy: three words are taken as <iid> <type> <sid>
        parse_show_stat(["typed", "desc", "up"], rt)
    assert parse_show_stat(["typed", "up"], rt).filter == StatFilter(hide_down=True)
    assert parse_show_stat(["3x", "2", "-1"], rt).filter.iid == 3
    assert parse_show_stat(["domain", "resolvers"], rt).domain == "resolvers"
    assert render_resolvers_csv().startswith("# id,pid,sent,") and render_resolvers_csv().endswith(",\n\n")
