"""lbctl's command line (lbctl.cli.main) against a scripted server that behaves like a small HAProxy:
its replies come from the 2.6.12 samples, and `set server ... state` changes the servers' status."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from lbctl import cli
from lbctl.cli import LBCTL_HELP, Options, cmd_watch, main, read_commands
from lbctl.client import Client
from tests.lbctl.test_client import FakeServer

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
ROOT = Path(__file__).resolve().parents[2]
STATES = {"ready": "UP", "drain": "DRAIN", "maint": "MAINT"}


class Model:
    """Answers from the samples; be_app servers' status and scur follow the commands."""

    def __init__(self) -> None:
        self.csv = (SAMPLES / "show_stat.csv").read_text()[:-1]
        self.status = {f"app{i}": s for i, s in enumerate(["UP", "UP", "DOWN", "MAINT", "no check"], 1)}
        self.scur = {name: 0 for name in self.status}
        self.commands: list[str] = []

    def __call__(self, command: str) -> str:
        self.commands.append(command)
        words = command.split()
        if command == "show version":
            return "2.6.12-1+deb12u4\n"
        if command == "help":
            return (SAMPLES / "help.txt").read_text()[:-1]
        if command == "show info":
            return (SAMPLES / "show_info.txt").read_text()[:-1]
        if words[:2] == ["show", "stat"]:
            return self.stat(words[2] if len(words) == 5 else None)
        if words[:2] == ["set", "server"] and len(words) == 5 and words[3] == "state":
            backend, _, server = words[2].partition("/")
            if backend != "be_app":
                return "No such backend.\n"
            if server not in self.status:
                return "No such server.\n"
            self.status[server] = STATES[words[4]]
            return ""
        if words[:2] == ["get", "weight"]:
            return "No such server.\n" if not words[2].endswith("app1") else "10 (initial 10)\n"
        if words[:2] == ["add", "map"]:
            return f"payload {command.splitlines()[1:]}\n"
        return "Unknown command. Please enter one of the following commands only:\n  help\n"

    def stat(self, proxy: str | None) -> str:
        lines = self.csv.splitlines(True)
        out = [lines[0]]
        for line in lines[1:]:
            f = line.split(",")
            if proxy not in (None, f[0]) or (proxy and f[1] in ("FRONTEND", "BACKEND")):
                continue
            if f[0] == "be_app" and f[1] in self.status:
                f[17], f[4] = self.status[f[1]], str(self.scur[f[1]])
            out.append(",".join(f))
        return "".join(out)


@pytest.fixture
def lb(tmp_path, monkeypatch):
    model = Model()
    srv = FakeServer(str(tmp_path / "admin.sock"), model)
    monkeypatch.setenv("LBCTL_SOCKET", srv.address)
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield model
    srv.stop()


def test_one_command(lb, capsys):
    assert main(["-c", "show version"]) == 0
    assert capsys.readouterr() == ("2.6.12-1+deb12u4\n", "")


