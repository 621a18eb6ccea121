"""lbctl against a real HAProxy 2.6, started by the test in tmp space: framing (prompt mode, `;` lines,
the no-LF error quirk, reconnects), error detection, table rendering of live output, and
the drain flow with a request held open on the drained server."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lbctl.cli import main
from lbctl.client import Client, is_error
from lbctl.drain import Progress, drain, ready
from lbctl.render import health_summary, names, parse_stat, render, render_json

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not on PATH (apt install haproxy)")

class Backend(http.server.ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1:0; GET /hold waits until `release` is set."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = threading.Event()
        self.entered = threading.Event()
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Backend = self.server  # type: ignore[assignment]
        if self.path == "/hold":
            server.entered.set()
            server.release.wait(10)
        body = f"{server.name}\n".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HAProxy:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.s1, self.s2 = Backend("s1"), Backend("s2")
        self.admin, self.user, self.fe = tmp / "admin.sock", tmp / "user.sock", tmp / "fe.sock"
        self.tcp_port = free_port()
        cfg = tmp / "haproxy.cfg"
        cfg.write_text(f"""
global
    stats socket {self.admin} level admin
    stats socket {self.user} level user
    stats socket ipv4@127.0.0.1:{self.tcp_port} level operator
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind unix@{self.fe}
    default_backend be
backend be
    balance first
    server s1 127.0.0.1:{self.s1.server_address[1]}
    server s2 127.0.0.1:{self.s2.server_address[1]}
backend st
    stick-table type ip size 1k expire 1m store gpc0,conn_cur
