"""TLS passthrough in mode tcp, routed by SNI: the load balancer reads the ClientHello it does
not terminate (`tcp-request inspect-delay` + `req.ssl_sni`) and relays the bytes untouched to
the pool serving that name; the client verifies the end server's certificate through it."""

from __future__ import annotations

import ssl

import trio
import trustme

from tests.support import lb_port, start_lb


async def _tls_server(ca: trustme.CA, name: str, task_status=trio.TASK_STATUS_IGNORED):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)

    async def answer(stream: trio.SSLStream) -> None:
        await stream.do_handshake()
        await stream.send_all(f"served by {name}\n".encode())
        await stream.aclose()

    listeners = await trio.open_ssl_over_tcp_listeners(0, context, host="127.0.0.1")
    task_status.started(listeners[0].transport_listener.socket.getsockname()[1])
    await trio.serve_listeners(answer, listeners)


def config(port_a: int, port_b: int) -> str:
    return f"""
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend tls_in
    bind 127.0.0.1:0
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req_ssl_hello_type 1 }}
    use_backend be_a if {{ req.ssl_sni -i a.example.test }}
    use_backend be_b if {{ req.ssl_sni -i b.example.test }}
backend be_a
    server a 127.0.0.1:{port_a}
backend be_b
    server b 127.0.0.1:{port_b}
"""


async def _fetch(port: int, ca: trustme.CA, name: str) -> bytes:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    stream = trio.SSLStream(await trio.open_tcp_stream("127.0.0.1", port), context, server_hostname=name)
    data = b""
    while chunk := await stream.receive_some(1024):
        data += chunk
    await stream.aclose()
    return data


async def test_sni_routes_tls_it_does_not_terminate(nursery):
    with trio.fail_after(15):
        ca = trustme.CA()
        port_a = await nursery.start(_tls_server, ca, "a.example.test")
        port_b = await nursery.start(_tls_server, ca, "b.example.test")
        lb = await start_lb(nursery, config(port_a, port_b))
        port = lb_port(lb, "tls_in")
        assert await _fetch(port, ca, "b.example.test") == b"served by b.example.test\n"
        assert await _fetch(port, ca, "a.example.test") == b"served by a.example.test\n"
