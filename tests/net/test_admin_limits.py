"""Frontend states and runtime limits over a real stats socket, with their effect on real client
connections: a paused frontend leaves new clients in the backlog until it is enabled, a shut
one refuses them, maxconn changes apply at once, the connection rate limit holds. And the Gate
alone under trio's MockClock for the rate-limit timing."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from tests.support import lb_port, start_backend, start_lb
from trio_lb.net.listeners import Gate
from trio_lb.state.proxies import FrontendState

GET = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"


def config(sock: Path, port: int, *, server: str = "", glob: str = "") -> str:
    return f"""
global
    stats socket {sock} level admin
{glob}
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:{port} {server}
"""


async def admin(path: Path, line: str) -> str:
    stream = await trio.open_unix_socket(str(path))
    await stream.send_all(line.encode() + b"\n")
    out = b""
    while chunk := await stream.receive_some(65536):
        out += chunk
    await stream.aclose()
    return out.decode()


async def client(port: int) -> trio.SocketStream:
    return await trio.open_tcp_stream("127.0.0.1", port)


async def response(stream: trio.SocketStream) -> bytes:
    """One whole response to GET (the test backend's bodies end with a LF)."""
    out = b""
    while not (b"\r\n\r\n" in out and out.endswith(b"\n") and not out.endswith(b"\r\n\r\n")):
        chunk = await stream.receive_some(65536)
        assert chunk, f"closed after {out!r}"
        out += chunk
    return out


async def no_response(stream: trio.SocketStream, wait: float = 0.3) -> bool:
    """Nothing arrives for `wait` seconds (a client left in the kernel backlog)."""
    with trio.move_on_after(wait):
        await stream.receive_some(65536)
        return False
    return True


async def test_disabled_frontend_accepts_nothing_new_until_enabled(nursery, tmp_path):
    with trio.fail_after(10):
        be = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, be.port))
        port = lb_port(lb, "fe")
        old = await client(port)
        await old.send_all(GET)
        assert b" 200 " in await response(old)
        assert await admin(sock, "disable frontend fe") == "\n"
        assert "fe,FRONTEND," in (stat := await admin(sock, "show stat")) and ",PAUSED," in stat
        new = await client(port)  # the kernel completes the handshake: it waits in the backlog
        await new.send_all(GET)
        assert await no_response(new)
        assert lb.runtime.frontends["fe"].counters.stot == 1
        await old.send_all(GET)  # established connections go on
        assert b" 200 " in await response(old)
        assert await admin(sock, "enable frontend fe") == "\n"
        assert b" 200 " in await response(new)
        assert lb.runtime.frontends["fe"].counters.stot == 2
        for stream in (old, new):
            await stream.aclose()


async def test_shutdown_frontend_refuses_new_clients(nursery, tmp_path):
    with trio.fail_after(10):
        be = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, be.port))
        port = lb_port(lb, "fe")
        old = await client(port)
        await old.send_all(GET)
        assert b" 200 " in await response(old)
        assert await admin(sock, "shutdown frontend fe") == "\n"
        with pytest.raises(OSError):
            await client(port)
        await old.send_all(GET)
        assert b" 200 " in await response(old)
        await old.aclose()
        assert await admin(sock, "enable frontend fe") == "Frontend was previously shut down, cannot enable.\n\n"


async def test_frontend_and_global_maxconn_apply_at_once(nursery, tmp_path):
    with trio.fail_after(10):
        be = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, be.port))
        port = lb_port(lb, "fe")
        assert await admin(sock, "set maxconn frontend fe 1") == "\n"
        first = await client(port)
        await first.send_all(GET)
        assert b" 200 " in await response(first)  # keep-alive: the session stays
        second = await client(port)
        await second.send_all(GET)
        assert await no_response(second)
        assert await admin(sock, "set maxconn frontend fe 2") == "\n"
        assert b" 200 " in await response(second)
        # the process limit now: 2 sessions are open
        assert await admin(sock, "set maxconn global 2") == "\n"
        third = await client(port)
        await third.send_all(GET)
        assert await admin(sock, "set maxconn frontend fe 10") == "\n"
        assert await no_response(third)
        assert "Maxconn: 2\n" in await admin(sock, "show info")
        assert await admin(sock, "set maxconn global 0") == "\n"  # back to the hard limit
        assert b" 200 " in await response(third)
        for stream in (first, second, third):
            await stream.aclose()


