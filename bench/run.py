#!/usr/bin/env python3
"""Benchmark trio-lb against real HAProxy 2.6 with the same config, backends and load.

    python3 bench/run.py [--duration 10] [--connections 50] [--threads 2]
                         [--only haproxy|trio-lb] [--tcp] [--json out.json]

How it works: two single-process nginx backends answer `200 "ok\\n"` on free loopback ports
(picked by binding port 0 and releasing it). For each target in turn the harness renders
bench/<target>.cfg.tmpl (mode http keep-alive or mode tcp, nbthread 1, roundrobin over the two
nginx), starts the load balancer in the foreground, polls its port until it accepts, sends a few
sanity requests through it (status, body, both backends reached), optionally warms it up, then
runs `wrk --latency` and parses req/s and the p50/p99 of wrk's latency distribution. With
`taskset` and at least two usable CPUs the load balancer is pinned to the first CPU and wrk and
nginx to the others, so a single-threaded LB gets one whole core and the load generator cannot
steal it. Every child is registered in `Processes` and stopped by PID in a `finally` (SIGTERM,
then SIGKILL); on Linux children also get PR_SET_PDEATHSIG so they die if the harness is killed.
This is a tool, not part of the trio_lb package, so it uses subprocess and sockets directly.
"""

from __future__ import annotations

import argparse
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
TARGETS = ("haproxy", "trio-lb")
LOCALHOST = "127.0.0.1"


class BenchError(Exception):
    """A target could not be benchmarked (did not start, failed the sanity check, wrk failed)."""


# --------------------------------------------------------------------------- options & results


@dataclass
class BenchOptions:
    duration: float = 10.0
    connections: int = 50
    threads: int = 2
    targets: tuple[str, ...] = TARGETS
    mode: str = "http"  # "http" | "tcp"
    tls: bool = False  # both load balancers terminate TLS (same certificate, default ciphers)
    new_conns: bool = False  # every request on a new connection (with --tls: the handshake rate)
    warmup: float = 1.0  # seconds of unmeasured wrk load before each measured run (0 = none)
    pin: bool = True  # use taskset when available
    python: str = sys.executable  # interpreter that runs `-m trio_lb`
    start_timeout: float = 15.0  # seconds to wait for a process to accept connections
    keep_tmp: bool = False


@dataclass
class WrkResult:
    requests_per_sec: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    duration_s: float
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect/read/write/timeout
    non_2xx_3xx: int = 0

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + self.non_2xx_3xx


@dataclass
class TargetResult:
    target: str
    ok: bool
    wrk: WrkResult | None = None
    error: str = ""
    backends_seen: list[str] = field(default_factory=list)
    wrk_output: str = ""
    admin_ms: list[float] = field(default_factory=list)  # `show stat` round trips during the load

    def admin_summary(self) -> str:
        """p50 and max of the admin socket's `show stat` latency while wrk ran."""
        if not self.admin_ms:
            return "-"
        ordered = sorted(self.admin_ms)
        return f"{ordered[len(ordered) // 2]:.1f}/{ordered[-1]:.1f}ms"


@dataclass
class BenchReport:
    options: BenchOptions
    pinning: str
    results: dict[str, TargetResult]

    def ratio(self) -> dict[str, float] | None:
        """trio-lb / haproxy for req/s, p50 and p99, when both ran."""
        h, t = self.results.get("haproxy"), self.results.get("trio-lb")
        if not (h and t and h.wrk and t.wrk):
            return None
        return {
            "req_per_sec": _div(t.wrk.requests_per_sec, h.wrk.requests_per_sec),
            "p50": _div(t.wrk.p50_ms, h.wrk.p50_ms),
            "p99": _div(t.wrk.p99_ms, h.wrk.p99_ms),
        }

    def to_json(self) -> dict:
        out: dict = {
            "options": asdict(self.options),
            "pinning": self.pinning,
            "results": {},
            "ratio_trio_lb_over_haproxy": self.ratio(),
        }
        for name, r in self.results.items():
            entry = asdict(r)
            if r.wrk is not None:
                entry["wrk"]["errors"] = r.wrk.errors
            out["results"][name] = entry
        return out


