"""The command line as an operator uses it: -c, -v, -q, -p, -D, signals, bind errors.
Real processes (`python -m trio_lb`), compared with `haproxy -c` where it is installed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def trio_lb(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trio_lb", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


def mask_pid(text: str) -> str:
    return re.sub(r"\(\d+\)", "(PID)", text)


GOOD = """
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    server s1 127.0.0.1:8081
"""

BAD = """
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:8080
    bnd 127.0.0.1:8081
    default_backend nosuch
backend b
    server s1 127.0.0.1:8081 weight x
"""

WARN = """
defaults
    mode http
frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    server s1 127.0.0.1:8081
"""


def test_check_valid(tmp_path):
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(GOOD)
    r = trio_lb("-c", "-f", str(cfg))
    assert (r.returncode, r.stdout, r.stderr) == (0, "Configuration file is valid\n", "")
    r = trio_lb("-c", "-q", "-f", str(cfg))
    assert (r.returncode, r.stdout) == (0, "")


def test_check_errors_name_file_and_line(tmp_path):
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(BAD)
    r = trio_lb("-c", "-f", str(cfg))
    assert r.returncode == 1
    assert r.stdout == ""
    assert mask_pid(r.stderr).splitlines() == [
        f"[ALERT]    (PID) : config : parsing [{cfg}:9] : unknown keyword 'bnd' in 'frontend' section; "
        "did you mean 'bind' maybe ?",
        f"[ALERT]    (PID) : config : [{cfg}:12] : 'server b/s1' : weight of server s1 expects an "
        "integer between 0 and 256, found 'x'.",
        f"[ALERT]    (PID) : config : Error(s) found in configuration file : {cfg}",
        "[ALERT]    (PID) : config : Fatal errors found in configuration.",
    ]


def test_check_reference_error_and_missing_file(tmp_path):
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(GOOD.replace("default_backend b", "default_backend nosuch"))
    r = trio_lb("-c", "-f", str(cfg))
    assert r.returncode == 1
    assert mask_pid(r.stderr).splitlines() == [
        "[ALERT]    (PID) : config : Proxy 'f': unable to find required default_backend: 'nosuch'.",
        "[ALERT]    (PID) : config : Fatal errors found in configuration.",
    ]
    r = trio_lb("-c", "-f", str(tmp_path / "missing.cfg"))
    assert r.returncode == 1
    assert mask_pid(r.stderr) == (f"[ALERT]    (PID) : config : Cannot open configuration file/directory "
                                  f"{tmp_path}/missing.cfg : No such file or directory\n")


def test_check_warnings_still_valid(tmp_path):
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(WARN)
    r = trio_lb("-c", "-f", str(cfg))
    assert r.returncode == 0
    assert r.stdout == "Warnings were found.\nConfiguration file is valid\n"
    assert "[WARNING]  (" in r.stderr and "missing timeouts for frontend 'f'" in r.stderr


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")
@pytest.mark.parametrize("text", [BAD.replace(" weight x", ""), WARN,
                                  GOOD.replace("default_backend b", "default_backend nosuch")])
def test_check_output_matches_haproxy(tmp_path, text):
    """Line for line the same as `haproxy -c`, once pids and haproxy's NOTICE lines are set aside."""
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(text)
    ours = trio_lb("-c", "-f", str(cfg))
    theirs = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert ours.returncode == theirs.returncode
    assert ours.stdout == theirs.stdout

    def lines(stderr: str) -> list[str]:
        return [ln for ln in mask_pid(stderr).splitlines() if not ln.startswith("[NOTICE]")]

    assert lines(ours.stderr) == lines(theirs.stderr)


def test_version():
    r = trio_lb("-v")
    assert r.returncode == 0 and r.stdout.startswith("trio-lb version ")


def test_bind_error_is_an_alert(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(GOOD.replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
    try:
        r = trio_lb("-f", str(cfg))
    finally:
        taken.close()
    assert r.returncode == 1
    assert mask_pid(r.stderr) == (f"[ALERT]    (PID) : Starting frontend f: cannot bind socket "
                                  f"(Address already in use) [127.0.0.1:{port}]\n")


def _wait_for_path(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)


def _http_over_unix(path: Path) -> bytes:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(str(path))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    s.close()
    return data


def test_daemon_pidfile_and_sigterm(tmp_path):
    """-D detaches once listening, -p writes the pid; SIGTERM stops it and removes the pidfile."""
    sock = tmp_path / "fe.sock"
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(GOOD.replace("bind 127.0.0.1:8080", f"bind {sock}").replace("default_backend b", ""))
    pidfile = tmp_path / "lb.pid"
    r = trio_lb("-D", "-p", str(pidfile), "-f", str(cfg))
    assert r.returncode == 0
    pid = int(pidfile.read_text())
    try:
        assert _http_over_unix(sock).startswith(b"HTTP/1.1 503 ")  # listening, no backend: 503
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pidfile.exists()
