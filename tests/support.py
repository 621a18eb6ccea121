"""Test helpers: in-process trio-lb and real backend servers on 127.0.0.1, all started through
`nursery.start` so that nothing sleeps waiting for readiness."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import trio

import trio_lb.config as config_pkg
from trio_lb.net.main import Running, run

try:
    import h11_mypyc as h11
except ImportError:
    import h11


async def start_lb(nursery: trio.Nursery, text: str, **kw: Any) -> Running:
    """Parse `text` (an HAProxy config) and run it; returns the Running handle."""
    config = config_pkg.parse(text, "test.cfg")
    return await nursery.start(lambda task_status: run(config, quiet=True, task_status=task_status, **kw))


def lb_port(running: Running, frontend: str) -> int:
    return running.address(frontend)[1]


Handler = Callable[["HttpBackend", Any, bytes], Awaitable[tuple[int, list, bytes]]]


@dataclass
class HttpBackend:
    """A real HTTP/1.1 server (h11 over trio sockets) that records what it sees."""

    name: str
    port: int = 0
    hits: int = 0
    connections: int = 0
    requests: list = field(default_factory=list)  # (method, target, headers dict)
    handler: Handler | None = None
    scope: trio.CancelScope | None = None
    active: int = 0

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as self.scope:
            listener = trio.socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            await listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            self.port = listener.getsockname()[1]
            async with trio.open_nursery() as nursery:
                task_status.started(self.port)
                try:
                    while True:
                        sock, _ = await listener.accept()
                        nursery.start_soon(self._conn, trio.SocketStream(sock))
                finally:
                    listener.close()

    def stop(self) -> None:
        if self.scope is not None:
            self.scope.cancel()

    async def _conn(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = await _next(conn, stream)
                if not isinstance(event, h11.Request):
                    return
                self.active += 1
                try:
                    body = await _body(conn, stream)
                    self.hits += 1
                    headers = {k.decode(): v.decode() for k, v in event.headers}
                    self.requests.append((event.method.decode(), event.target.decode(), headers))
                    status, extra, payload = await self._answer(event, body)
                finally:
                    self.active -= 1
                hs = [("content-length", str(len(payload))), ("x-served-by", self.name), *extra]
                await stream.send_all(conn.send(h11.Response(status_code=status, headers=hs)))
                await stream.send_all(conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
                if conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            pass
        finally:
            await stream.aclose()

    async def _answer(self, event: Any, body: bytes) -> tuple[int, list, bytes]:
        if self.handler is not None:
            return await self.handler(self, event, body)
        return 200, [], f"{self.name}\n".encode()


async def _next(conn: Any, stream: trio.SocketStream) -> Any:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await stream.receive_some(65536))


async def _body(conn: Any, stream: trio.SocketStream) -> bytes:
    parts = []
    while True:
        event = await _next(conn, stream)
        if isinstance(event, h11.Data):
            parts.append(bytes(event.data))
        else:
            return b"".join(parts)


async def start_backend(nursery: trio.Nursery, name: str, handler: Handler | None = None, port: int = 0) -> HttpBackend:
    backend = HttpBackend(name, port=port, handler=handler)
    await nursery.start(backend.serve)
    return backend


async def raw_request(port: int, data: bytes, *, read_until_close: bool = True, timeout: float = 5) -> bytes:
    """Send raw bytes, return everything the LB answers until it closes (or `timeout`)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    out = b""
    with trio.move_on_after(timeout):
        await stream.send_all(data)
        while True:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            out += chunk
            if not read_until_close and b"\r\n\r\n" in out:
                break
    await stream.aclose()
    return out


async def wait_for(condition: Callable[[], bool], step: float = 0.01) -> None:
    """Wait until the LB's state reaches `condition` (the caller's fail_after bounds it).
    For state that settles after a peer's close, where there is no event to wait on."""
    while not condition():
        await trio.sleep(step)


def http_config(port: int, *, backend: str = "", frontend: str = "", timeouts: str = "",
                client: str = "5s", server: str = "5s") -> str:
    """The usual test config: frontend `fe` on port 0 -> backend `be` with one server `s1`.
    Extra lines go in `backend`, `frontend` and `timeouts` (added to defaults, last one wins)."""
    return f"""
defaults
    mode http
    timeout connect 1s
    timeout client {client}
    timeout server {server}
{timeouts}
frontend fe
    bind 127.0.0.1:0
{frontend}
    default_backend be
backend be
{backend}
    server s1 127.0.0.1:{port}
"""


async def socat(path: Any, command: str) -> str:
    """Send `command` to an admin socket the way operators do (`echo ... | socat stdio ...`)."""
    result = await trio.run_process(["socat", "stdio", f"UNIX-CONNECT:{path}"], stdin=command.encode(),
                                    capture_stdout=True)
    return result.stdout.decode()
