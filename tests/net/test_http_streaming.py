"""Bodies streamed both ways (chunked, content-length, > 100 MB with flat memory), 100-continue,
WebSocket upgrade tunnels, maxconn with the queue."""

from __future__ import annotations

import os

import httpx
import trio

from tests.support import http_config, lb_port, start_backend, start_lb, wait_for

try:
    import h11_mypyc as h11
except ImportError:
    import h11

BIG = 110 * 1024 * 1024  # > 100 MB
CHUNK = 256 * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def config(port: int, extra: str = "", timeouts: str = "") -> str:
    return http_config(port, backend=extra, timeouts=timeouts, client="10s", server="10s")


async def _streaming_server(task_status=trio.TASK_STATUS_IGNORED):
    """Counts request body bytes without keeping them; GET /big streams BIG bytes (chunked),
    /big-cl the same with a content-length; POST answers with the byte count."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    task_status.started(listener.getsockname()[1])
    async with trio.open_nursery() as nursery:
        while True:
            sock, _ = await listener.accept()
            nursery.start_soon(_stream_conn, trio.SocketStream(sock))


async def _stream_conn(stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    block = b"x" * CHUNK
    try:
        while True:
            event = await _next(conn, stream)
            if not isinstance(event, h11.Request):
                return
            if any(n == b"expect" for n, _ in event.headers):
                await stream.send_all(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            received = 0
            while True:
                ev = await _next(conn, stream)
                if isinstance(ev, h11.Data):
                    received += len(ev.data)
                else:
                    break
            target = event.target
            if target.startswith(b"/big"):
                headers = [("content-length", str(BIG))] if target == b"/big-cl" else [("transfer-encoding", "chunked")]
                await stream.send_all(conn.send(h11.Response(status_code=200, headers=headers)))
                for _ in range(BIG // CHUNK):
                    await stream.send_all(conn.send(h11.Data(data=block)))
                await stream.send_all(conn.send(h11.EndOfMessage()))
            else:
                body = str(received).encode()
                await stream.send_all(conn.send(h11.Response(status_code=200, headers=[("content-length", str(len(body)))])))
                await stream.send_all(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
            conn.start_next_cycle()
    except (trio.BrokenResourceError, h11.ProtocolError):
        pass
    finally:
        await stream.aclose()


async def _next(conn, stream):
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await stream.receive_some(65536))


async def _upload(size: int):
    block = b"y" * CHUNK
    sent = 0
    while sent < size:
        yield block
        sent += len(block)


async def test_large_bodies_stream_both_ways_without_memory_growth(nursery):
    with trio.fail_after(120):
        port = await nursery.start(_streaming_server)
        lb = await start_lb(nursery, config(port))
        base = f"http://127.0.0.1:{lb_port(lb, 'fe')}"
        before = rss_bytes()
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            # chunked upload (no length known): re-framed as chunked toward the server
            r = await client.post("/up", content=_upload(BIG))
            assert int(r.text) == BIG // CHUNK * CHUNK
            # chunked download and content-length download
            for path in ("/big", "/big-cl"):
                total = 0
                async with client.stream("GET", path) as resp:
                    async for piece in resp.aiter_raw():
                        total += len(piece)
                assert total == BIG // CHUNK * CHUNK
        growth = rss_bytes() - before
        assert growth < 40 * 1024 * 1024, f"RSS grew by {growth} bytes"


async def test_content_length_upload_and_100_continue(nursery):
    with trio.fail_after(20):
        port = await nursery.start(_streaming_server)
        lb = await start_lb(nursery, config(port))
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        await stream.send_all(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = await stream.receive_some(4096)
        assert interim.startswith(b"HTTP/1.1 100 ")
        await stream.send_all(b"hello")
        data = b""
        while not data.endswith(b"\r\n\r\n5"):
            data += await stream.receive_some(4096)
        assert data.startswith(b"HTTP/1.1 200")
        await stream.aclose()


async def _websocket_server(task_status=trio.TASK_STATUS_IGNORED):
    """Answers an Upgrade with 101, then echoes bytes upper-cased."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    task_status.started(listener.getsockname()[1])
    sock, _ = await listener.accept()
    stream = trio.SocketStream(sock)
    conn = h11.Connection(h11.SERVER)
    event = await _next(conn, stream)
    assert isinstance(event, h11.Request)
    headers = dict(event.headers)
    assert headers[b"upgrade"] == b"websocket"
    await _next(conn, stream)  # EndOfMessage
    await stream.send_all(conn.send(h11.InformationalResponse(
        status_code=101, headers=[("connection", "upgrade"), ("upgrade", "websocket")])))
    pending = conn.trailing_data[0]
    if pending:
        await stream.send_all(pending.upper())
    async for data in stream:
        await stream.send_all(data.upper())
    await stream.aclose()
    listener.close()


