"""`add server` / `del server` on a running trio-lb, as a deploy script drives them over socat:
a new server takes traffic once ready, its health check runs once enabled, and deleting it
waits until it is in maintenance and idle; nothing else is disturbed."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from tests.net.test_admin_server_commands import lb_config, served_by
from tests.support import lb_port, socat, start_backend, start_lb, wait_for


async def _counting_listener(task_status=trio.TASK_STATUS_IGNORED):
    """A TCP port that counts the connections it gets (a health check target)."""
    seen = [0]

    async def handler(stream):
        seen[0] += 1
        await stream.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started((listeners[0].socket.getsockname()[1], seen))
    await trio.serve_listeners(handler, listeners)


async def test_added_server_takes_traffic_once_ready_and_leaves_cleanly(nursery, tmp_path):
    with trio.fail_after(20):
        b1 = await start_backend(nursery, "s1")
        b2 = await start_backend(nursery, "s2")
        b3 = await start_backend(nursery, "s3")
        sock: Path = tmp_path / "admin.sock"
        lb = await start_lb(nursery, lb_config(sock, b1.port, b2.port))
        backend = lb.runtime.backends["be"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            assert await socat(sock, f"add server be/s3 127.0.0.1:{b3.port} weight 1\n") == "New server registered.\n\n"
            assert backend.server("s3").id == 3
            assert "s3" not in await served_by(client, 6)  # in maintenance until set ready
            assert await socat(sock, "set server be/s3 state ready\n") == "\n"
            assert set(await served_by(client, 6)) == {"s1", "s2", "s3"}
            assert (await socat(sock, "show stat\n")).count("\nbe,s3,") == 1
            assert await socat(sock, "del server be/s3\n") == "Only servers in maintenance mode can be deleted.\n"
            assert await socat(sock, "set server be/s3 state maint; del server be/s3\n") == "\nServer deleted.\n"
            assert backend.server("s3") is None and "\nbe,s3," not in await socat(sock, "show stat\n")
            hits = b3.hits
            assert set(await served_by(client, 6)) == {"s1", "s2"} and b3.hits == hits
            # the name and the id are free again
            assert await socat(sock, f"add server be/s3 127.0.0.1:{b3.port}\n") == "New server registered.\n\n"
            assert backend.server("s3").id == 3


async def test_del_server_refuses_while_a_request_is_in_flight(nursery, tmp_path):
    with trio.fail_after(20):
        release = trio.Event()

        async def slow(backend, request, body):
            await release.wait()
            return 200, [], b"slow\n"

        b1 = await start_backend(nursery, "s1")
        b3 = await start_backend(nursery, "s3", slow)
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, lb_config(sock, b1.port, b1.port))
        await socat(sock, f"add server be/s3 127.0.0.1:{b3.port}; set server be/s2 state maint\n")
        await socat(sock, "set server be/s1 state maint; set server be/s3 state ready\n")
        s3 = lb.runtime.backends["be"].server("s3")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            async with trio.open_nursery() as inner:
                result = []

                async def request():
                    result.append((await client.get("/")).text)

                inner.start_soon(request)
                await wait_for(lambda: s3.cur_sess == 1)
                reply = await socat(sock, "set server be/s3 state maint; del server be/s3\n")
                assert reply == "\nServer still has connections attached to it, cannot remove it.\n"
                release.set()
            assert result == ["slow\n"]  # the request in flight was not lost
            assert await socat(sock, "del server be/s3\n") == "Server deleted.\n"


async def test_dynamic_server_checks_start_with_enable_health_and_stop_with_del(nursery, tmp_path):
    with trio.fail_after(20):
        b1 = await start_backend(nursery, "s1")
        port, seen = await nursery.start(_counting_listener)
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, lb_config(sock, b1.port, b1.port))
        reply = await socat(sock, f"add server be/c1 127.0.0.1:{port} check inter 100ms rise 1 fall 1\n")
        assert reply == "New server registered.\n\n"
        c1 = lb.runtime.backends["be"].server("c1")
        state = (await socat(sock, "show servers state be\n")).splitlines()[-2].split()
        assert state[3] == "c1" and state[13] == "2"  # check configured, not enabled
        await socat(sock, "set server be/c1 state ready\n")
        assert c1.usable and seen[0] == 0 and not c1.checks_enabled
        assert await socat(sock, "enable health be/c1\n") == "\n"
        await wait_for(lambda: seen[0] >= 2)  # probes run now
        assert c1.health.last is not None and c1.health.last.status == "L4OK"
        await socat(sock, "set server be/c1 state maint; del server be/c1\n")
        count = seen[0]
        await trio.sleep(0.3)  # three check intervals: a live check task would have probed again
        assert seen[0] == count


async def _tls_http_server(task_status=trio.TASK_STATUS_IGNORED):
    """An HTTPS server that speaks TLS only and answers every request with "tls"."""
    import ssl

    import trustme

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("localhost").configure_cert(context)

    async def answer(stream):
        data = b""
        try:
            while True:  # keep-alive: one answer per request head
                while b"\r\n\r\n" not in data:
                    chunk = await stream.receive_some(4096)
                    if not chunk:
                        return
                    data += chunk
                data = data[data.index(b"\r\n\r\n") + 4:]
                await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntls")
        except trio.BrokenResourceError:
            pass
        finally:
            await trio.aclose_forcefully(stream)

    listeners = await trio.open_ssl_over_tcp_listeners(0, context, host="127.0.0.1")
    task_status.started(listeners[0].transport_listener.socket.getsockname()[1])
    await trio.serve_listeners(answer, listeners)


async def test_added_server_with_ssl_is_reached_over_tls(nursery, tmp_path):
    with trio.fail_after(20):
        b1 = await start_backend(nursery, "s1")
        tls_port = await nursery.start(_tls_http_server)
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, lb_config(sock, b1.port, b1.port))
        reply = await socat(sock, f"add server be/t1 127.0.0.1:{tls_port} ssl verify none\n")
        assert reply == "New server registered.\n\n"
        await socat(sock, "set server be/s1 state maint; set server be/s2 state maint; set server be/t1 state ready\n")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            assert [(await client.get("/")).text for _ in range(2)] == ["tls", "tls"]
        await socat(sock, "set server be/t1 state maint; del server be/t1\n")
        assert ("be", "t1") not in lb.runtime.tls.servers