""")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"haproxy did not start: {self.proc.stdout.read().decode()}")
            time.sleep(0.02)

    def _ready(self) -> bool:
        for path in (self.admin, self.fe):
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(path))
            except OSError:
                return False
        return True

    def request(self, path: str, results: list[bytes]) -> threading.Thread:
        def go() -> None:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(str(self.fe))
                s.sendall(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                results.append(data)

        thread = threading.Thread(target=go, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for backend in (self.s1, self.s2):
            backend.shutdown()
            backend.server_close()


@pytest.fixture(scope="module")
def haproxy(tmp_path_factory):
    hap = HAProxy(tmp_path_factory.mktemp("haproxy"))
    yield hap
    hap.stop()


@pytest.fixture
def admin(haproxy):
    client = Client(str(haproxy.admin), timeout=5)
    yield client
    client.run("set server be/s1 state ready")
    client.run("set server be/s2 state ready")
    client.close()


def test_framing_against_haproxy(admin):
    version = admin.run("show version")
    assert version.startswith("2.6.") and version.endswith("\n") and "\n\n" not in version
    assert admin.run("show cli level") == "admin\n"
    assert admin.run("set server be/s1 state ready") == ""
    # the no-LF quirk: the reply is exactly the message, with no newline
    assert admin.run("set weight be/s1 5x") == "Trailing garbage in weight string"
    assert admin.run("get weight be/s1") == "1 (initial 1)\n"  # still in step afterwards
    assert admin.run("show version;show cli level") == version + "\nadmin\n"
    assert admin.run("operator") == ""
    assert admin.run("show cli level") == "operator\n"  # the session (and its level) persists


def test_reconnect_after_haproxy_closed_the_connection(haproxy, admin):
    """The server ends lbctl's connection between two commands (here `shutdown session` from another
    client; an expired `stats timeout` looks the same, but HAProxy 2.6 does not apply it reliably to
    interactive sessions, so it cannot be waited for): the next command reconnects transparently."""
    sessions = json.loads(render_json("show sess", admin.run("show sess")))
    mine = [s["id"] for s in sessions if s["fe"] == "GLOBAL"]
    assert len(mine) == 1  # only this connection is open on the CLI right now
    first = admin._sock
    with Client(str(haproxy.admin)) as other:
        assert other.run(f"shutdown session {mine[0]}") == ""
    assert admin.run("show cli level") == "admin\n"
    assert admin._sock is not first


def test_error_replies_from_haproxy(haproxy, admin):
    for command in ("get weight be/zz", "get weight zz/s1", "get weight be", "show foo", "set server be/s1 state on",
                    "set server be/s1", "set weight be/s1 5x", "show table nosuch", "show stat nosuch 4 -1",
                    "show servers state zz", "set timeout cli 0", "show env NOPE_NOT_SET"):
        reply = admin.run(command)
        assert is_error(command, reply), (command, reply)
    for command in ("show version", "show stat", "get weight be/s1", "show servers state", "show backend",
                    "help", "set server be/s1 state ready", "show sess", "show table", "show info"):
        reply = admin.run(command)
        assert not is_error(command, reply), (command, reply)
    with Client(str(haproxy.user)) as user:
        reply = user.run("set server be/s1 state drain")
        assert reply == "Permission denied\n" and is_error("set server be/s1 state drain", reply)
    assert admin.run("set severity-output string") == ""
    reply = admin.run("get weight be/zz")
    assert reply == "[err]: No such server.\n" and is_error("get weight be/zz", reply)
    assert not is_error("show version", admin.run("show version"))


def test_tcp_socket(haproxy):
    with Client(f"ipv4@127.0.0.1:{haproxy.tcp_port}") as client:
        assert client.run("show cli level") == "operator\n"


def test_rendering_live_output(admin):
    stat = admin.run("show stat")
    rows = parse_stat(stat)
    assert names(rows) == (["fe"], ["be", "st"], {"be": ["s1", "s2"], "st": []})
    assert health_summary(rows) == {"up": 2, "down": 0, "maint": 0, "drain": 0}
    table = render("show stat", stat)
    assert table.splitlines()[0].split()[:3] == ["pxname", "svname", "status"]
    assert len(table.splitlines()) == 2 + len(rows)
    state = render("show servers state be", admin.run("show servers state be"))
    assert [line.split()[1] for line in state.splitlines()[2:]] == ["s1", "s2"]
    info = json.loads(render_json("show info", admin.run("show info")))
    assert info["Name"] == "HAProxy" and info["Version"].startswith("2.6.")
    assert render("show backend", admin.run("show backend")).split() == ["name", "------", "be", "st"]
    sess = json.loads(render_json("show sess", admin.run("show sess")))
    assert any(s["fe"] == "GLOBAL" and s["proto"] == "unix_stream" for s in sess)
    assert admin.run("set table st key 10.0.0.1 data.gpc0 3") == ""
    tables = json.loads(render_json("show table", admin.run("show table")))
    assert tables == [{"table": "st", "type": "ip", "size": "1024", "used": "1"}]
    entries = json.loads(render_json("show table st", admin.run("show table st")))
    assert entries[0]["key"] == "10.0.0.1" and entries[0]["gpc0"] == "3" and entries[0]["conn_cur"] == "0"
    assert render("show stat json", admin.run("show stat json")) is None


def test_drain_waits_for_the_held_request(haproxy, admin):
    results: list[bytes] = []
    thread = haproxy.request("/hold", results)
    assert haproxy.s1.entered.wait(5)
    seen: list[Progress] = []

    def progress(p: Progress) -> None:
        seen.append(p)
        if sum(1 for q in seen if q.scur) == 3:
            haproxy.s1.release.set()

    assert drain(admin, "be", "s1", timeout=10, on_progress=progress, interval=0.02) is True
    thread.join(5)
    assert results and results[0].startswith(b"HTTP/1.0 200") and results[0].endswith(b"s1\n")
    assert [p.scur for p in seen[:3]] == [1, 1, 1] and seen[-1].scur == 0
    assert seen[0].status == "DRAIN"
    assert _status(admin, "s1") == "MAINT"
    later: list[bytes] = []
    haproxy.request("/", later).join(5)
    assert later[0].endswith(b"s2\n")  # s1 is out of rotation
    ready(admin, "be", "s1")
    assert _status(admin, "s1") == "no check"


def test_cli_drain_ready_servers_against_haproxy(haproxy, capsys):
    sock = str(haproxy.admin)
    assert main(["-S", sock, "drain", "be/s2", "--timeout", "5s"]) == 0
    assert capsys.readouterr().out.startswith("be/s2 drained and in maint")
    assert main(["-S", sock, "--json", "servers", "be"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["server"], r["status"]) for r in rows] == [("s1", "no check"), ("s2", "MAINT")]
    assert main(["-S", sock, "ready", "be/s2"]) == 0
    assert main(["-S", sock, "-c", "get weight be/zz"]) == 1
    assert capsys.readouterr().err == "No such server.\n"
    assert main(["-S", str(haproxy.user), "ready", "be/s2"]) == 1
    assert capsys.readouterr().err == "Permission denied\n"
    assert main(["-S", sock, "--raw", "-c", "show backend"]) == 0
    assert capsys.readouterr().out == "# name\nbe\nst\n"


def _status(client: Client, server: str) -> str:
    rows = parse_stat(client.run("show stat be 4 -1"))
    return next(r["status"] for r in rows if r["svname"] == server)
