"""Smoke tests of the benchmark harness (bench/run.py): its parser, its table, and one real
1-second run against HAProxy alone. They test the harness, never the performance."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def _load_harness():
    spec = importlib.util.spec_from_file_location("trio_lb_bench_run", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


bench = _load_harness()

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:40001/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.32ms    1.45ms  21.94ms   95.32%
    Req/Sec    20.11k     3.65k   27.58k    72.50%
  Latency Distribution
     50%  850.00us
     75%    1.35ms
     90%    1.86ms
     99%    1.20s
  40016 requests in 1.00s, 5.38MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  39968.46
Transfer/sec:      5.37MB
"""


def test_parse_wrk_units_and_errors():
    r = bench.parse_wrk(WRK_OUTPUT)
    assert r.requests_per_sec == 39968.46
    assert r.p50_ms == pytest.approx(0.85)
    assert r.p75_ms == pytest.approx(1.35)
    assert r.p99_ms == pytest.approx(1200.0)
    assert r.requests == 40016
    assert r.duration_s == pytest.approx(1.0)
    assert r.socket_errors == {"connect": 0, "read": 3, "write": 1, "timeout": 2}
    assert r.non_2xx_3xx == 7
    assert r.errors == 13


def test_parse_wrk_rejects_output_without_distribution():
    truncated = WRK_OUTPUT.replace("     99%    1.20s\n", "")
    with pytest.raises(bench.BenchError, match="99"):
        bench.parse_wrk(truncated)


def test_table_and_ratio():
    h = bench.TargetResult("haproxy", True, bench.parse_wrk(WRK_OUTPUT))
    t_wrk = bench.parse_wrk(WRK_OUTPUT.replace("39968.46", "19984.23").replace("850.00us", "1.70ms"))
    t = bench.TargetResult("trio-lb", True, t_wrk, admin_ms=[30.0, 10.0, 50.0])
    report = bench.BenchReport(bench.BenchOptions(), "no CPU pinning", {"haproxy": h, "trio-lb": t})
    assert report.ratio() == pytest.approx({"req_per_sec": 0.5, "p50": 2.0, "p99": 1.0})
    lines = bench.format_table(report).splitlines()
    assert lines[0].split() == ["target", "req/s", "p50", "p99", "errors", "show", "stat", "p50/max"]
    assert lines[1].split()[:4] == ["haproxy", "39968", "0.85ms", "1200.00ms"]
    assert lines[1].split()[-1] == "-" and lines[2].split()[-1] == "30.0/50.0ms"
    assert lines[3].startswith("ratio trio-lb/haproxy: req/s 0.50, p50 2.00, p99 1.00")


def test_failed_target_has_no_ratio():
    h = bench.TargetResult("haproxy", True, bench.parse_wrk(WRK_OUTPUT))
    t = bench.TargetResult("trio-lb", False, error="trio-lb exited with status 1")
    report = bench.BenchReport(bench.BenchOptions(), "no CPU pinning", {"haproxy": h, "trio-lb": t})
    assert report.ratio() is None
    text = bench.format_table(report)
    assert "FAILED" in text and "trio-lb failed: trio-lb exited with status 1" in text
    assert report.to_json()["ratio_trio_lb_over_haproxy"] is None


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("haproxy", "nginx", "wrk")),
    reason="needs haproxy, nginx and wrk",
)
def test_one_second_run_against_haproxy(monkeypatch):
    opts = bench.BenchOptions(
        duration=1, connections=4, threads=1, targets=("haproxy",), warmup=0, pin=False,
        start_timeout=10,
    )
    started: list[int] = []
    real_start = bench.Processes.start

    def recording_start(self, *args, **kwargs):
        proc = real_start(self, *args, **kwargs)
        started.append(proc.pid)
        return proc

    monkeypatch.setattr(bench.Processes, "start", recording_start)
    report = bench.run_benchmark(opts, say=lambda s: None)

    result = report.results["haproxy"]
    assert result.ok, result.error
    assert result.backends_seen == ["s1", "s2"]  # roundrobin reached both nginx
    w = result.wrk
    assert w.requests_per_sec > 0 and w.requests > 0
    assert 0 < w.p50_ms <= w.p99_ms
    assert w.errors == 0
    assert len(started) == 4  # two nginx, haproxy, wrk
    for pid in started:  # every child was stopped and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
