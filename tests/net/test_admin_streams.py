"""`show sess`, `shutdown session`, `shutdown sessions server` over a real stats socket, with
real clients whose requests are held in flight by the backend: the lines describe them, and a
kill ends exactly the designated streams (logged with a K termination state), leaving others."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import trio

from tests.net.test_admin_limits import admin
from tests.support import lb_port, start_backend, start_lb, wait_for
from trio_lb.admin.commands.streams import human_time

GET = b"GET /held HTTP/1.1\r\nhost: x\r\n\r\n"
LINE = re.compile(
    r"^0x[0-9a-f]+: proto=(\S+) src=(\S+) fe=(\S+) be=(\S+) srv=(\S+) ts=00 epoch=(0|0x[0-9a-f]+) age=\d+s "
    r"calls=\d+ rate=0 cpu=0 lat=0 rq\[f=[0-9a-f]+h,i=0,an=[0-9a-f]+h,rx=\S*,wx=,ax=\] "
    r"rp\[f=[0-9a-f]+h,i=0,an=[0-9a-f]+h,rx=\S*,wx=,ax=\] scf=\[8,[0-9a-f]+h,fd=\d+\] "
    r"scb=\[8,[0-9a-f]+h,fd=-?\d+\] exp=\S* rc=0 c_exp=$")


def config(sock: Path, http_port: int, tcp_port: int, log_port: int) -> str:
    return f"""
global
    stats socket {sock} level admin
    stats socket {sock}.op level operator
    stats socket {sock}.user level user
    log 127.0.0.1:{log_port} format raw local0
defaults
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    mode http
    option httplog
    bind 127.0.0.1:0
    default_backend be
backend be
    mode http
    server s1 127.0.0.1:{http_port}
listen tcpx
    mode tcp
    option tcplog
    bind 127.0.0.1:0
    server t1 127.0.0.1:{tcp_port}
