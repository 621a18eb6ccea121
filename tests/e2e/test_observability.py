"""What an operator's monitoring sees, over real HTTP: the Prometheus exporter on /metrics
(parsed by the official client, checked by promtool), the monitor URI, and the stats page's
admin form changing a server's state (only with credentials)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.support import lb_port, socat, start_backend, start_lb


def config(sock: Path, port1: int, port2: int) -> str:
    return f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend www
    bind 127.0.0.1:0
    monitor-uri /healthz
    monitor fail if {{ hdr(x-fail) -m found }}
    http-request deny if {{ path /metrics }} {{ hdr(x-outside) -m found }}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    default_backend web
backend web
    server web1 127.0.0.1:{port1}
    server web2 127.0.0.1:{port2}
listen stats
    bind 127.0.0.1:0
    stats enable
    stats uri /stats
    stats auth admin:secret
    stats admin if TRUE
"""


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def _setup(nursery, tmp_path):
    b1 = await start_backend(nursery, "web1")
    b2 = await start_backend(nursery, "web2")
    sock = tmp_path / "admin.sock"
    lb = await start_lb(nursery, config(sock, b1.port, b2.port))
    return lb, sock


async def test_metrics_follow_traffic_and_state(nursery, tmp_path):
    with trio.fail_after(20):
        lb, sock = await _setup(nursery, tmp_path)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'www')}") as client:
            first = await client.get("/metrics")
            assert first.status_code == 200 and first.headers["content-type"] == "text/plain; version=0.0.4"
            before = samples(first.text)
            for _ in range(5):
                assert (await client.get("/")).status_code == 200
            assert await socat(sock, "set server web/web1 state drain\n") == "\n"
            after = samples((await client.get("/metrics")).text)
        key = ("haproxy_backend_http_responses_total", (("code", "2xx"), ("proxy", "web")))
        assert after[key] - before[key] == 5
        requests = ("haproxy_frontend_http_requests_total", (("proxy", "www"),))
        assert after[requests] - before[requests] == 6  # five requests and the first scrape
        drain = ("haproxy_server_status", (("proxy", "web"), ("server", "web1"), ("state", "DRAIN")))
        assert before[drain] == 0 and after[drain] == 1
        if shutil.which("promtool"):
            check = subprocess.run(["promtool", "check", "metrics"], input=first.content, capture_output=True)
            # the one lint HAProxy's own output also gets (a counter named without _total)
            problems = [line for line in check.stderr.decode().splitlines() if "haproxy_process_failed_resolutions"
                        not in line and line.strip()]
            assert problems == [], check.stderr.decode()


async def test_a_deny_rule_before_use_service_protects_the_metrics(nursery, tmp_path):
    with trio.fail_after(20):
        lb, _ = await _setup(nursery, tmp_path)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'www')}") as client:
            assert (await client.get("/metrics", headers={"x-outside": "1"})).status_code == 403
            assert (await client.get("/metrics")).status_code == 200


async def test_monitor_uri_answers_for_the_load_balancer_itself(nursery, tmp_path):
    with trio.fail_after(20):
        lb, _ = await _setup(nursery, tmp_path)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'www')}") as client:
            ok = await client.get("/healthz")
            assert ok.status_code == 200 and "Service ready." in ok.text
            failing = await client.get("/healthz", headers={"x-fail": "1"})
            assert failing.status_code == 503
        # answered by the load balancer: nothing reached a backend, both requests were intercepted
        assert lb.runtime.backends["web"].counters.req_tot == 0
        assert lb.runtime.frontends["www"].counters.intercepted == 2


async def test_stats_admin_form_needs_credentials_and_drains_a_server(nursery, tmp_path):
    with trio.fail_after(20):
        lb, _ = await _setup(nursery, tmp_path)
        web1 = lb.runtime.backends["web"].server("web1")
        form = {"s": "web1", "action": "drain", "b": "web"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'stats')}") as client:
            refused = await client.post("/stats", data=form)
            assert refused.status_code == 401 and web1.admin == "ready"
            bad = await client.post("/stats", data=form, auth=("admin", "wrong"))
            assert bad.status_code == 401 and web1.admin == "ready"
            done = await client.post("/stats", data=form, auth=("admin", "secret"))
            assert done.status_code == 303 and done.headers["location"] == "/stats;st=DONE"
            assert web1.admin == "drain"
            page = await client.get("/stats;st=DONE", auth=("admin", "secret"))
            assert page.status_code == 200 and "web1" in page.text


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_is_there_when_ci_installs_it():
    assert subprocess.run(["promtool", "--version"], capture_output=True).returncode == 0
