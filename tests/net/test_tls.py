"""TLS on the raw-socket path (net/sockio.py tls_*, net/tls.py): handshake, reads and writes
through OpenSSL's WANT_READ/WANT_WRITE, idle-connection probing, the relay's TLS end, and
health checks over TLS. Certificates from trustme; the peers are trio.SSLStream."""

from __future__ import annotations

import socket
import ssl
from types import SimpleNamespace

import pytest
import trio
import trustme

from trio_lb.config.model import CheckSpec
from trio_lb.net import sockio, tls
from trio_lb.net.checks import probe
from trio_lb.net.relay import RelayStats
from trio_lb.net.watchdog import Watchdog


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_ctx(ca: trustme.CA, name: str = "lb.example") -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(ctx)
    return ctx


def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


async def test_handshake_then_large_transfers_both_ways(ca: trustme.CA) -> None:
    """2 MiB each way through a 64 KiB-ish socket buffer: WANT_WRITE on send, WANT_READ on recv."""
    a, b = pair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    server = tls.wrap_server(a, server_ctx(ca))
    client = trio.SSLStream(trio.SocketStream(trio.socket.from_stdlib_socket(b)), client_ctx(ca),
                            server_hostname="lb.example")
    payload = bytes(range(256)) * 8192
    dog = Watchdog()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(dog.run)
            nursery.start_soon(client.do_handshake)
            watch = dog.watch()
            with watch:
                assert await tls.handshake(server, watch, 5)
                assert server.version() in ("TLSv1.2", "TLSv1.3")

                async def client_side() -> bytes:
                    got = bytearray()
                    while len(got) < len(payload):
                        got += await client.receive_some(65536)
                    await client.send_all(payload[::-1])
                    return bytes(got)

                result = {}

                async def run_client() -> None:
                    result["got"] = await client_side()

                nursery.start_soon(run_client)
                assert await sockio.tls_send_within(server, watch, payload, 5)
                back = bytearray()
                while len(back) < len(payload):
                    data = await sockio.tls_recv_within(server, watch, 5)
                    assert data
                    back += data
                assert bytes(back) == payload[::-1]
            nursery.cancel_scope.cancel()
    assert result["got"] == payload
    server.close()


async def test_recv_timeout_and_close_notify(ca: trustme.CA, autojump_clock: trio.abc.Clock) -> None:
    a, b = pair()
    server = tls.wrap_server(a, server_ctx(ca))
    client = trio.SSLStream(trio.SocketStream(trio.socket.from_stdlib_socket(b)), client_ctx(ca),
                            server_hostname="lb.example")
    dog = Watchdog()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dog.run)
        nursery.start_soon(client.do_handshake)
        watch = dog.watch()
        with watch:
            assert await tls.handshake(server, watch, 5)
            t0 = trio.current_time()
            assert await sockio.tls_recv_within(server, watch, 2.0, wait_first=True) is None
            assert 2.0 <= trio.current_time() - t0 < 2.5
            assert sockio.tls_is_idle_alive(server)
            await client.aclose()  # close_notify + close
            assert await sockio.tls_recv_within(server, watch, 2.0) == b""
            assert not sockio.tls_is_idle_alive(server)
        nursery.cancel_scope.cancel()
    server.close()


