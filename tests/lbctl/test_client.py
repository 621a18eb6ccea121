"""lbctl.client against a scripted Runtime API server (threads, a Unix socket in tmp_path) that frames
its replies the way HAProxy 2.6 does: `\\n> ` after each command in prompt mode, `\\n` otherwise.
Also used by test_cli.py."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Callable

import pytest

from lbctl.client import Client, Unreachable, is_error, parse_address

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

Handler = Callable[[str], "str | None"]  # one command -> its output (None: never answer)


class FakeServer:
    """HAProxy's CLI framing over a Unix (or TCP) socket; `handler` makes the outputs.
    `close_after`: close each prompt-mode connection after that many commands (an idle timeout)."""

    def __init__(self, address: str | tuple[str, int], handler: Handler, *, close_after: int | None = None) -> None:
        self.handler = handler
        self.close_after = close_after
        self.connections = 0
        self.received: list[str] = []
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind(address)
        self.listener.listen(16)
        self.address = address if isinstance(address, str) else "%s:%d" % self.listener.getsockname()
        self.stopped = threading.Event()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for conn in self.open:  # a server that goes away takes its connections with it
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        interactive, count, buf = False, 0, b""
        with conn:
            conn.settimeout(5)
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode()
                    if text.endswith("<<"):  # payload up to an empty line
                        payload, _, buf = buf.partition(b"\n\n")
                        text += "\n" + payload.decode()
                    for part in text.split(";") if "<<" not in text else [text]:
                        self.received.append(part)
                        if part == "quit":
                            return
                        if part == "prompt":
                            interactive, out = not interactive, ""
                        else:
                            out = self.handler(part)
                            if out is None:
                                self.stopped.wait(10)
                                return
                        conn.sendall((out + ("\n> " if interactive else "\n")).encode())
                    count += 1
                    if interactive and self.close_after and count > self.close_after:
                        return
                if not interactive and not buf:
                    return
                if not data:
                    return


def echo(command: str) -> str | None:
    answers = {
        "show version": "2.6.12-1+deb12u4\n",
        "show cli level": "admin\n",
        "set server be_app/app1 weight 5x": "Trailing garbage in weight string",
        "get weight be_app/zz": "No such server.\n",
        "set server be_app/app1 state ready": "",
        "hang": None,
    }
    if command in answers:
        return answers[command]
    if command.startswith("add map"):
        return f"payload={command.split(chr(10))[1:]!r}\n"
    return f"echo {command}\n"


@pytest.fixture
def server(tmp_path):
    srv = FakeServer(str(tmp_path / "admin.sock"), echo)
    yield srv
    srv.stop()


# -- addresses -----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("/run/lb/admin.sock", (socket.AF_UNIX, "/run/lb/admin.sock")),
    ("unix@/run/lb/admin.sock", (socket.AF_UNIX, "/run/lb/admin.sock")),
    ("admin.sock", (socket.AF_UNIX, "admin.sock")),
    ("./x:1", (socket.AF_UNIX, "./x:1")),
    ("ipv4@127.0.0.1:9999", (socket.AF_INET, ("127.0.0.1", 9999))),
    ("127.0.0.1:9999", (socket.AF_INET, ("127.0.0.1", 9999))),
    ("localhost:9999", (socket.AF_INET, ("localhost", 9999))),
    ("ipv6@[::1]:9998", (socket.AF_INET6, ("::1", 9998, 0, 0))),
    ("ipv6@::1:9998", (socket.AF_INET6, ("::1", 9998, 0, 0))),
    ("[::1]:9998", (socket.AF_INET6, ("::1", 9998, 0, 0))),
])
def test_parse_address(spec, expected):
    assert parse_address(spec) == expected


@pytest.mark.parametrize("spec", ["", "ipv4@127.0.0.1", "ipv4@127.0.0.1:99999", "abns@x", "ipv6@[::1]:x"])
def test_parse_address_rejects(spec):
    with pytest.raises(ValueError):
        parse_address(spec)


# -- framing -------------------------------------------------------------------------------------

def test_replies_without_terminator_on_one_connection(server):
    with Client(server.address) as client:
        assert client.run("show version") == "2.6.12-1+deb12u4\n"
        assert client.run("show cli level\n") == "admin\n"
        assert client.run("set server be_app/app1 state ready") == ""
        # the no-LF quirk: the reply ends with the prompt's own LF only
        assert client.run("set server be_app/app1 weight 5x") == "Trailing garbage in weight string"
        assert client.run("get weight be_app/zz") == "No such server.\n"
    assert server.connections == 1
    assert server.received == ["prompt", "show version", "show cli level", "set server be_app/app1 state ready",
                               "set server be_app/app1 weight 5x", "get weight be_app/zz"]


def test_several_commands_on_one_line_use_a_one_shot_connection(server):
    with Client(server.address) as client:
        assert client.run("show version;show cli level") == "2.6.12-1+deb12u4\n\nadmin\n"
    assert server.received == ["show version", "show cli level"]  # no `prompt`: the default framing


def test_payload_is_sent_with_its_empty_line(server):
    with Client(server.address) as client:
        assert client.run("add map x.map <<\nk1 v1\nk2 v2") == "payload=['k1 v1', 'k2 v2']\n"


def test_quit_closes_and_the_next_command_reconnects(server):
    with Client(server.address) as client:
        assert client.run("show version") == "2.6.12-1+deb12u4\n"
        assert client.run("quit") == ""
        assert client.run("show cli level") == "admin\n"
    assert server.connections == 2


def test_reconnects_once_after_the_server_closed_an_idle_connection(tmp_path):
    srv = FakeServer(str(tmp_path / "s.sock"), echo, close_after=1)  # like `stats timeout` expiring
    try:
        with Client(srv.address) as client:
            for _ in range(3):
                assert client.run("show cli level") == "admin\n"
        assert srv.connections == 3
        assert srv.received.count("show cli level") == 3  # each command ran exactly once
    finally:
        srv.stop()


def test_lost_connection_detected_only_when_sending_is_resent(tmp_path):
    """The server goes away between two commands without the client noticing beforehand."""
    srv = FakeServer(str(tmp_path / "s.sock"), echo, close_after=1)
    try:
        client = Client(srv.address)
        assert client.run("show version") == "2.6.12-1+deb12u4\n"
        # pretend the idle check saw nothing: go straight to sending on the dead connection
        import lbctl.client as mod
        original = mod._closed_by_peer
        mod._closed_by_peer = lambda sock: False
        try:
            assert client.run("show cli level") == "admin\n"
        finally:
            mod._closed_by_peer = original
        client.close()
        assert srv.received.count("show cli level") == 1
    finally:
        srv.stop()


def test_unreachable_when_the_server_is_gone(tmp_path, server):
    client = Client(server.address)
    assert client.run("show version") == "2.6.12-1+deb12u4\n"
    server.stop()
    Path(server.address).unlink()
    with pytest.raises(Unreachable):
        client.run("show version")  # the old connection is closed, and reconnecting fails
    with pytest.raises(Unreachable, match="No such file"):
        Client(str(tmp_path / "nope.sock")).run("show info")


def test_unreachable_tcp_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(Unreachable, match="refused"):
        Client(f"ipv4@127.0.0.1:{port}").run("show info")


def test_over_tcp():
    srv = FakeServer(("127.0.0.1", 0), echo)
    try:
        with Client(f"ipv4@{srv.address}") as client:
            assert client.run("show version") == "2.6.12-1+deb12u4\n"
    finally:
        srv.stop()


def test_timeout_drops_the_connection_and_the_next_command_starts_fresh(server):
    client = Client(server.address, timeout=0.2)
    with pytest.raises(Unreachable, match="no reply"):
        client.run("hang")
    assert client.run("show version") == "2.6.12-1+deb12u4\n"
    assert server.connections == 2
    client.close()


# -- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, reply", [
    ("show foo", "Unknown command, but maybe one of the following ones is a better match:\n  show env\n"),
    ("", "Unknown command. Please enter one of the following commands only:\n"),
    ("operator", "Permission denied\n"),
    ("get weight be_app/zz", "No such server.\n"),
    ("set server zz/a state drain", "No such backend.\n"),
    ("show stat nosuch 4 -1", "No such proxy.\n"),
    ("show servers state zz", "Can't find backend.\n"),
    ("get weight be_app", "Require 'backend/server'.\n"),
    ("set server be_app/app1 state on", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"),
    ("set server be_app/app1", "usage: set server <backend>/<server> addr | agent | health | state | weight\n"),
    ("set weight be_app/app1 5x", "Trailing garbage in weight string"),
    ("set weight be_app/app1 x", "Empty weight string empty or preceded by garbage"),
    ("set weight be_app/app1 300", "Absolute weight can only be between 0 and 256 inclusive.\n"),
    ("set timeout cli", "Expects an integer value.\n"),
    ("set timeout cli 0", "Invalid timeout value.\n"),
    ("set server be_app/app1 addr bogus", "Invalid addr 'bogus' by 'stats socket command'\n"),
    ("set server be_app/app1 addr", "set server be_app/app1 addr requires an address and optionally a port.\n"),
    ("show table nosuch", "No such table\n"),
    ("show env NOPE", "Variable not found\n"),
    ("del map x.map k", "Key not found.\n"),
    ("show map nope", "Unknown map identifier. Please use #<id> or <file>.\n"),
    ("set rate-limit foo", "'set rate-limit' only supports :\n   - 'connections global' ...\n"),
    ("set severity-output x", "one of 'none', 'number', 'string' is a required argument\n"),
    ("get weight be_app/zz", "[err]: No such server.\n"),
    ("get weight be_app/zz", "[3]: No such server.\n"),
    ("del server be_app/app1", "Only servers in maintenance mode can be deleted."),
    ("enable health be_app/app5", "Health check was not configured on this server, cannot enable.\n"),
    ("debug dev log x", "This command is restricted to expert mode only.\n"),
])
def test_error_replies(command, reply):
    assert is_error(command, reply)


@pytest.mark.parametrize("command, reply", [
    ("show version", "2.6.12-1+deb12u4\n"),
    ("set server be_app/app1 state drain", ""),
    ("get weight be_app/app1", "10 (initial 10)\n"),
    ("set server be_app/app1 addr 127.0.0.2", "IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n"),
    ("show version", "[info]: 2.6.12-1+deb12u4\n"),
    ("add server be_app/app9 127.0.0.1:1", "New server registered.\n"),
    ("help", "The following commands are valid at this level:\n  help [<command>]  : list\n"),
    ("show env", "No such thing=1\n"),
    ("show backend", "# name\nbe_app\n"),
])
def test_non_error_replies(command, reply):
    assert not is_error(command, reply)


def test_sample_dumps_are_not_errors():
    for name, command in [("show_stat.csv", "show stat"), ("show_info.txt", "show info"),
                          ("show_servers_state.txt", "show servers state"), ("help.txt", "help"),
                          ("show_table.txt", "show table"), ("show_backend.txt", "show backend")]:
        assert not is_error(command, (SAMPLES / name).read_text()), name