def test_tables_json_and_raw(lb, capsys):
    assert main(["-c", "show stat"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["pxname", "svname", "status"] and "\x1b[" not in out
    assert main(["--json", "-c", "show stat"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[3]["svname"] == "app1" and len(rows) == 17
    assert main(["--raw", "-c", "show stat"]) == 0
    assert capsys.readouterr().out == (SAMPLES / "show_stat.csv").read_text()[:-1]
    assert main(["--all-columns", "-c", "show info"]) == 0
    assert "Tainted" in capsys.readouterr().out
    assert main(["--json", "-c", "show version"]) == 0  # not a table: as is
    assert capsys.readouterr().out == "2.6.12-1+deb12u4\n"


def test_json_and_raw_exclude_each_other(lb, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--json", "--raw", "-c", "show stat"])
    assert exc.value.code == 2


def test_server_error_exit_status_1_and_later_commands_still_run(lb, capsys):
    assert main(["-c", "get weight be_app/zz", "-c", "get weight be_app/app1"]) == 1
    out, err = capsys.readouterr()
    assert out == "10 (initial 10)\n"
    assert err == "No such server.\n"
    assert main(["-c", "show foo"]) == 1


def test_unreachable_exit_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LBCTL_SOCKET", raising=False)
    assert main(["-S", str(tmp_path / "nope.sock"), "-c", "show info"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("lbctl: cannot connect to ") and "nope.sock" in err
    assert "No such file or directory" in err
    assert main(["-c", "show info"]) == 2  # no -S, no $LBCTL_SOCKET: the default socket
    assert "/run/lb/admin.sock" in capsys.readouterr().err or os.path.exists("/run/lb/admin.sock")
    assert main(["-S", "ipv4@nohost", "-c", "show info"]) == 2
    assert "host:port" in capsys.readouterr().err


def test_positional_drain_with_timeout(lb, capsys):
    assert main(["drain", "be_app/app1", "--timeout", "5s"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("be_app/app1 drained and in maint (")
    assert "be_app/app1: status=DRAIN scur=0 qcur=0" in err  # progress on stderr
    assert lb.status["app1"] == "MAINT"
    assert lb.commands[-3:] == ["set server be_app/app1 state drain", "show stat be_app 4 -1",
                                "set server be_app/app1 state maint"]


def test_drain_timeout_exit_status_1(lb, capsys):
    lb.scur["app2"] = 3
    assert main(["-c", "drain be_app/app2 --timeout 100ms"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "lbctl: timeout after 0.1s: be_app/app2 still has 3 sessions and 0 queued; left in drain" in err
    assert lb.status["app2"] == "DRAIN"


def test_drain_json_and_errors(lb, capsys):
    assert main(["--json", "drain", "be_app/app1", "--timeout=1s"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["drained"] is True and result["state"] == "maint" and result["server"] == "app1"
    assert main(["drain", "be_app/zz"]) == 1
    assert capsys.readouterr().err == "No such server.\n"
    for bad in (["drain"], ["drain", "be_app"], ["drain", "be_app/app1", "--timeout", "soon"],
                ["-c", "drain be_app/app1 --timeout"], ["-c", "ready"]):
        assert main(bad) == 1, bad
        assert capsys.readouterr().err.startswith("lbctl: ")
    assert main(["--timeout", "5s", "-c", "show info"]) == 0  # -c given: --timeout is unused, harmless
    capsys.readouterr()


def test_ready_and_servers(lb, capsys):
    lb.status["app1"] = "MAINT"
    assert main(["ready", "be_app/app1"]) == 0
    assert capsys.readouterr() == ("", "")
    assert lb.status["app1"] == "UP"
    assert main(["servers", "be_app"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["backend", "server", "status", "weight", "scur", "qcur", "check"]
    assert [line.split()[1] for line in lines[2:]] == ["app1", "app2", "app3", "app4", "app5"]
    assert main(["--json", "servers"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 8 and rows[2] == {"backend": "be_app", "server": "app3", "status": "DOWN", "weight": "1",
                                          "scur": "0", "qcur": "0", "check": "L4CON"}
    assert main(["servers", "nosuch"]) == 1
    assert capsys.readouterr().err == "No such backend.\n"


def test_help_lists_server_and_lbctl_commands(lb, capsys):
    assert main(["-c", "help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The following commands are valid at this level:\n")
    assert "  show stat [desc|json|no-maint|typed|up]*" in out
    assert out.endswith(LBCTL_HELP)
    for word in ("watch", "drain", "ready", "servers", "help"):
        assert f"\n  {word} " in LBCTL_HELP


def test_commands_from_stdin(lb, capsys, monkeypatch):
    script = "show version\n\n# a comment\nget weight be_app/zz\nadd map x.map <<\nk1 v1\nk2 v2\n\nready be_app/app4\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main([]) == 1
    out, err = capsys.readouterr()
    assert out == "2.6.12-1+deb12u4\npayload ['k1 v1', 'k2 v2']\n"
    assert err == "No such server.\n"
    assert lb.status["app4"] == "UP"


def test_read_commands():
    assert read_commands(["a\n", "  \n", "# x\n", "b <<\n", "k v\n", "\n", "c\r\n"]) == ["a", "b <<\nk v\n\n", "c"]
    assert read_commands(["b <<\n", "k v\n"]) == ["b <<\nk v\n\n"]


def test_terminal_stdin_starts_the_repl(lb, monkeypatch, tmp_path):
    calls = []

    class FakeRepl:
        def __init__(self, client, *, vi=False, history_file=None, all_columns=False, input=None, output=None):
            calls.append((client.address, vi, history_file, all_columns))

        def run(self) -> int:
            return 7

    monkeypatch.setitem(sys.modules, "lbctl.repl", types.SimpleNamespace(Repl=FakeRepl))

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setenv("LBCTL_HISTORY", str(tmp_path / "hist"))
    assert main(["--vi", "--all-columns"]) == 7
    assert calls == [(os.environ["LBCTL_SOCKET"], True, str(tmp_path / "hist"), True)]
    assert main(["--history", "/x/h"]) == 7
    assert calls[-1][2] == "/x/h"


def test_repl_unreachable_exits_2(tmp_path, monkeypatch, capsys):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setitem(sys.modules, "lbctl.repl", types.SimpleNamespace(Repl=None))
    assert main(["-S", str(tmp_path / "nope.sock")]) == 2
    assert "cannot connect" in capsys.readouterr().err


def test_watch_repeats(lb):
    out = io.StringIO()
    sleeps = []
    opts = Options(out=out, err=io.StringIO(), sleep=sleeps.append)
    client = Client(os.environ["LBCTL_SOCKET"])
    try:
        assert cmd_watch(client, ["servers", "be_app", "500ms"], opts, iterations=3) == 0
    finally:
        client.close()
    text = out.getvalue()
    assert text.count("Every 0.5s: servers be_app") == 3
    assert text.count("app5") == 3
    assert sleeps == [0.5, 0.5]


def test_watch_default_interval_and_usage(lb, capsys):
    opts = Options(out=io.StringIO(), err=io.StringIO(), sleep=lambda s: None)
    client = Client(os.environ["LBCTL_SOCKET"])
    try:
        assert cmd_watch(client, ["show", "version"], opts, iterations=1) == 0
        assert "Every 2s: show version" in opts.out.getvalue()
        assert cli.execute(client, "watch", opts) == 1
        assert opts.err.getvalue().startswith("lbctl: usage: watch")
    finally:
        client.close()


def test_python_dash_m_lbctl(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LBCTL_SOCKET", None)
    result = subprocess.run([sys.executable, "-m", "lbctl", "-S", str(tmp_path / "none.sock"), "show", "info"],
                            capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 2 and "cannot connect" in result.stderr
    result = subprocess.run([sys.executable, "-m", "lbctl", "--version"], capture_output=True, text=True, env=env,
                            timeout=30)
    assert result.returncode == 0 and result.stdout.startswith("lbctl ")