async def test_websocket_upgrade_becomes_a_tunnel(nursery):
    with trio.fail_after(10):
        port = await nursery.start(_websocket_server)
        lb = await start_lb(nursery, config(port, timeouts="    timeout tunnel 5s"))
        stream = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        await stream.send_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += await stream.receive_some(4096)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"upgrade: websocket" in head.lower()
        for word in (b"hello", b"world"):
            await stream.send_all(word)
            got = b""
            while len(got) < len(word):
                got += await stream.receive_some(4096)
            assert got == word.upper()
        await stream.aclose()


async def _slow(backend, event, body):
    await trio.sleep(0.3)
    return 200, [], b"slow\n"


async def test_maxconn_queues_then_serves(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1", handler=_slow)
        lb = await start_lb(nursery, f"""
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:{backend.port} maxconn 1
""")
        port = lb_port(lb, "fe")
        peak = []
        statuses = []

        async def one():
            async with httpx.AsyncClient() as client:
                r = await client.get(f"http://127.0.0.1:{port}/")
                statuses.append(r.status_code)

        async def watch():
            while len(statuses) < 4:
                peak.append(backend.active)
                await trio.sleep(0.02)

        async with trio.open_nursery() as inner:
            inner.start_soon(watch)
            for _ in range(4):
                inner.start_soon(one)
        assert statuses == [200] * 4
        assert max(peak) == 1  # never more than maxconn at the server
        assert lb.runtime.backends["be"].counters.qmax >= 2


async def test_queue_timeout_gives_503(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1", handler=_slow)
        lb = await start_lb(nursery, f"""
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 100ms
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:{backend.port} maxconn 1
""")
        port = lb_port(lb, "fe")
        statuses = []

        async def one():
            async with httpx.AsyncClient() as client:
                statuses.append((await client.get(f"http://127.0.0.1:{port}/")).status_code)

        async with trio.open_nursery() as inner:
            for _ in range(2):
                inner.start_soon(one)
        assert sorted(statuses) == [200, 503]


async def test_frontend_maxconn_leaves_extra_clients_in_the_backlog(nursery):
    with trio.fail_after(10):
        port = await nursery.start(_streaming_server)
        lb = await start_lb(nursery, config(port).replace("    bind 127.0.0.1:0", "    bind 127.0.0.1:0\n    maxconn 1"))
        fe_port = lb_port(lb, "fe")
        first = await trio.open_tcp_stream("127.0.0.1", fe_port)
        await first.send_all(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na")
        assert (await first.receive_some(4096)).startswith(b"HTTP/1.1 200")
        # the first connection stays open (keep-alive): a second client is not served meanwhile
        second = await trio.open_tcp_stream("127.0.0.1", fe_port)  # the kernel completes the handshake
        await second.send_all(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb")
        with trio.move_on_after(0.3) as waited:
            await second.receive_some(4096)
        assert waited.cancelled_caught
        assert lb.runtime.frontends["fe"].cur_sess == 1
        await first.aclose()  # a slot frees up: the second is accepted and served
        assert (await second.receive_some(4096)).startswith(b"HTTP/1.1 200")
        await second.aclose()


async def test_client_leaving_the_queue_gives_everything_back(nursery):
    """A queued request whose client disconnects must not keep a session or a slot."""
    with trio.fail_after(10):
        port = await nursery.start(_streaming_server)
        lb = await start_lb(nursery, config(port, extra="", timeouts="    timeout queue 5s").replace(
            f"server s1 127.0.0.1:{port}", f"server s1 127.0.0.1:{port} maxconn 1"))
        be = lb.runtime.backends["be"]
        s1 = be.server("s1")
        holder = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        await holder.send_all(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")  # body unfinished
        await wait_for(lambda: s1.cur_sess == 1)
        quitter = await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe"))
        await quitter.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await wait_for(lambda: be.queued() == 1)
        await quitter.aclose()  # gone while queued: nothing reads its socket, but the LB is told at close
        await holder.send_all(b"cde")  # finish the first request: its slot frees up
        reply = b""
        while not reply.endswith(b"5"):
            reply += await holder.receive_some(4096)
        await holder.aclose()
        await wait_for(lambda: lb.runtime.actconn == 0)
        assert (s1.cur_sess, be.cur_sess, be.queued()) == (0, 0, 0)
