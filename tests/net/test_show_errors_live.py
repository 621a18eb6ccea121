"""`show errors` fed by real traffic: a malformed request from a real client and a malformed
response from a real server are captured and dumped as HAProxy 2.6.12 dumps them (the golden
sample's request, byte for byte but for the dates and the client's port)."""

from __future__ import annotations

import re
from pathlib import Path

import trio

from tests.net.test_admin_limits import admin
from tests.support import lb_port, raw_request, start_lb

GOLDEN = (Path(__file__).parent.parent / "data" / "golden" / "show_errors.txt").read_text()
DATE = re.compile(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]")
PORT = re.compile(r"src 127\.0\.0\.1:\d+")


def config(sock: Path, port: int) -> str:
    return f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe_http
    bind 127.0.0.1:0
    default_backend be_app
backend be_app
    server s1 127.0.0.1:{port}
"""


def _mask(text: str) -> str:
    return PORT.sub("src 127.0.0.1:P", DATE.sub("[DATE]", text))


async def _bad_server(task_status=trio.TASK_STATUS_IGNORED):
    async def answer(stream):
        await stream.receive_some(65536)
        await stream.send_all(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n")
        await stream.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(answer, listeners)


async def test_a_malformed_request_is_dumped_as_haproxy_does(nursery, tmp_path):
    with trio.fail_after(10):
        sock = tmp_path / "admin.sock"
        port = await nursery.start(_bad_server)
        lb = await start_lb(nursery, config(sock, port))
        assert _mask(await admin(sock, "show errors")) == "Total events captured on [DATE] : 0\n\n"
        reply = await raw_request(lb_port(lb, "fe_http"), b"GET /a b\x01c HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 400 Bad request")
        out = await admin(sock, "show errors")
        assert _mask(out) == _mask(GOLDEN)  # the sample ends with the reply's empty line
        assert _mask(await admin(sock, "show errors fe_http response")) == "Total events captured on [DATE] : 1\n\n"


async def test_a_malformed_response_is_captured_for_the_backend(nursery, tmp_path):
    with trio.fail_after(10):
        sock = tmp_path / "admin.sock"
        port = await nursery.start(_bad_server)
        lb = await start_lb(nursery, config(sock, port))
        reply = await raw_request(lb_port(lb, "fe_http"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                  read_until_close=False)
        assert reply.startswith(b"HTTP/1.1 502 Bad Gateway")
        out = await admin(sock, "show errors be_app response")
        lines = out.splitlines()
        assert lines[0].endswith("] : 1")
        assert re.fullmatch(r"\[[^]]+\] backend be_app \(#3\): invalid response", lines[2]), lines[2]
        assert re.fullmatch(r"  frontend fe_http \(#2\), server s1 \(#1\), event #0, src 127\.0\.0\.1:\d+", lines[3])
        assert "error at position 10" in out and "  00000  HTTP/1.1 2x0 OK\\r\\n" in out
        assert (await admin(sock, "show errors be_app request")).count("\n") == 2  # header, end
