"""lbctl's REPL driven through prompt_toolkit's pipe input (no terminal): rendering of the reference
samples (served by the scripted server of test_client.py), history, keys, watch, errors and a lost
socket; then the drain flow and live completion against an in-process trio-lb."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import trio
from prompt_toolkit.data_structures import Size
from prompt_toolkit.enums import EditingMode
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from lbctl import render
from lbctl.client import Client
from lbctl.repl import Repl, parse_drain_args, parse_watch_args, table_names
from tests.lbctl.test_client import FakeServer
from tests.support import lb_port, raw_request, start_backend, start_lb

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
ANSI_CODE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TABLES = (SAMPLES / "show_table.txt").read_text()[1:].split("\n\n")  # after `set table`'s empty reply

SAMPLE_REPLIES = {  # command -> the server's output without the CLI's terminating empty line
    "help": (SAMPLES / "help.txt").read_text()[:-1],
    "show stat": (SAMPLES / "show_stat.csv").read_text()[:-1],
    "show info": (SAMPLES / "show_info.txt").read_text()[:-1],
    "show servers state": (SAMPLES / "show_servers_state.txt").read_text()[:-1],
    "show backend": (SAMPLES / "show_backend.txt").read_text()[:-1],
    "show table": TABLES[0] + "\n",
    "show table st_src": TABLES[1] + "\n",
    "show cli level": "admin\n",
    "show version": "2.6.12-1+deb12u4\n",
}


def sample_server(command: str) -> str:
    if command in SAMPLE_REPLIES:
        return SAMPLE_REPLIES[command]
    return "Unknown command, but maybe one of the following ones is a better match:\n" + "".join(
        line + "\n" for line in SAMPLE_REPLIES["help"].splitlines()[-3:])


def plain(text: str) -> str:
    return ANSI_CODE.sub("", text)


def text_output() -> tuple[Vt100_Output, io.StringIO]:
    """A VT100 output writing into a string (what a terminal would receive)."""
    buf = io.StringIO()
    return Vt100_Output(buf, lambda: Size(rows=50, columns=200)), buf


@pytest.fixture(autouse=True)
def clients(monkeypatch):
    """Close every Client a test opened (the REPL leaves its client to its owner)."""
    opened: list[Client] = []
    init = Client.__init__

    def tracking_init(self, *args, **kw):
        init(self, *args, **kw)
        opened.append(self)

    monkeypatch.setattr(Client, "__init__", tracking_init)
    yield opened
    for client in opened:
        client.close()


@pytest.fixture
def server(tmp_path):
    srv = FakeServer(str(tmp_path / "admin.sock"), sample_server)
    yield srv
    srv.stop()


@pytest.fixture
def pipe():
    with create_pipe_input() as inp:
        yield inp


def make_repl(server, pipe, tmp_path, output=None, **kw) -> Repl:
    return Repl(Client(server.address, timeout=5), history_file=str(tmp_path / "history"), input=pipe,
                output=output or DummyOutput(), **kw)


def completions(repl: Repl, line: str) -> list[str]:
    return [c.text for c in repl.completer.get_completions(Document(line), CompleteEvent())]


# -- rendering ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["show stat", "show info", "show servers state", "show backend",
                                     "show table", "show table st_src"])
def test_table_commands_are_rendered_as_tables(server, pipe, tmp_path, command):
    shown = make_repl(server, pipe, tmp_path).execute(command)
    assert shown == render.render(command, SAMPLE_REPLIES[command], color=True)
    assert shown != SAMPLE_REPLIES[command].rstrip("\n")
    assert "-----" in shown  # tabulate's header rule


def test_show_stat_table_content_and_colour(server, pipe, tmp_path):
    shown = make_repl(server, pipe, tmp_path).execute("show stat")
    assert "# pxname" not in shown
    assert "\x1b[32mUP" in shown and "\x1b[31mDOWN" in shown  # status coloured
    lines = plain(shown).splitlines()
    assert lines[0].split()[:3] == ["pxname", "svname", "status"]
    app3 = next(line for line in lines if " app3 " in line)
    assert app3.split()[:3] == ["be_app", "app3", "DOWN"]
    assert "hrsp_2xx" not in lines[0]


def test_all_columns(server, pipe, tmp_path):
    shown = plain(make_repl(server, pipe, tmp_path, all_columns=True).execute("show stat"))
    assert "hrsp_2xx" in shown.splitlines()[0]


def test_other_commands_are_shown_raw(server, pipe, tmp_path):
    repl = make_repl(server, pipe, tmp_path)
    assert repl.execute("show version") == "2.6.12-1+deb12u4"
    assert repl.execute("   ") == ""


def test_server_errors_are_shown_as_errors(server, pipe, tmp_path):
    shown = make_repl(server, pipe, tmp_path).execute("show foo")
    assert shown.startswith("\x1b[31merror: Unknown command") and shown.endswith("\x1b[0m")


def test_servers_view(server, pipe, tmp_path):
    repl = make_repl(server, pipe, tmp_path)
    lines = plain(repl.execute("servers")).splitlines()
    assert lines[0].split() == ["backend", "server", "status", "weight", "scur", "qcur", "check"]
    rows = [line.split()[:2] for line in lines[2:]]
    assert rows == [["be_app", f"app{i}"] for i in range(1, 6)] + [["be_api", "api1"], ["be_api", "api2"],
                                                                    ["tcp_svc", "t1"]]
    only = plain(repl.execute("servers be_api")).splitlines()[2:]
    assert [line.split()[1] for line in only] == ["api1", "api2"]
    assert plain(repl.execute("servers nope")) == "error: No such backend."
    assert plain(repl.execute("servers a b")).startswith("error: usage")


def test_help_lists_server_commands_and_lbctl_commands(server, pipe, tmp_path):
    shown = make_repl(server, pipe, tmp_path).execute("help")
    assert "show stat [desc|json|no-maint|typed|up]*" in shown
    own = shown.split("lbctl commands:")[1]
    for usage in ("watch <command> [interval]", "drain <bk>/<srv> [--timeout <t>]", "ready <bk>/<srv>",
                  "servers [<backend>]"):
        assert usage in own


def test_usage_errors_of_own_commands(server, pipe, tmp_path):
    repl = make_repl(server, pipe, tmp_path)
    assert plain(repl.execute("drain")).startswith("error: missing <backend>/<server>")
    assert plain(repl.execute("drain web")).startswith("error: expected <backend>/<server>")
    assert plain(repl.execute("drain web/w1 --timeout soon")).startswith("error: invalid duration")
    assert plain(repl.execute("ready")).startswith("error: usage: ready")
    assert plain(repl.execute("watch")).startswith("error: missing command")
    assert server.received.count("set server") == 0


def test_parse_arguments():
    assert parse_drain_args(["web/web1", "--timeout", "60s"]) == ("web/web1", 60.0)
    assert parse_drain_args(["--timeout=500ms", "web/web1"]) == ("web/web1", 0.5)
    assert parse_drain_args(["web/web1"]) == ("web/web1", None)
    with pytest.raises(ValueError):
        parse_drain_args(["web/web1", "extra"])
    assert parse_watch_args(["show", "stat"]) == ("show stat", 2.0)
    assert parse_watch_args(["show", "stat", "5"]) == ("show stat", 5.0)
    assert parse_watch_args(["servers", "250ms"]) == ("servers", 0.25)
    assert parse_watch_args(["show", "stat", "be_app", "4", "-1"]) == ("show stat be_app 4 -1", 2.0)
    assert table_names(SAMPLE_REPLIES["show table"]) == ["st_src"]
    assert table_names("Unknown command\n") == []


# -- toolbar and completion from the server ----------------------------------------------------

def test_toolbar_shows_address_level_and_health(server, pipe, tmp_path):
    now = [0.0]
    repl = Repl(Client(server.address), history_file=str(tmp_path / "h"), input=pipe, output=DummyOutput(),
                clock=lambda: now[0])
    expected = render.health_summary(render.parse_stat(SAMPLE_REPLIES["show stat"]))
    assert expected == {"up": 6, "down": 1, "maint": 1, "drain": 0}
    assert repl.status() == f" {server.address}  level admin  up 6  down 1  maint 1  drain 0"
    now[0] = 1.5
    repl.status()
    assert server.received.count("show cli level") == 1  # refreshed at most every 2 s
    now[0] = 2.0
    repl.status()
    assert server.received.count("show cli level") == 2


def test_completion_uses_the_servers_help_and_names(server, pipe, tmp_path):
    repl = make_repl(server, pipe, tmp_path)
    assert completions(repl, "sh") == []  # before `help` was read: only lbctl's own commands
    assert completions(repl, "se") == ["servers"]
    repl._load_commands()
    assert completions(repl, "se") == ["servers", "set"]
    assert completions(repl, "set server be_a") == ["be_app/", "be_api/"]
    assert completions(repl, "set server be_api/") == ["be_api/api1", "be_api/api2"]
    assert completions(repl, "disable frontend ") == ["fe_http", "stats", "tcp_svc"]
    assert completions(repl, "show table ") == ["st_src"]
    assert server.received.count("show stat") == 1  # names are cached between keystrokes


def test_tab_completion_in_the_repl_prompt(server, pipe, tmp_path):
    """Keys are sent the way a person types: Tab once the completions for the typed text are there."""
    repl = make_repl(server, pipe, tmp_path)
    repl._load_commands()
    session = repl.session()
    after_typing = {"set server be_api/a": "\t", "set server be_api/api1 state dr": "\t"}
    after_insert = {"set server be_a": "pi/a", "set server be_api/api1": " state dr",
                    "set server be_api/api1 state drain": "\r"}

    def step(script: dict[str, str]):
        def handler(buffer) -> None:
            if buffer.text in script:
                pipe.send_text(script.pop(buffer.text))
        return handler

    session.default_buffer.on_completions_changed += step(after_typing)
    session.default_buffer.on_text_changed += step(after_insert)
    pipe.send_text("set server be_a")
    assert session.prompt() == "set server be_api/api1 state drain"
    assert after_typing == after_insert == {}


# -- the loop ----------------------------------------------------------------------------------

def test_run_shows_results_and_ctrl_d_exits(server, pipe, tmp_path):
    output, buf = text_output()
    pipe.send_text("show version\rshow foo\rservers be_api\r\x04")
    repl = make_repl(server, pipe, tmp_path, output)
    assert repl.run() == 0
    screen = plain(buf.getvalue())
    assert "2.6.12-1+deb12u4" in screen
    assert "error: Unknown command" in screen
    assert "api2" in screen
    assert f"{server.address}> " in screen  # the prompt shows the socket
    # (prompt_toolkit draws the bottom toolbar only on a terminal that reports its cursor position)
    assert repl.session().bottom_toolbar() == f" {server.address}  level admin  up 6  down 1  maint 1  drain 0"


@pytest.mark.parametrize("word", ["quit", "exit"])
def test_quit_and_exit(server, pipe, tmp_path, word):
    pipe.send_text(f"show version\r{word}\r")
    assert make_repl(server, pipe, tmp_path).run() == 0
    assert "quit" not in server.received  # lbctl leaves; it does not send quit


def test_ctrl_c_cancels_the_line(server, pipe, tmp_path):
    pipe.send_text("show versi\x03show cli level\r\x04")
    assert make_repl(server, pipe, tmp_path).run() == 0
    assert "show versi" not in server.received
    assert "show cli level" in server.received


def test_history_persists_across_sessions(server, tmp_path):
    with create_pipe_input() as first:
        first.send_text("show version\rshow backend\r\x04")
        make_repl(server, first, tmp_path).run()
    assert "show backend" in (tmp_path / "history").read_text()
    server.received.clear()
    with create_pipe_input() as second:
        second.send_text("\x1b[A\x1b[A\r\x04")  # Up, Up, Enter: the command before the last one
        make_repl(server, second, tmp_path).run()
    assert server.received.count("show version") == 1
    assert "show backend" not in server.received


def test_emacs_keys_by_default_and_vi_on_request(server, pipe, tmp_path):
    assert make_repl(server, pipe, tmp_path).session().app.editing_mode == EditingMode.EMACS
    vi = make_repl(server, pipe, tmp_path, vi=True)
    assert vi.session().app.editing_mode == EditingMode.VI
    pipe.send_text("show versionX\x1b")  # Esc to normal mode; `x` deletes the X; Enter
    pipe.send_text("x\r\x04")
    vi.run()
    assert "show version" in server.received and "show versionX" not in server.received


def test_unreachable_socket_keeps_the_repl_running(tmp_path, pipe):
    output, buf = text_output()
    repl = Repl(Client(str(tmp_path / "nope.sock")), history_file=str(tmp_path / "h"), input=pipe, output=output)
    assert plain(repl.execute("show stat")).startswith("error: cannot connect to")
    assert repl.status().endswith("unreachable")
    assert completions(repl, "set server ") == []  # no names, no crash
    pipe.send_text("show stat\rshow info\r\x04")
    assert repl.run() == 0
    assert plain(buf.getvalue()).count("error: cannot connect to") == 2


def test_server_going_away_and_coming_back(tmp_path, pipe):
    path = str(tmp_path / "admin.sock")
    srv = FakeServer(path, sample_server)
    repl = Repl(Client(path, timeout=5), history_file=str(tmp_path / "h"), input=pipe, output=DummyOutput())
    assert repl.execute("show version") == "2.6.12-1+deb12u4"
    srv.stop()
    Path(path).unlink()
    assert plain(repl.execute("show version")).startswith("error: ")
    srv = FakeServer(path, sample_server)
    try:
        assert repl.execute("show version") == "2.6.12-1+deb12u4"
    finally:
        srv.stop()


# -- watch -------------------------------------------------------------------------------------

def test_watch_refreshes_until_a_key_is_pressed(server, pipe, tmp_path):
    output, buf = text_output()
    repl = make_repl(server, pipe, tmp_path, output)
    frames = []
    draw = repl.draw_frame

    def counting_draw(text: str) -> None:
        draw(text)
        frames.append(text)
        if len(frames) == 3:
            pipe.send_text("q")  # the operator presses a key during the third wait

    repl.draw_frame = counting_draw
    assert repl.execute("watch servers be_api 0.01") == ""
    assert len(frames) == 3
    assert server.received.count("show stat") == 3
    assert all(plain(f).startswith("Every 0.01s: servers be_api") and "api2" in f for f in frames)
    assert "\x1b[2J" in buf.getvalue()  # each frame clears the screen


def test_watch_stops_on_a_key_typed_ahead_and_the_rest_reaches_the_prompt(server, pipe, tmp_path):
    pipe.send_text("watch show version 0.01\rxshow cli level\r\x04")
    assert make_repl(server, pipe, tmp_path).run() == 0
    assert server.received.count("show version") == 1
    assert "show cli level" in server.received
    assert not any(r.startswith("xshow") for r in server.received)


# -- against a live trio-lb --------------------------------------------------------------------

def lb_config(sock: Path, port: int) -> str:
    return f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    default_backend web
backend web
    server web1 127.0.0.1:{port}
    server web2 127.0.0.1:{port}
"""