"""


async def _udp_sink(task_status=trio.TASK_STATUS_IGNORED):
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", 0))
    send, receive = trio.open_memory_channel(100)
    task_status.started((sock.getsockname()[1], receive))
    while True:
        await send.send((await sock.recv(65536)).decode())


async def _echo_tcp(task_status=trio.TASK_STATUS_IGNORED):
    async def echo(stream):
        async for data in stream:
            await stream.send_all(data)

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(echo, listeners)


async def _setup(nursery, tmp_path):
    release = trio.Event()

    async def held(backend, request, body):
        await release.wait()
        return 200, [], b"late\n"

    be = await start_backend(nursery, "s1", held)
    tcp_port = await nursery.start(_echo_tcp)
    log_port, logs = await nursery.start(_udp_sink)
    sock = tmp_path / "admin.sock"
    lb = await start_lb(nursery, config(sock, be.port, tcp_port, log_port))
    while not (await logs.receive()).startswith("Proxy tcpx"):
        pass
    return lb, sock, logs, release


async def _held_http(lb, runtime) -> trio.SocketStream:
    stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
    await stream.send_all(GET)
    server = runtime.backends["be"].server("s1")
    await wait_for(lambda: server.cur_sess == 1)
    return stream


async def _tcp_session(lb) -> trio.SocketStream:
    stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "tcpx"))
    await stream.send_all(b"ping")
    assert await stream.receive_some(10) == b"ping"
    return stream


async def _until(stream: trio.SocketStream, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = await stream.receive_some(1000)
        assert chunk, data
        data += chunk
    return data


async def _closed(stream: trio.SocketStream) -> bool:
    try:
        return await stream.receive_some(100) == b""
    except trio.BrokenResourceError:
        return True
    finally:
        await stream.aclose()


async def test_show_sess_lists_streams_in_flight_and_the_cli_itself(nursery, tmp_path):
    with trio.fail_after(10):
        lb, sock, _, release = await _setup(nursery, tmp_path)
        http = await _held_http(lb, lb.runtime)
        tcp = await _tcp_session(lb)
        idle = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))  # no request: no stream
        out = await admin(sock, "show sess")
        assert out.endswith("\n\n")
        lines = out[:-1].splitlines()
        assert len(lines) == 3, out
        fields = [LINE.match(line) for line in lines]
        assert all(fields), out
        seen = {m.group(3): m.groups() for m in fields}
        assert seen["fe"][:5] == ("tcpv4", f"127.0.0.1:{http.socket.getsockname()[1]}", "fe", "be", "s1")
        assert seen["tcpx"][:5] == ("tcpv4", f"127.0.0.1:{tcp.socket.getsockname()[1]}", "tcpx", "tcpx", "t1")
        assert seen["GLOBAL"][:5] == ("unix_stream", "unix:1", "GLOBAL", "<NONE>", "<none>")
        # the full dump of one stream, by its pointer
        ptr = next(line.split(":")[0] for line in lines if " fe=fe " in line)
        dump = await admin(sock, f"show sess {ptr}")
        assert dump.startswith(f"{ptr}: [") and " proto=tcpv4 source=127.0.0.1:" in dump.splitlines()[0]
        assert "  frontend=fe (id=2 mode=http)" in dump and "  server=s1 (id=1) addr=127.0.0.1:" in dump
        assert dump.count("\n\n") == 1 and dump.endswith("\n\n")
        all_ = await admin(sock, "show sess all")
        assert all_.count(": [") == 3
        release.set()
        assert await _until(http, b"late")
        for stream in (idle, http, tcp):
            await stream.aclose()


async def test_shutdown_session_kills_that_stream_only(nursery, tmp_path):
    with trio.fail_after(10):
        lb, sock, logs, release = await _setup(nursery, tmp_path)
        victim = await _held_http(lb, lb.runtime)
        tcp = await _tcp_session(lb)
        lines = (await admin(sock, "show sess")).splitlines()
        ptr = next(line.split(":")[0] for line in lines if " fe=fe " in line)
        assert await admin(sock, f"shutdown session {ptr}") == "\n"
        assert await _closed(victim)
        line = await logs.receive()
        assert " fe be/s1 " in line and " KH-- " in line, line
        backend = lb.runtime.backends["be"]
        await wait_for(lambda: backend.cur_sess == 0 and backend.server("s1").cur_sess == 0)
        # the TCP stream lives on, and the stream is gone from the list
        await tcp.send_all(b"still")
        assert await tcp.receive_some(10) == b"still"
        assert await admin(sock, f"shutdown session {ptr}") == "No such session (use 'show sess').\n\n"
        release.set()
        await tcp.aclose()


async def test_shutdown_sessions_server_cuts_that_servers_streams(nursery, tmp_path):
    with trio.fail_after(10):
        lb, sock, logs, release = await _setup(nursery, tmp_path)
        tcps = [await _tcp_session(lb) for _ in range(3)]
        http = await _held_http(lb, lb.runtime)
        assert await admin(sock, "shutdown sessions server tcpx/t1") == "\n"
        for stream in tcps:
            assert await _closed(stream)
        for _ in tcps:
            line = await logs.receive()
            assert " tcpx tcpx/t1 " in line and " KD " in line, line
        await wait_for(lambda: lb.runtime.backends["tcpx"].server("t1").cur_sess == 0)
        assert lb.runtime.streams.killed == 3
        release.set()
        assert await _until(http, b"late")  # the HTTP stream was not touched
        # a new TCP session works as before
        await (await _tcp_session(lb)).aclose()
        await http.aclose()


async def test_stream_command_errors_and_levels(nursery, tmp_path):
    with trio.fail_after(10):
        lb, sock, _, _ = await _setup(nursery, tmp_path)
        assert await admin(sock, "shutdown session") == "Session pointer expected (use 'show sess').\n\n"
        assert await admin(sock, "shutdown session zz") == "Session pointer expected (use 'show sess').\n\n"
        assert await admin(sock, "shutdown session 0x1234") == "No such session (use 'show sess').\n\n"
        assert await admin(sock, "show sess 0x1234") == "Session not found.\n\n"
        assert await admin(sock, "shutdown sessions server tcpx/nope") == "No such server.\n\n"
        assert await admin(sock, "shutdown sessions server nope") == "Require 'backend/server'.\n\n"
        assert LINE.match((await admin(Path(f"{sock}.op"), "show sess")).splitlines()[0])
        assert await admin(Path(f"{sock}.user"), "show sess") == "Permission denied\n\n"
        assert await admin(Path(f"{sock}.op"), "shutdown session 0x1") == "Permission denied\n\n"


def test_human_time_is_haproxys():
    assert [human_time(t) for t in (0, 5, 60, 61, 3600, 3661, 86400, 90061, -1)] == [
        "0s", "5s", "1m", "1m1s", "1h", "1h1m", "1d", "1d1h", "?"]


async def test_show_activity_and_pools_count_what_is_alive(nursery, tmp_path):
    with trio.fail_after(10):
        lb, sock, _, release = await _setup(nursery, tmp_path)
        http = await _held_http(lb, lb.runtime)
        tcp = await _tcp_session(lb)
        activity = (await admin(sock, "show activity")).splitlines()
        assert activity[0] == "thread_id: 1 (1..1)" and re.fullmatch(r"date_now: \d+\.\d{6}", activity[1])
        values = {}
        for line in activity[2:-1]:
            m = re.fullmatch(r"(\w+): (\d+) \[ (\d+) \]", line)
            assert m and m.group(2) == m.group(3), line
            values[m.group(1)] = int(m.group(2))
        assert values["accepted"] == 2 and values["streams"] == 3 and values["tasks"] > 3
        pools = (await admin(sock, "show pools")).splitlines()
        assert pools[0] == "Dumping pools usage. Use SIGQUIT to flush them."
        rows = {m.group(1): int(m.group(3)) for m in (
            re.fullmatch(r"  - Pool (\w+) \((\d+) bytes\) : (\d+) allocated \(\d+ bytes\), \d+ used "
                         r"\(~0 by thread caches\), needed_avg \d+, 0 failures, 1 users, @0x[0-9a-f]+ \[SHARED\]", line)
            for line in pools[1:-2])}
        assert rows == {"HttpSession": 1, "TcpSession": 1, "CliStream": 1}
        assert re.fullmatch(r"Total: 3 pools, \d+ bytes allocated, \d+ used \(~0 by thread caches\)\.", pools[-2])
        release.set()
        assert await _until(http, b"late")
        for stream in (http, tcp):
            await stream.aclose()