async def test_raising_server_maxconn_dispatches_the_queue(nursery, tmp_path):
    release = trio.Event()

    async def slow(backend, event, body):
        await release.wait()
        return 200, [], b"slow\n"

    with trio.fail_after(10):
        be = await start_backend(nursery, "s1", slow)
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, be.port, server="maxconn 1"))
        port = lb_port(lb, "fe")
        streams = [await client(port) for _ in range(2)]
        for stream in streams:
            await stream.send_all(GET)
        backend = lb.runtime.backends["be"]
        while not (be.active == 1 and backend.queued() == 1):
            await trio.testing.wait_all_tasks_blocked()
        assert await admin(sock, "set maxconn server be/s1 2") == "\n"
        while be.active != 2:
            await trio.testing.wait_all_tasks_blocked()
        release.set()
        for stream in streams:
            assert b" 200 " in await response(stream)
            await stream.aclose()


async def test_connection_rate_limit_holds(nursery, tmp_path):
    limit, clients = 20, 26
    with trio.fail_after(10):
        be = await start_backend(nursery, "s1")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, be.port))
        port = lb_port(lb, "fe")
        assert await admin(sock, f"set rate-limit connections global {limit}") == "\n"
        assert "ConnRate" in await admin(sock, "show info")
        rt = lb.runtime
        done = []

        async def one() -> None:
            stream = await client(port)
            await stream.send_all(GET)
            done.append(await response(stream))
            await stream.aclose()

        async with trio.open_nursery() as inner:
            for _ in range(clients):
                inner.start_soon(one)
        assert len(done) == clients and all(b" 200 " in r for r in done)
        # never more than `limit` accepted within one second (the admin socket is not counted)
        assert 0 < rt.conn_rate.max <= limit and rt.cum_conns == clients


# -- the Gate alone, on trio's mock clock ---------------------------------------------------------

class _Rt:
    """The parts of a Runtime the Gate reads."""

    def __init__(self, maxconn: int = 100) -> None:
        from trio_lb.state.counters import Counters
        self.maxconn = maxconn
        self.actconn = 0
        self.cum_conns = 0
        self.conn_rate = Counters().conn_rate
        self.rate_limit_conns = 0
        self.rate_limit_sess = 0
        self.admission_watchers: list = []

    def admission_changed(self) -> None:
        for watcher in self.admission_watchers:
            watcher()


def _frontend(maxconn: int = 100) -> FrontendState:
    import trio_lb.config as config_pkg

    cfg = config_pkg.parse(f"frontend f\n    bind 127.0.0.1:0\n    maxconn {maxconn}\n", "t.cfg")
    return FrontendState(cfg.proxies[0], 100)


async def test_gate_rate_limit_timing(autojump_clock):
    rt, fe = _Rt(), _frontend()
    gate = Gate(rt, fe)
    autojump_clock.jump(10.25 - trio.current_time())
    rt.rate_limit_sess = 3
    for _ in range(3):
        assert not gate.full()
        gate.enter()
    assert gate.blocked() == "rate"
    start = trio.current_time()
    while gate.full():
        await gate.wait()
    # this second's 3 accepts count in full until the next second begins
    assert 11.0 <= trio.current_time() < 11.0 + 0.005 and trio.current_time() > start
    gate.enter()
    assert gate.blocked() == "rate"
    rt.rate_limit_conns = 100  # the tighter of the two limits applies
    assert gate.blocked() == "rate"
    rt.rate_limit_sess = 0
    assert gate.blocked() is None


async def test_gate_wakes_on_admission_changes(autojump_clock):
    rt, fe = _Rt(maxconn=1), _frontend()
    gate, other = Gate(rt, fe), Gate(rt, _frontend())
    gate.enter()
    assert other.blocked() == "full"  # the process limit
    woke = trio.Event()

    async def waiter() -> None:
        await other.wait()
        woke.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        gate.leave()  # a session of another frontend ends at the process limit
        await woke.wait()
    fe.enabled = False
    assert gate.blocked() == "paused"
    woke = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _wait_then(gate, woke))
        await trio.testing.wait_all_tasks_blocked()
        fe.enabled = True
        rt.admission_changed()
        await woke.wait()
    fe.stopped = True
    assert gate.blocked() == "stopped"


async def _wait_then(gate: Gate, event: trio.Event) -> None:
    await gate.wait()
    event.set()