class HeldBackend:
    """Backend handler that keeps each request open until released."""

    def __init__(self) -> None:
        self.arrived = trio.Event()
        self.release = trio.Event()

    async def __call__(self, backend, event, body):
        self.arrived.set()
        await self.release.wait()
        return 200, [], b"ok\n"


class ProgressRepl(Repl):
    """Records the drain progress lines; can release the held request once the drain has seen it."""

    def __init__(self, held: HeldBackend, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.held, self.lines, self.release_when_seen = held, [], False

    def _draw_progress(self, line: str) -> None:
        super()._draw_progress(line)
        self.lines.append(line)
        if "scur=1" in line and self.release_when_seen:
            trio.from_thread.run_sync(self.held.release.set)


async def test_drain_flow_against_live_trio_lb(tmp_path):
    sock = tmp_path / "admin.sock"
    held = HeldBackend()
    with trio.fail_after(20), create_pipe_input() as pipe:
        async with trio.open_nursery() as nursery:
            backend = await start_backend(nursery, "web1", held)
            running = await start_lb(nursery, lb_config(sock, backend.port))
            port = lb_port(running, "fe")
            output, buf = text_output()
            repl = ProgressRepl(held, Client(str(sock)), history_file=str(tmp_path / "h"), input=pipe,
                                output=output)
            run = trio.to_thread.run_sync

            # completion and the toolbar from the live server
            await run(repl._load_commands)
            assert await run(completions, repl, "set server w") == ["web/"]
            assert await run(completions, repl, "set server web/") == ["web/web1", "web/web2"]
            assert await run(completions, repl, "set server web/web1 state ") == ["ready", "drain", "maint"]
            assert (await run(repl.status)).endswith("level admin  up 2  down 0  maint 0  drain 0")

            # a request in flight on web1 (roundrobin: the first one goes to web1)
            nursery.start_soon(raw_request, port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await held.arrived.wait()

            # 1. it does not drain in time: reported, left in drain
            shown = plain(await run(repl.execute, "drain web/web1 --timeout 300ms"))
            assert shown == "error: web/web1: still busy after 0.3s; left in drain"
            assert all("scur=1" in line for line in repl.lines)
            assert "DRAIN" in plain(await run(repl.execute, "servers web")).splitlines()[2]

            # 2. through the prompt: the request ends during the drain, then the server is in maint
            repl.lines, repl.release_when_seen = [], True
            pipe.send_text("drain web/web1 --timeout 10s\rservers web\r\x04")
            assert await run(repl.run) == 0
            assert "scur=1" in repl.lines[0] and "DRAIN" in repl.lines[0]
            assert "scur=0 qcur=0" in repl.lines[-1]
            assert repl.lines[-1].startswith("draining web/web1 [" + "#" * 30 + "]")
            screen = plain(buf.getvalue())
            assert "web/web1: drained, now in maint" in screen
            web1 = next(line for line in screen.splitlines() if line.startswith("web ") and " web1 " in line)
            assert web1.split()[2] == "MAINT"

            # 3. ready puts it back; errors from the live server are shown as errors
            assert await run(repl.execute, "ready web/web1") == "web/web1: ready"
            assert "MAINT" not in plain(await run(repl.execute, "servers web"))
            assert plain(await run(repl.execute, "drain web/nope")) == "error: No such server."
            assert plain(await run(repl.execute, "ready nope/web1")) == "error: No such backend."
            nursery.cancel_scope.cancel()
