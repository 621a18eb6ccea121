"""render_csv / render_info against a live HAProxy 2.6 running the same configuration.

HAProxy runs the config below (unix-socket binds, so no port is needed); the same admin commands
are applied to it (over its stats socket) and to a trio-lb runtime built from the same text, then
`show stat` (several argument sets, admin and user level) must match byte for byte, except the
columns that depend on when the dump is taken (`lastchg`, `downtime`). `show info` must list the
same fields in the same order, with the same values where they are not about the process itself.

No check runs during the test: the first checked server (the only one HAProxy checks at
start-up) is `disabled`, the others have `inter 1h`, so every check stays INI on both sides.
Skipped when haproxy is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.stats.helpers import parse_csv, runtime_from
from trio_lb.errors import CommandError
from trio_lb.stats import parse_show_stat, render_csv, render_info

HAPROXY = shutil.which("haproxy")
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")

CONFIG = """
global
    maxconn 500
    stats socket {d}/admin.sock mode 600 level admin
    stats socket {d}/user.sock mode 600 level user

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe_main
    bind unix@{d}/fe1.sock
    bind unix@{d}/fe2.sock name second
    option socket-stats
    maxconn 300
    default_backend be_web

frontend fe_other
    bind unix@{d}/fe3.sock
    default_backend be_web
    use_backend be_api if TRUE
    use_backend be_web if TRUE

backend be_web
    balance roundrobin
    option httpchk GET /health
    server w0 127.0.0.1:1 check inter 1h disabled
    server w1 127.0.0.1:1 check inter 1h rise 3 fall 2 weight 10
    server w2 127.0.0.1:1 check inter 1h cookie c2 maxconn 20 maxqueue 5
    server w3 [::1]:1 check inter 1h
    server w4 127.0.0.1:1 weight 7
    server w5 127.0.0.1:1 backup
    server w6 127.0.0.1 backup id 9

backend be_api
    balance leastconn
    id 30
    server a1 127.0.0.1:1

backend be_empty
    balance first

listen lst
    mode tcp
    bind unix@{d}/l.sock
    balance source
    server t1 127.0.0.1:1 check inter 1h

backend be_rand
    balance random
    server r1 127.0.0.1:1
"""

VOLATILE = {"lastchg", "downtime"}
T0 = 1000.0


def cli(path: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def apply_to_runtime(rt) -> None:
    """The trio-lb side of the admin commands sent to HAProxy in the fixture."""
    be = rt.backends["be_web"]
    w2, w4, w1 = be.server("w2"), be.server("w4"), be.server("w1")
    w2.set_admin("drain", T0)
    be.server_changed(w2, T0)
    w4.set_admin("maint", T0)
    be.server_changed(w4, T0)
    w1.set_weight(4, T0)
    be.server_changed(w1, T0)
    rt.frontends["fe_other"].enabled = False


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    d = tmp_path_factory.mktemp("hap")
    text = CONFIG.format(d=d)
    (d / "lab.cfg").write_text(text)
    subprocess.run([HAPROXY, "-D", "-p", str(d / "pid"), "-f", str(d / "lab.cfg")],
                   check=True, timeout=10, capture_output=True)
    pid = int((d / "pid").read_text().split()[0])
    try:
        for command in ("set server be_web/w2 state drain", "set server be_web/w4 state maint",
                        "set weight be_web/w1 4", "disable frontend fe_other"):
            assert cli(d / "admin.sock", command) == "\n"
        rt = runtime_from(text, T0)
        apply_to_runtime(rt)
        yield d, rt
    finally:
        os.kill(pid, signal.SIGTERM)


def assert_same(ours: str, theirs: str) -> None:
    names, got = parse_csv(ours)
    tnames, want = parse_csv(theirs)
    assert names == tnames
    assert [(r["pxname"], r["svname"]) for r in got] == [(r["pxname"], r["svname"]) for r in want]
    for g, w in zip(got, want):
        for name in names:
            if name not in VOLATILE:
                assert g[name] == w[name], (w["pxname"], w["svname"], name, g[name], w[name])


@pytest.mark.parametrize("args", ["", "be_web 4 -1", "-1 2 -1 up", "no-maint", "2 8 2", "99 -1 -1",
                                  "domain proxy lst 1 -1", "be_web -1 9", "30 3 -1"])
def test_show_stat_admin_level(lab, args):
    d, rt = lab
    req = parse_show_stat(args.split(), rt)
    assert_same(render_csv(rt, T0, filter=req.filter), cli(d / "admin.sock", f"show stat {args}"))


def test_show_stat_user_level(lab):
    d, rt = lab
    assert_same(render_csv(rt, T0, legends=False), cli(d / "user.sock", "show stat"))


@pytest.mark.parametrize("args", ["nope 1 1", "domain foo", "typed desc up"])
def test_show_stat_errors(lab, args):
    d, rt = lab
    with pytest.raises(CommandError) as e:
        parse_show_stat(args.split(), rt)
    assert e.value.text + "\n" == cli(d / "admin.sock", f"show stat {args}")


def test_show_info_fields(lab):
    d, rt = lab
    theirs = [line.split(": ", 1) for line in cli(d / "admin.sock", "show info").splitlines() if line]
    ours = [line.split(": ", 1) for line in render_info(rt, T0).splitlines() if line]
    their_names = [name for name, _ in theirs]
    assert [name for name, _ in ours] == [n for n in their_names if n != "Start_time_sec"]
    same = {"Name", "Nbproc", "Process_num", "Maxconn", "Hard_maxconn", "CurrConns", "Stopping", "Jobs",
            "Unstoppable Jobs", "Listeners", "ActivePeers", "SslRate", "CompressBpsIn", "Tainted", "PipesUsed"}
    assert {k: v for k, v in ours if k in same} == {k: v for k, v in theirs if k in same}
