"""track-sc actions, accept/reject, the sc*/src_* fetches and the Tracker's events (pure)."""

from __future__ import annotations

from trio_lb.config import parse
from trio_lb.rules.actions import run_rules
from trio_lb.rules.context import RuleContext
from trio_lb.rules.sample import RequestView
from trio_lb.rules.track import Tracker
from trio_lb.state.sticktables import build_tables

CFG = """
defaults
  mode http
  timeout client 1s
  timeout server 1s
  timeout connect 1s
backend st
  stick-table type ip size 100 expire 30s store conn_cnt,conn_cur,conn_rate(10s),http_req_cnt,http_req_rate(10s),http_err_cnt,http_err_rate(10s),gpc0,gpc0_rate(10s),bytes_in_cnt,bytes_out_cnt,sess_cnt
frontend f
  bind :8080
  tcp-request connection track-sc0 src table st
  tcp-request connection reject if { sc0_conn_rate gt 2 }
  tcp-request content track-sc1 src table st
  default_backend st
"""


def setup():
    config = parse(CFG, "t.cfg")
    tables = build_tables(config)
    fe = next(p for p in config.proxies if p.name == "f")
    return config, tables, fe


def stream(tables, fe, tracker, now, src="10.0.0.1"):
    view = RequestView(src, 40000, "127.0.0.1", 8080)
    ctx = RuleContext(tables=tables, frontend=fe)
    ctx.now = now
    tracker.bind(ctx)
    view.ctx = ctx
    return view, ctx


def test_connection_tracking_counts_and_rejects() -> None:
    _, tables, fe = setup()
    outcomes = []
    trackers = []
    for i in range(4):
        tr = Tracker()
        view, ctx = stream(tables, fe, tr, 100.0 + i)
        outcomes.append(run_rules(fe.tcp_request_connection_rules, None, view))
        trackers.append(tr)
    assert [o.kind if o else None for o in outcomes] == [None, None, "reject", "reject"]  # the rate counts the current one
    st = tables["st"]
    entry = next(iter(st.entries(104.0)))
    assert st.read(entry, "conn_cnt", 104.0) == 4
    assert st.read(entry, "conn_cur", 104.0) == 4
    assert entry.ref_cnt == 4
    for tr in trackers:
        tr.close(110.0)
    assert st.read(entry, "conn_cur", 110.0) == 0 and entry.ref_cnt == 0


def test_stream_slots_and_http_events() -> None:
    _, tables, fe = setup()
    st = tables["st"]
    tr = Tracker()
    view, ctx = stream(tables, fe, tr, 10.0)
    run_rules(fe.tcp_request_connection_rules, None, view)
    tr.session_accepted(10.0)
    run_rules(fe.tcp_request_content_rules, None, view)
    entry = ctx.tracked[1].entry
    assert ctx.session_tracked[0].entry is entry and entry.ref_cnt == 2
    Tracker.http_request(ctx, 10.0)  # counted once per slot holding it: sc0 (session) and sc1 (stream)
    Tracker.http_response(ctx, 404, 10.1)
    Tracker.http_response(ctx, 501, 10.1)  # neither an error nor a failure
    Tracker.bytes(ctx, 100, 2000, 10.2)
    assert st.read(entry, "http_req_cnt", 10.2) == 2
    assert st.read(entry, "http_err_cnt", 10.2) == 2
    assert st.read(entry, "bytes_out_cnt", 10.2) == 4000
    assert st.read(entry, "sess_cnt", 10.2) == 1
    Tracker.end_stream(ctx, 11.0)
    assert ctx.tracked[1] is None and entry.ref_cnt == 1
    assert st.read(entry, "conn_cur", 11.0) == 1
    tr.close(12.0)
    assert entry.ref_cnt == 0 and st.read(entry, "conn_cur", 12.0) == 0


def test_fetches() -> None:
    from trio_lb.rules.sample import FETCHES

    _, tables, fe = setup()
    tr = Tracker()
    view, ctx = stream(tables, fe, tr, 10.0)
    assert FETCHES["sc0_conn_cnt"].fn(view, ()) is None  # not tracked yet: no sample
    assert FETCHES["sc0_tracked"].fn(view, ()) == [0]
    run_rules(fe.tcp_request_connection_rules, None, view)
    assert FETCHES["sc0_tracked"].fn(view, ()) == [1]
    assert FETCHES["sc0_conn_cnt"].fn(view, ()) == [1]
    assert FETCHES["sc_conn_cur"].fn(view, (0,)) == [1]
    assert FETCHES["sc0_inc_gpc0"].fn(view, ()) == [1]
    assert FETCHES["sc0_inc_gpc0"].fn(view, ()) == [2]
    assert FETCHES["sc0_gpc0_rate"].fn(view, ()) == [2]
    assert FETCHES["sc0_clr_gpc0"].fn(view, ()) == [2]
    assert FETCHES["sc0_get_gpc0"].fn(view, ()) == [0]
    assert FETCHES["sc0_http_fail_cnt"].fn(view, ()) is None  # not stored in the table
    assert FETCHES["src_conn_cnt"].fn(view, ("st",)) == [1]
    assert FETCHES["sc0_trackers"].fn(view, ()) == [1]
    other, _ = stream(tables, fe, Tracker(), 10.0, src="10.9.9.9")
    assert FETCHES["src_conn_cnt"].fn(other, ("st",)) == [0]  # absent entry reads 0, not created
    assert len(tables["st"]) == 1


def test_accept_stops_the_rules() -> None:
    config = parse(CFG.replace("  tcp-request connection track-sc0 src table st\n",
                               "  tcp-request connection accept if { src 10.0.0.1 }\n"
                               "  tcp-request connection reject\n"), "t.cfg")
    fe = next(p for p in config.proxies if p.name == "f")
    tables = build_tables(config)
    view, _ = stream(tables, fe, Tracker(), 1.0)
    assert run_rules(fe.tcp_request_connection_rules, None, view).kind == "allow"
    other, _ = stream(tables, fe, Tracker(), 1.0, src="10.0.0.2")
    assert run_rules(fe.tcp_request_connection_rules, None, other).kind == "reject"