async def test_handshake_failures_return_false(ca: trustme.CA, autojump_clock: trio.abc.Clock) -> None:
    dog = Watchdog()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dog.run)
        # a client that never speaks: the watch ends the handshake
        a, b = pair()
        server = tls.wrap_server(a, server_ctx(ca))
        watch = dog.watch()
        with watch:
            assert await tls.handshake(server, watch, 1.0) is False
            assert watch.fired
        server.close()
        b.close()
        # a client that does not trust the certificate
        a, b = pair()
        server = tls.wrap_server(a, server_ctx(ca))
        stranger = trio.SSLStream(trio.SocketStream(trio.socket.from_stdlib_socket(b)),
                                  client_ctx(trustme.CA()), server_hostname="lb.example")

        async def client() -> None:
            with pytest.raises(trio.BrokenResourceError):
                await stranger.do_handshake()

        nursery.start_soon(client)
        watch = dog.watch()
        with watch:
            assert await tls.handshake(server, watch, 5) is False
        server.close()
        # plain HTTP on a TLS port
        a, b = pair()
        server = tls.wrap_server(a, server_ctx(ca))
        b.send(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        with watch:
            assert await tls.handshake(server, watch, 5) is False
        server.close()
        b.close()
        nursery.cancel_scope.cancel()


def test_io_for_picks_per_connection(ca: trustme.CA) -> None:
    a, b = pair()
    assert sockio.io_for(a) == (sockio.recv_within, sockio.send_within)
    wrapped = tls.wrap_server(a, server_ctx(ca))
    assert sockio.io_for(wrapped) == (sockio.tls_recv_within, sockio.tls_send_within)
    wrapped.close()
    b.close()


async def test_relay_socks_between_tls_client_and_plain_server(ca: trustme.CA) -> None:
    """mode tcp with `bind ... ssl`: clear bytes relayed; the server's EOF reaches the client."""
    a, b = pair()  # client side: a = LB end (TLS), b = client
    c, d = pair()  # server side: c = LB end (plain), d = server
    lb_client = tls.wrap_server(a, server_ctx(ca))
    client = trio.SSLStream(trio.SocketStream(trio.socket.from_stdlib_socket(b)), client_ctx(ca),
                            server_hostname="lb.example")
    server = trio.SocketStream(trio.socket.from_stdlib_socket(d))
    stats = RelayStats()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.do_handshake)
            assert await tls.handshake(lb_client, None, 5)
            result = {}

            async def run_relay() -> None:
                result["state"] = await tls.relay_socks(lb_client, c, idle_timeout=5, stats=stats)

            nursery.start_soon(run_relay)
            await client.send_all(b"ping")
            assert await server.receive_some(100) == b"ping"
            await server.send_all(b"pong")
            await server.send_eof()
            got = b""
            while True:
                chunk = await client.receive_some(100)
                if not chunk:
                    break
                got += chunk
            assert got == b"pong"
            await client.aclose()
            assert await server.receive_some(100) == b""  # the client's end went on to the server
    assert result["state"] == "--"
    assert (stats.bytes_in, stats.bytes_out) == (4, 4)
    lb_client.close()
    c.close()
    d.close()


# --- health checks over TLS ------------------------------------------------------------------

async def tls_server(ctx: ssl.SSLContext, answer: bytes, *, task_status: trio.TaskStatus = trio.TASK_STATUS_IGNORED) -> None:
    async def handler(stream: trio.SSLStream) -> None:
        try:
            await stream.do_handshake()
            if answer:
                await stream.receive_some(65536)
                await stream.send_all(answer)
            await stream.aclose()
        except trio.BrokenResourceError:
            pass

    await trio.serve_ssl_over_tcp(handler, 0, ctx, host="127.0.0.1", task_status=task_status)


def check_tls(ca: trustme.CA, sni: str | None = "lb.example") -> SimpleNamespace:
    return SimpleNamespace(context=client_ctx(ca), server_hostname=lambda view: sni)


async def test_check_ssl_probes(ca: trustme.CA) -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(tls_server, server_ctx(ca), ok)
            port = listeners[0].transport_listener.socket.getsockname()[1]
            kw = dict(timeout=2, connect_timeout=2)
            tcp = await probe(CheckSpec(kind="tcp"), "127.0.0.1", port, tls=check_tls(ca), **kw)
            assert (tcp.status, tcp.info) == ("L6OK", "")
            http = await probe(CheckSpec(kind="http", uri="/health"), "127.0.0.1", port, tls=check_tls(ca), **kw)
            assert (http.status, http.code) == ("L7OK", 200)
            wrong = await probe(CheckSpec(kind="tcp"), "127.0.0.1", port, tls=check_tls(trustme.CA()), **kw)
            assert (wrong.status, wrong.info) == ("L6RSP", "SSL handshake failure")
            plain = await probe(CheckSpec(kind="http"), "127.0.0.1", port, **kw)  # no check-ssl: garbage reply
            assert plain.status in ("L7RSP", "SOCKERR")
            nursery.cancel_scope.cancel()


async def test_check_ssl_handshake_timeout(ca: trustme.CA) -> None:
    with trio.fail_after(5):
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts in the kernel, never answers the ClientHello
        port = listener.getsockname()[1]
        result = await probe(CheckSpec(kind="tcp"), "127.0.0.1", port, timeout=0.3, connect_timeout=0.3,
                             tls=check_tls(ca))
        assert result.status == "L6TOUT"
        listener.close()