def _div(a: float, b: float) -> float:
    return a / b if b else float("nan")


# --------------------------------------------------------------------------- wrk output parsing

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL_RE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_SOCKET_ERRORS_RE = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def parse_wrk(text: str) -> WrkResult:
    """Parse `wrk --latency` stdout. Raises BenchError if a needed line is missing."""
    percentiles = {
        float(p): float(v) * _TIME_UNITS_MS[u] for p, v, u in _PERCENTILE_RE.findall(text)
    }
    rps = _RPS_RE.search(text)
    total = _TOTAL_RE.search(text)
    missing = [str(p) for p in (50, 75, 90, 99) if float(p) not in percentiles]
    if rps is None or total is None or missing:
        raise BenchError(
            "cannot parse wrk output"
            + (f" (no {'/'.join(missing)}% latency line)" if missing else "")
            + ":\n"
            + text
        )
    sock = _SOCKET_ERRORS_RE.search(text)
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()))) if sock else {}
    )
    non2xx = _NON_2XX_RE.search(text)
    return WrkResult(
        requests_per_sec=float(rps.group(1)),
        p50_ms=percentiles[50.0],
        p75_ms=percentiles[75.0],
        p90_ms=percentiles[90.0],
        p99_ms=percentiles[99.0],
        requests=int(total.group(1)),
        duration_s=float(total.group(2)) * _TIME_UNITS_MS[total.group(3)] / 1000.0,
        socket_errors=socket_errors,
        non_2xx_3xx=int(non2xx.group(1)) if non2xx else 0,
    )


# --------------------------------------------------------------------------- processes


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Processes:
    """Every child the harness starts, stopped by PID (reverse order) when the block exits."""

    def __init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen]] = []
        self._logs: list = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path | None = None,
        cpus: Sequence[int] | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        capture: bool = False,
    ) -> subprocess.Popen:
        if cpus:
            argv = ["taskset", "-c", ",".join(map(str, cpus)), *argv]
        if capture:
            stdout, stderr = subprocess.PIPE, subprocess.STDOUT
        elif log_path is not None:
            log = open(log_path, "wb")
            self._logs.append(log)
            stdout = stderr = log
        else:
            stdout = stderr = subprocess.DEVNULL
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=cwd,
            env=env,
            preexec_fn=_set_pdeathsig if sys.platform.startswith("linux") else None,
        )
        self._procs.append((name, proc))
        return proc

    def pids(self) -> list[int]:
        return [p.pid for _, p in self._procs]

    def stop(self, proc: subprocess.Popen, grace: float = 3.0) -> None:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        if proc.stdout is not None:
            proc.stdout.close()
        self._procs = [(n, p) for n, p in self._procs if p is not proc]

    def stop_all(self) -> None:
        try:
            for _, proc in reversed(list(self._procs)):
                self.stop(proc)
        finally:
            for log in self._logs:
                log.close()
            self._logs.clear()


