#!/usr/bin/env python3
"""Instructions per proxied HTTP request, counted by callgrind: a stable CPU-cost measure.

Wall-clock req/s on a shared VM swings by up to 2x between runs; valgrind's instruction count
for the same code and the same requests is repeatable (about +-1%). This starts one nginx
backend pair (as bench/run.py does), runs trio-lb under `valgrind --tool=callgrind`, sends
100 warm-up requests, dumps, sends N keep-alive requests over 10 connections, dumps again, and
prints the second dump's total divided by N.

    python3 bench/instructions.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import Processes, free_port, start_backends  # noqa: E402  (the harness's own helpers)

CONFIG = """
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:{b1}
    server s2 127.0.0.1:{b2}
"""
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"


def drive(port: int, requests: int, conns: int = 10) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
    for _ in range(requests // conns):
        for s in socks:
            s.sendall(REQUEST)
        for s in socks:
            buf = b""
            while b"\r\n\r\n" not in buf or not buf.endswith(b"\n"):
                buf += s.recv(65536)
    for s in socks:
        s.close()


def total(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("valgrind is needed (apt-get install valgrind)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="trio-lb-instr-"))
    with Processes() as procs:
        b1, b2 = start_backends(procs, tmp, None, 10.0)
        port = free_port()
        cfg = tmp / "lb.cfg"
        cfg.write_text(CONFIG.format(port=port, b1=b1, b2=b2))
        out = tmp / "cg.out"
        python = os.path.realpath(sys.executable)
        env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        lb = procs.start("trio-lb", ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python, "-m",
                                     "trio_lb", "-q", "-f", str(cfg)], env=env)
        drive(port, 100)
        subprocess.run(["callgrind_control", "-d", str(lb.pid)], capture_output=True, check=True)
        drive(port, args.requests)
        subprocess.run(["callgrind_control", "-d", str(lb.pid)], capture_output=True, check=True)
        per_request = total(Path(f"{out}.2")) // args.requests
    print(f"trio-lb: {per_request} instructions per proxied request ({args.requests} requests, 10 connections)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
