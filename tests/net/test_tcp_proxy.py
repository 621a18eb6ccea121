"""mode tcp end to end with raw sockets: relay, half-close, balancing, backup, no server."""

from __future__ import annotations

import socket

import trio

from tests.support import lb_port, start_lb, wait_for


async def tcp_server(name: str, *, task_status=trio.TASK_STATUS_IGNORED, greeting: bool = True):
    """Echo server that says who it is first, and echoes until the client half-closes,
    then sends `bye` and closes."""
    listener = trio.socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    await listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    state = {"port": listener.getsockname()[1], "open": 0, "accepted": 0}
    task_status.started(state)

    async def one(sock):
        state["open"] += 1
        stream = trio.SocketStream(sock)
        try:
            if greeting:
                await stream.send_all(f"{name}\n".encode())
            async for data in stream:
                await stream.send_all(data)
            await stream.send_all(b"bye\n")
        except trio.BrokenResourceError:
            pass
        finally:
            state["open"] -= 1
            await stream.aclose()

    async with trio.open_nursery() as nursery:
        try:
            while True:
                sock, _ = await listener.accept()
                state["accepted"] += 1
                nursery.start_soon(one, sock)
        finally:
            listener.close()


async def read_line(stream: trio.SocketStream) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await stream.receive_some(1024)
        if not chunk:
            break
        data += chunk
    return data


def tcp_config(servers: list[tuple[str, int, str]], balance: str = "roundrobin", extra: str = "") -> str:
    lines = "\n".join(f"    server {n} 127.0.0.1:{p} {opts}" for n, p, opts in servers)
    return f"""
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen db
    bind 127.0.0.1:0
    balance {balance}
{extra}
{lines}
"""


async def test_relay_half_close_and_roundrobin(nursery):
    with trio.fail_after(10):
        a = await nursery.start(tcp_server, "a")
        b = await nursery.start(tcp_server, "b")
        lb = await start_lb(nursery, tcp_config([("a", a["port"], ""), ("b", b["port"], "")]))
        port = lb_port(lb, "db")
        names = []
        for _ in range(4):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            names.append(await read_line(stream))
            await stream.send_all(b"ping\n")
            assert await read_line(stream) == b"ping\n"
            await stream.send_eof()  # half-close: the reply must still arrive
            assert await read_line(stream) == b"bye\n"
            await stream.aclose()
        assert names == [b"a\n", b"b\n"] * 2
        be = lb.runtime.backends["db"]
        await wait_for(lambda: lb.runtime.actconn == 0)
        assert be.server("a").counters.stot == 2
        assert be.counters.bin == 4 * len(b"ping\n")


async def test_leastconn_prefers_the_idle_server(nursery):
    with trio.fail_after(10):
        a = await nursery.start(tcp_server, "a")
        b = await nursery.start(tcp_server, "b")
        lb = await start_lb(nursery, tcp_config([("a", a["port"], ""), ("b", b["port"], "")], balance="leastconn"))
        port = lb_port(lb, "db")
        be = lb.runtime.backends["db"]
        first = await trio.open_tcp_stream("127.0.0.1", port)
        second = await trio.open_tcp_stream("127.0.0.1", port)
        x, y = await read_line(first), await read_line(second)
        assert {x, y} == {b"a\n", b"b\n"}
        await first.aclose()  # x now serves nothing, y still one connection
        x_state = be.server(x.decode().strip())
        await wait_for(lambda: x_state.cur_sess == 0)
        for _ in range(2):  # the least loaded wins every time while y stays busy
            third = await trio.open_tcp_stream("127.0.0.1", port)
            assert await read_line(third) == x
            await third.aclose()
            await wait_for(lambda: x_state.cur_sess == 0)
        await second.aclose()


async def test_backup_only_when_actives_are_down(nursery):
    with trio.fail_after(10):
        a = await nursery.start(tcp_server, "a")
        bk = await nursery.start(tcp_server, "bk")
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
        dead.close()
        lb = await start_lb(nursery, tcp_config(
            [("a", a["port"], "check inter 100ms fall 1 rise 1"),
             ("gone", dead_port, "check inter 100ms fall 1 rise 1"),
             ("bk", bk["port"], "backup")]))
        port = lb_port(lb, "db")
        be = lb.runtime.backends["db"]
        await wait_for(lambda: not be.server("gone").usable)  # its first check fails
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        assert await read_line(stream) == b"a\n"
        await stream.aclose()
        # take `a` out: maintenance through the runtime, as the admin socket will
        be.server("a").set_admin("maint", trio.current_time())
        be.server_changed(be.server("a"), trio.current_time())
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        assert await read_line(stream) == b"bk\n"
        await stream.aclose()


async def test_no_usable_server_closes_the_connection(nursery):
    with trio.fail_after(10):
        lb = await start_lb(nursery, """
defaults
    mode tcp
    timeout connect 200ms
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:0
""")
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "f"))
        assert await stream.receive_some(10) == b""
        await stream.aclose()


async def test_tcp_idle_timeout(nursery):
    with trio.fail_after(10):
        a = await nursery.start(tcp_server, "a")
        lb = await start_lb(nursery, tcp_config([("a", a["port"], "")]).replace(
            "timeout client 5s", "timeout client 300ms"))
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "db"))
        assert await read_line(stream) == b"a\n"
        t0 = trio.current_time()
        assert await stream.receive_some(10) == b""  # closed by the LB after 300 ms of silence
        assert 0.25 < trio.current_time() - t0 < 2
        await stream.aclose()
