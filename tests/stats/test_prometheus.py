"""The Prometheus exporter against HAProxy 2.6.12's own (tests/data/golden/prometheus_metrics.txt).

The capture was scraped from lab-haproxy.cfg 4 s after start, with some traffic. The golden
tests build the same runtime from prometheus_lab.cfg (that config minus what trio-lb does not
parse), feed it the check results the capture shows (app1/app2 L7OK 200, app3 refused,
api2/t1 L4OK) and render it 4 s later. Families, HELP and TYPE lines, label sets and order must
be identical; values too, except the families in VOLATILE (traffic, sizes of this machine,
deliberate differences), whose values must only agree on being NaN or a number. Not compared:
haproxy_sticktable_* (trio-lb refuses `stick-table`) and the build_info version label.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess

import pytest

from tests.stats.helpers import GOLDEN, feed_check, runtime_from
from trio_lb.config import parse
from trio_lb.state.health import CheckResult
from trio_lb.stats import VERSION, ProcessInfo
from trio_lb.stats.prometheus import (
    CHECK_STATES,
    BadQuery,
    PrometheusService,
    parse_query,
    render,
)

T0 = 1000.0
NOW = T0 + 4
EPOCH = 1795304551.0  # the wall clock of the capture (start_time_seconds + 4)
INFO = ProcessInfo(epoch=EPOCH)
SAMPLE = (GOLDEN / "prometheus_metrics.txt").read_text()

NOT_SUPPORTED = {"haproxy_sticktable_size", "haproxy_sticktable_used"}
# values that follow traffic or this machine, and deliberate differences:
#   nbthread: trio-lb runs one event loop whatever `nbthread` says (as `show info` reports);
#   max_fds / max_sockets: RLIMIT_NOFILE of the test machine; pool_*_bytes: HAProxy's allocator;
#   need_connections_current: HAProxy estimates it from recent peaks, trio-lb counts what it holds.
VOLATILE = {
    "haproxy_process_nbthread", "haproxy_process_max_fds", "haproxy_process_max_sockets",
    "haproxy_process_pool_allocated_bytes", "haproxy_process_pool_used_bytes",
    "haproxy_process_current_connections", "haproxy_process_connections_total",
    "haproxy_process_requests_total", "haproxy_process_current_connection_rate",
    "haproxy_process_max_connection_rate", "haproxy_process_current_session_rate",
    "haproxy_process_max_session_rate", "haproxy_process_current_tasks", "haproxy_process_jobs",
    "haproxy_process_bytes_out_total", "haproxy_process_bytes_out_rate", "haproxy_process_uptime_seconds",
    "haproxy_process_start_time_seconds", "haproxy_process_idle_time_percent",
    *(f"haproxy_{scope}_{name}" for scope in ("frontend", "listener", "backend", "server") for name in (
        "current_sessions", "max_sessions", "sessions_total", "bytes_in_total", "bytes_out_total",
        "request_errors_total", "max_session_rate", "http_responses_total", "http_requests_rate_max",
        "http_requests_total", "connections_rate_max", "connections_total", "intercepted_requests_total",
        "loadbalanced_total", "last_session_seconds", "connection_attempts_total",
        "queue_time_average_seconds", "connect_time_average_seconds", "response_time_average_seconds",
        "total_time_average_seconds", "max_queue_time_seconds", "max_connect_time_seconds",
        "max_response_time_seconds", "max_total_time_seconds", "need_connections_current")),
}

_SAMPLE_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def entries(text: str) -> list[tuple]:
    """("HELP", name, text) / ("TYPE", name, type) / ("S", name, labels, value) per line."""
    out: list[tuple] = []
    assert text == "" or text.endswith("\n")
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            kind, name, rest = line[2:6], *line[7:].split(" ", 1)
            out.append((kind, name, rest))
            continue
        m = _SAMPLE_LINE.match(line)
        assert m, line
        labels = tuple(_LABEL.findall(m.group(2) or ""))
        out.append(("S", m.group(1), labels, m.group(3)))
    return out


def families(text: str) -> list[str]:
    return [e[1] for e in entries(text) if e[0] == "TYPE"]


def lab_runtime():
    rt = runtime_from((GOLDEN / "prometheus_lab.cfg").read_text(), T0)
    feed_check(rt, "be_app", "app1", CheckResult("L7OK", 200, 0.0), T0)
    feed_check(rt, "be_app", "app2", CheckResult("L7OK", 200, 0.0), T0)
    feed_check(rt, "be_app", "app3", CheckResult("L4CON", None, 0.0, "Connection refused"), T0)
    feed_check(rt, "be_api", "api2", CheckResult("L4OK", None, 0.0), T0)
    feed_check(rt, "tcp_svc", "t1", CheckResult("L4OK", None, 0.0), T0)
    return rt


def lab_metrics(query: str = "", rt=None) -> str:
    return render(rt or lab_runtime(), NOW, INFO, query)


def sample_value(text: str, name: str, **labels: str) -> str:
    want = tuple(labels.items())
    found = [e[3] for e in entries(text) if e[0] == "S" and e[1] == name and e[2] == want]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def _comparable(text: str) -> list[tuple]:
    return [e for e in entries(text) if e[1] not in NOT_SUPPORTED]


# --- against HAProxy 2.6.12's scrape -----------------------------------------------------------

def test_same_families_help_type_labels_and_order_as_haproxy():
    ours, theirs = _comparable(lab_metrics()), _comparable(SAMPLE)
    shape = [e[:3] for e in ours]
    golden = [e[:3] for e in theirs]
    build = ("S", "haproxy_process_build_info", (("version", VERSION),))
    assert build in shape
    shape[shape.index(build)] = ("S", "haproxy_process_build_info", (("version", "2.6.12-1+deb12u4"),))
    assert shape == golden


def test_same_values_as_haproxy_except_traffic():
    ours, theirs = _comparable(lab_metrics()), _comparable(SAMPLE)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        if o[0] != "S":
            continue
        if o[1] in VOLATILE:
            assert (o[3] == "NaN") == (t[3] == "NaN"), (o, t)
        else:
            assert o[3] == t[3], (o, t)


def test_the_capture_has_what_the_golden_test_skips():
    """Guards the masks: the capture does hold stick tables, and 203 families."""
    assert len(families(SAMPLE)) == 203
    assert set(families(SAMPLE)) & NOT_SUPPORTED == NOT_SUPPORTED
    assert not set(families(lab_metrics())) & NOT_SUPPORTED


# --- the official tools ---------------------------------------------------------------------------

def test_prometheus_client_parses_every_family():
    parser = pytest.importorskip("prometheus_client.parser", reason="pip install prometheus-client")
    text = lab_metrics()
    parsed = {f.name: f for f in parser.text_string_to_metric_families(text)}
    types = {e[1]: e[2] for e in entries(text) if e[0] == "TYPE"}
    assert len(parsed) == len(types)
    for name, mtype in types.items():
        family = parsed[name[:-len("_total")] if mtype == "counter" and name.endswith("_total") else name]
        assert family.type == mtype
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in parsed.values() for s in f.samples}
    assert samples[("haproxy_server_status", (("proxy", "be_app"), ("server", "app3"), ("state", "DOWN")))] == 1
    assert samples[("haproxy_backend_active_servers", (("proxy", "be_app"),))] == 2
    assert math.isnan(samples[("haproxy_server_queue_limit", (("proxy", "be_app"), ("server", "app1")))])
    assert samples[("haproxy_backend_response_time_average_seconds", (("proxy", "be_app"),))] == 0.0


def _promtool(text: str) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is absent (Debian package `prometheus`)")
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                          timeout=30, check=False)


def test_promtool_check_metrics_finds_only_what_it_finds_in_haproxys_output():
    """promtool exits 1 on a parse error, 3 on lint problems. HAProxy's own output has one lint
    problem (a counter named without `_total`, kept for dashboards); ours must have no other."""
    ours, theirs = _promtool(lab_metrics()), _promtool(SAMPLE)
    assert ours.returncode in (0, 3), ours.stderr
    assert theirs.returncode == 3
    assert ours.stderr == theirs.stderr
    assert "haproxy_process_failed_resolutions" in theirs.stderr


# --- values follow traffic and state ----------------------------------------------------------------

def test_counters_move_after_traffic():
    rt = lab_runtime()
    before = lab_metrics(rt=rt)
    fe, be = rt.frontends["fe_http"], rt.backends["be_app"]
    fe.open_session(NOW)
    server = be.acquire(None, NOW)
    assert server is not None and server.name == "app1"
    mid = lab_metrics(rt=rt)
    be.release(server, NOW)
    for counters in (fe.counters, be.counters, server.counters):
        counters.req_tot += 1
        counters.count_status(200)
    fe.close_session()
    after = lab_metrics(rt=rt)
    app1 = {"proxy": "be_app", "server": "app1"}
    assert [sample_value(t, "haproxy_frontend_sessions_total", proxy="fe_http") for t in (before, after)] == ["0", "1"]
    assert [sample_value(t, "haproxy_frontend_current_sessions", proxy="fe_http")
            for t in (before, mid, after)] == ["0", "1", "0"]
    assert [sample_value(t, "haproxy_server_current_sessions", **app1) for t in (before, mid, after)] == ["0", "1", "0"]
    assert [sample_value(t, "haproxy_server_loadbalanced_total", **app1) for t in (before, after)] == ["0", "1"]
    assert [sample_value(t, "haproxy_backend_sessions_total", proxy="be_app") for t in (before, after)] == ["0", "1"]
    assert sample_value(after, "haproxy_frontend_http_requests_total", proxy="fe_http") == "1"
    assert sample_value(after, "haproxy_backend_http_responses_total", proxy="be_app", code="2xx") == "1"
    assert sample_value(after, "haproxy_server_http_responses_total", **app1, code="2xx") == "1"


def _server_state(text: str, server: str) -> str:
    states = [lab for e in entries(text) if e[0] == "S" and e[1] == "haproxy_server_status"
              and ("server", server) in e[2] and e[3] == "1" for lab in e[2] if lab[0] == "state"]
    assert len(states) == 1, states
    return states[0][1]


def test_server_status_follows_drain_maint_and_health():
    rt = lab_runtime()
    be = rt.backends["be_app"]
    app1, app5 = be.server("app1"), be.server("app5")
    assert _server_state(lab_metrics(rt=rt), "app1") == "UP"
    app1.set_admin("drain", NOW)
    be.server_changed(app1, NOW)
    text = lab_metrics(rt=rt)
    assert _server_state(text, "app1") == "DRAIN"
    assert sample_value(text, "haproxy_backend_agg_server_status", proxy="be_app", state="DRAIN") == "1"
    assert sample_value(text, "haproxy_backend_agg_server_status", proxy="be_app", state="UP") == "2"
    app1.set_admin("maint", NOW)
    be.server_changed(app1, NOW)
    text = lab_metrics(rt=rt)
    assert _server_state(text, "app1") == "MAINT"
    # checks paused by MAINT: no check_status/check_code, but the last duration stays (as promex)
    names = {e[1] for e in entries(text) if e[0] == "S" and ("server", "app1") in e[2]}
    assert "haproxy_server_check_status" not in names and "haproxy_server_check_code" not in names
    assert "haproxy_server_check_duration_seconds" in names
    for _ in range(3):
        feed_check(rt, "be_app", "app2", CheckResult("L7STS", 503, 0.002), NOW)
    text = lab_metrics(rt=rt)
    assert _server_state(text, "app2") == "DOWN"
    assert sample_value(text, "haproxy_server_check_status", proxy="be_app", server="app2", state="L7STS") == "1"
    assert sample_value(text, "haproxy_server_check_code", proxy="be_app", server="app2") == "503"
    assert sample_value(text, "haproxy_server_check_duration_seconds", proxy="be_app", server="app2") == "0.002000"
    assert sample_value(text, "haproxy_backend_agg_check_status", proxy="be_app", state="L7STS") == "1"
    assert sample_value(text, "haproxy_backend_status", proxy="be_app", state="UP") == "1"  # app5, the backup
    app5.stopping = True  # `set server be_app/app5 health stopping`
    app5.refresh(NOW)
    be.server_changed(app5, NOW)
    text = lab_metrics(rt=rt)
    assert _server_state(text, "app5") == "NOLB"
    assert sample_value(text, "haproxy_backend_status", proxy="be_app", state="DOWN") == "1"


def test_check_states_are_promex_order():
    assert CHECK_STATES == ("HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT",
                            "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK")


def test_a_stopped_frontend_is_down():
    rt = lab_runtime()
    rt.frontends["fe_http"].enabled = False  # `disable frontend`: paused, still UP for promex
    assert sample_value(lab_metrics(rt=rt), "haproxy_frontend_status", proxy="fe_http", state="UP") == "1"
    rt.frontends["fe_http"].stopped = True
    assert sample_value(lab_metrics(rt=rt), "haproxy_frontend_status", proxy="fe_http", state="DOWN") == "1"


# --- the query string ----------------------------------------------------------------------------------

def _prefixes(text: str) -> list[str]:
    out: list[str] = []
    for name in families(text):
        scope = name.split("_")[1]
        if not out or out[-1] != scope:
            out.append(scope)
    return out


ALL = ["process", "frontend", "listener", "backend", "server"]


@pytest.mark.parametrize(("query", "scopes"), [
    # (query, families' scopes in output order); checked against HAProxy 2.6.12 with curl
    ("", ALL), ("scope=*", ALL), ("scope=*x", ALL), ("foo=bar", ALL), ("no-maint", ALL), ("&&", ALL),
    ("scope+=global", ALL),
    ("scope=global", ["process"]), ("scope=%67lobal", ["process"]), ("scope=&scope=global", ["process"]),
    ("scope=server&scope=backend", ["backend", "server"]), ("scope=listener", ["listener"]),
    ("scope=frontend", ["frontend"]), ("scope=global#scope=bogus", ["process"]), ("scope=global&#", ["process"]),
    ("scope=", []), ("scope=global&scope=", []), ("scope=%00", []), ("scope=sticktable", []),
])
def test_scope_selection(query: str, scopes: list[str]) -> None:
    assert _prefixes(lab_metrics(query)) == scopes


@pytest.mark.parametrize("query", ["scope", "scope=bogus", "scope=Global", "scope=global+", "scope=a=b",
                                   "foo=b=c", "scope=glob%zz", "%zz=1", "scope=global&foo%"])
def test_queries_haproxy_answers_400(query: str) -> None:
    with pytest.raises(BadQuery):
        parse_query(query)


def test_no_maint_hides_servers_in_maintenance_but_not_from_the_counts():
    text = lab_metrics("no-maint")
    assert not [e for e in entries(text) if e[0] == "S" and ("server", "app4") in e[2]]
    assert [e for e in entries(text) if e[0] == "S" and ("server", "app3") in e[2]]
    assert sample_value(text, "haproxy_backend_agg_server_status", proxy="be_app", state="MAINT") == "1"


def test_tcp_proxies_have_no_http_families():
    text = lab_metrics()
    http = {"haproxy_frontend_http_requests_total", "haproxy_frontend_http_responses_total",
            "haproxy_backend_http_requests_total", "haproxy_server_http_responses_total",
            "haproxy_frontend_intercepted_requests_total", "haproxy_backend_http_cache_hits_total"}
    assert not [e for e in entries(text) if e[0] == "S" and e[1] in http and ("proxy", "tcp_svc") in e[2]]
    assert [e for e in entries(text) if e[0] == "S" and e[1] in http and ("proxy", "fe_http") in e[2]]


# --- the service -----------------------------------------------------------------------------------------

def test_service_reply_is_haproxys():
    rt = lab_runtime()
    status, headers, body = PrometheusService().respond("/metrics?scope=global", rt, NOW, INFO)
    assert status == 200
    assert headers == [(b"cache-control", b"no-cache"), (b"content-type", b"text/plain; version=0.0.4"),
                       (b"transfer-encoding", b"chunked")]
    assert body.decode() == lab_metrics("scope=global", rt)
    assert body.startswith(b"# HELP haproxy_process_nbthread Number of started threads (global.nbthread)\n")


def test_service_head_has_no_body():
    status, headers, body = PrometheusService().respond("/metrics", lab_runtime(), NOW, INFO, method="HEAD")
    assert (status, body) == (200, b"")
    assert (b"content-type", b"text/plain; version=0.0.4") in headers


def test_service_bad_query_is_haproxys_400():
    status, headers, body = PrometheusService().respond("/metrics?scope=bogus", lab_runtime(), NOW, INFO)
    assert status == 400
    assert headers == [(b"content-length", b"90"), (b"cache-control", b"no-cache"), (b"content-type", b"text/html"),
                       (b"connection", b"close")]
    assert body == b"<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"


def test_the_lab_config_declares_the_service():
    config = parse((GOLDEN / "prometheus_lab.cfg").read_text(), "prometheus_lab.cfg", env={})
    (stats,) = [p for p in config.proxies if p.name == "stats"]
    (svc,) = stats.http_services
    assert (svc.name, svc.file, svc.line, svc.cond.unless) == ("prometheus-exporter", "prometheus_lab.cfg", 54, False)


def test_the_config_knows_the_services_the_data_plane_serves():
    from trio_lb.config.keywords import http_rules
    from trio_lb.stats.prometheus import SERVICES

    assert set(http_rules.SERVICES) == set(SERVICES)