def free_port() -> int:
    """A port that was free a moment ago (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, port: int, deadline: float, what: str, log: Path | None) -> None:
    """Poll-connect until `port` accepts; fail early if `proc` exits, late at `deadline`."""
    while True:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with status {proc.returncode}{_log_tail(log)}")
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"{what} not accepting on port {port} after waiting{_log_tail(log)}")
        time.sleep(0.02)


def _log_tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return ("; its output:\n    " + "\n    ".join(tail)) if tail else ""


# --------------------------------------------------------------------------- pinning


@dataclass
class Pinning:
    lb: list[int] | None = None
    load: list[int] | None = None  # wrk and nginx

    def describe(self) -> str:
        if self.lb is None:
            return "no CPU pinning"
        return (
            f"pinned with taskset: load balancer on cpu {_cpus(self.lb)}, "
            f"wrk and nginx on cpu {_cpus(self.load or [])}"
        )


def _cpus(cpus: Sequence[int]) -> str:
    return ",".join(map(str, cpus))


def choose_pinning(enabled: bool) -> tuple[Pinning, str]:
    """LB alone on the first usable CPU, everything else on the rest; explain why not if not."""
    if not enabled:
        return Pinning(), "no CPU pinning (--no-pin)"
    if shutil.which("taskset") is None:
        return Pinning(), "no CPU pinning (taskset not found)"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return Pinning(), "no CPU pinning (only one usable CPU)"
    p = Pinning(lb=cpus[:1], load=cpus[1:])
    return p, p.describe()


# --------------------------------------------------------------------------- configs


def render(template: str, **values: object) -> str:
    return string.Template((BENCH_DIR / template).read_text()).substitute(
        {k: str(v) for k, v in values.items()}
    )


def lb_config(target: str, mode: str, lb_port: int, server_ports: Sequence[int], admin_sock: Path,
              cert: Path | None = None) -> str:
    mode_options = "    option http-keep-alive" if mode == "http" else ""
    return render(
        f"{target}.cfg.tmpl",
        admin_sock=admin_sock,
        bind_options=f" ssl crt {cert}" if cert is not None else "",
        mode=mode,
        mode_options=mode_options,
        lb_port=lb_port,
        server1_port=server_ports[0],
        server2_port=server_ports[1],
    )


def lb_command(target: str, cfg: Path, python: str) -> list[str]:
    if target == "haproxy":
        return ["haproxy", "-db", "-f", str(cfg)]
    return [python, "-m", "trio_lb", "-f", str(cfg)]


def lb_env(target: str) -> dict[str, str]:
    env = dict(os.environ)
    if target == "trio-lb":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def check_runnable(target: str, python: str) -> None:
    """`haproxy -v` / `python -m trio_lb -v` must succeed before we try to benchmark it."""
    argv = ["haproxy", "-v"] if target == "haproxy" else [python, "-m", "trio_lb", "-v"]
    if shutil.which(argv[0]) is None:
        raise BenchError(f"{argv[0]} not found")
    try:
        r = subprocess.run(
            argv, capture_output=True, cwd=REPO_ROOT, env=lb_env(target), timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(argv)} did not exit within 30s") from None
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()[-3:]
        raise BenchError(f"{target} not runnable (`{' '.join(argv)}` exited {r.returncode}: "
                         + " / ".join(tail) + ")")


# --------------------------------------------------------------------------- the steps


def start_backends(procs: Processes, tmp: Path, cpus: Sequence[int] | None, start_timeout: float) -> list[int]:
    """Two nginx on free loopback ports; returns the ports once both accept."""
    if shutil.which("nginx") is None:
        raise BenchError("nginx not found")
    ports = []
    for name in ("s1", "s2"):
        port = free_port()
        d = tmp / f"nginx-{name}"
        d.mkdir()
        conf = d / "nginx.conf"
        conf.write_text(render("nginx.conf.tmpl", dir=d, port=port, name=name))
        log = d / "stderr.log"
        proc = procs.start(
            f"nginx-{name}",
            ["nginx", "-p", f"{d}/", "-e", str(d / "error.log"), "-c", str(conf)],
            log_path=log,
            cpus=cpus,
        )
        wait_listening(proc, port, time.monotonic() + start_timeout, f"nginx {name}", d / "error.log")
        ports.append(port)
    return ports


def make_cert(tmp: Path) -> Path:
    """A self-signed certificate and its key in one PEM bundle (the form both LBs read)."""
    pem = tmp / "bench.pem"
    if not pem.exists():
        key, crt = tmp / "bench.key", tmp / "bench.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=bench.local", "-keyout", str(key), "-out", str(crt)],
                       check=True, capture_output=True)
        pem.write_bytes(crt.read_bytes() + key.read_bytes())
    return pem


def sanity_check(port: int, tries: int = 4, tls: bool = False) -> list[str]:
    """A few GETs on fresh connections: each must be 200 "ok\\n"; returns the backends seen."""
    seen: list[str] = []
    for _ in range(tries):
        if tls:
            conn = http.client.HTTPSConnection(LOCALHOST, port, timeout=5, context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(LOCALHOST, port, timeout=5)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise BenchError(f"sanity request failed: {e!r}") from None
        finally:
            conn.close()
        if resp.status != 200 or body != b"ok\n":
            raise BenchError(f"sanity request got {resp.status} {body[:80]!r}, expected 200 b'ok\\n'")
        backend = resp.getheader("X-Backend", "?")
        if backend not in seen:
            seen.append(backend)
    return sorted(seen)


def run_wrk(procs: Processes, port: int, opts: BenchOptions, duration: float, cpus: Sequence[int] | None) -> str:
    if shutil.which("wrk") is None:
        raise BenchError("wrk not found")
    secs = max(1, round(duration))
    scheme = "https" if opts.tls else "http"
    argv = ["wrk", f"-t{opts.threads}", f"-c{opts.connections}", f"-d{secs}s", "--latency",
            *(["-H", "Connection: close"] if opts.new_conns else []), f"{scheme}://{LOCALHOST}:{port}/"]
    proc = procs.start("wrk", argv, cpus=cpus, capture=True)
    try:
        out, _ = proc.communicate(timeout=secs + 30)
    except subprocess.TimeoutExpired:
        raise BenchError("wrk did not finish in time") from None
    finally:
        procs.stop(proc)
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise BenchError(f"wrk exited {proc.returncode}:\n{text}")
    return text


class AdminProbe:
    """While the load runs, ask the admin socket for `show stat` every PERIOD seconds and time
    the whole answer: the admin plane must stay responsive under full load."""

    PERIOD = 0.2

    def __init__(self, path: Path, out: list[float]) -> None:
        self.path, self.out = path, out
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AdminProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stop.wait(self.PERIOD):
            t0 = time.monotonic()
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(10)
                    s.connect(str(self.path))
                    s.sendall(b"show stat\n")
                    while s.recv(65536):
                        pass
            except OSError:
                continue
            self.out.append((time.monotonic() - t0) * 1000)


def bench_target(
    target: str, opts: BenchOptions, procs: Processes, tmp: Path, server_ports: Sequence[int],
    pin: Pinning, say: Callable[[str], None],
) -> TargetResult:
    """Start one load balancer, check it, load it, stop it. Errors become a failed result."""
    result = TargetResult(target=target, ok=False)
    lb = None
    try:
        check_runnable(target, opts.python)
        port = free_port()
        cfg = tmp / f"{target}.cfg"
        admin_sock = tmp / f"{target}.sock"
        cert = make_cert(tmp) if opts.tls else None
        cfg.write_text(lb_config(target, opts.mode, port, server_ports, admin_sock, cert))
        log = tmp / f"{target}.log"
        say(f"starting {target} on 127.0.0.1:{port} ({opts.mode} mode)")
        lb = procs.start(target, lb_command(target, cfg, opts.python), log_path=log, cpus=pin.lb,
                         cwd=REPO_ROOT, env=lb_env(target))
        wait_listening(lb, port, time.monotonic() + opts.start_timeout, target, log)
        result.backends_seen = sanity_check(port, tls=opts.tls)
        if len(result.backends_seen) < 2:
            say(f"warning: {target} sent every sanity request to {result.backends_seen}")
        if opts.warmup > 0:
            say(f"warming up {target} for {opts.warmup:g}s")
            run_wrk(procs, port, opts, opts.warmup, pin.load)
        say(f"running wrk against {target} for {max(1, round(opts.duration))}s")
        with AdminProbe(admin_sock, result.admin_ms):
            result.wrk_output = run_wrk(procs, port, opts, opts.duration, pin.load)
        result.wrk = parse_wrk(result.wrk_output)
        if lb.poll() is not None:
            raise BenchError(f"{target} exited during the run (status {lb.returncode}){_log_tail(log)}")
        result.ok = True
    except BenchError as e:
        result.error = str(e)
        say(f"{target}: FAILED: {e}")
    finally:
        if lb is not None:
            procs.stop(lb)
    return result


def run_benchmark(opts: BenchOptions, say: Callable[[str], None] = print) -> BenchReport:
    """Backends up, each target in turn, everything stopped on the way out (even on Ctrl-C)."""
    pin, pin_text = choose_pinning(opts.pin)
    say(pin_text)
    tmp = Path(tempfile.mkdtemp(prefix="trio-lb-bench-"))
    try:
        with Processes() as procs:
            server_ports = start_backends(procs, tmp, pin.load, opts.start_timeout)
            say(f"nginx backends on 127.0.0.1:{server_ports[0]} and :{server_ports[1]}")
            results = {
                t: bench_target(t, opts, procs, tmp, server_ports, pin, say) for t in opts.targets
            }
    finally:
        if opts.keep_tmp:
            say(f"kept temp dir {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return BenchReport(options=opts, pinning=pin_text, results=results)


# --------------------------------------------------------------------------- output


def format_table(report: BenchReport) -> str:
    rows = [("target", "req/s", "p50", "p99", "errors", "show stat p50/max")]
    notes = []
    for name, r in report.results.items():
        if r.wrk is None:
            rows.append((name, "FAILED", "-", "-", "-", "-"))
            first = r.error.strip().splitlines()[0] if r.error.strip() else "unknown error"
            notes.append(f"{name} failed: {first[:200]}")
        else:
            w = r.wrk
            rows.append((name, f"{w.requests_per_sec:.0f}", _ms(w.p50_ms), _ms(w.p99_ms), str(w.errors),
                         r.admin_summary()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
             for row in rows]
    ratio = report.ratio()
    if ratio is not None:
        lines.append(
            f"ratio trio-lb/haproxy: req/s {ratio['req_per_sec']:.2f}, p50 {ratio['p50']:.2f}, "
            f"p99 {ratio['p99']:.2f}  (req/s: higher is better; latency: lower is better)"
        )
    return "\n".join(lines + notes)


def _ms(v: float) -> str:
    return f"{v:.2f}ms"


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> tuple[BenchOptions, str | None]:
    ap = argparse.ArgumentParser(description="Benchmark trio-lb against HAProxy 2.6 with wrk.")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of measured load (default 10)")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--only", choices=TARGETS, help="benchmark only this target")
    ap.add_argument("--tcp", action="store_true", help="mode tcp on both load balancers instead of mode http")
    ap.add_argument("--tls", action="store_true", help="terminate TLS on both (HTTPS keep-alive req/s)")
    ap.add_argument("--new-conns", action="store_true",
                    help="a new connection per request (with --tls: the TLS handshake rate)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds of load first (default 1, 0 = none)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs with taskset")
    ap.add_argument("--python", default=sys.executable, help="interpreter for `-m trio_lb` (default: this one)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (configs, logs) for debugging")
    a = ap.parse_args(argv)
    if a.connections < 1 or a.threads < 1 or a.threads > a.connections:
        ap.error("need 1 <= --threads <= --connections")
    if a.duration < 1:
        ap.error("--duration must be at least 1 second (wrk's resolution)")
    opts = BenchOptions(
        duration=a.duration, connections=a.connections, threads=a.threads,
        targets=(a.only,) if a.only else TARGETS, mode="tcp" if a.tcp else "http", tls=a.tls, new_conns=a.new_conns,
        warmup=a.warmup, pin=not a.no_pin, python=a.python, keep_tmp=a.keep_tmp,
    )
    return opts, a.json


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    opts, json_path = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _raise_exit)  # so `finally` cleanup also runs on kill <pid>
    signal.signal(signal.SIGHUP, _raise_exit)
    try:
        report = run_benchmark(opts, say=lambda s: print(s, file=sys.stderr, flush=True))
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted, every process stopped", file=sys.stderr)
        return 130
    print(format_table(report))
    if json_path:
        out = Path(json_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_json(), indent=2) + "\n")
        print(f"results written to {out}", file=sys.stderr)
    return 0 if all(r.ok for r in report.results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
