"""The stats socket server over real sockets: socat, raw half-closes, timeouts, maxconn, files."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import stat
from functools import partial
from pathlib import Path

import pytest
import trio

from tests.admin.support import Env, session_registry
from trio_lb.admin.registry import default_registry
from trio_lb.admin.session import Session
from trio_lb.config.model import StatsSocket
from trio_lb.net.admin_server import serve_admin

CTX = Env({"HOME": "/root"}, version="2.6.12-1+deb12u4")
SOCAT = shutil.which("socat")


async def _serve(nursery: trio.Nursery, spec: StatsSocket, *, timeout: float = 10.0, maxconn: int = 10,
                 slots: trio.Semaphore | None = None) -> object:
    return await nursery.start(partial(serve_admin, spec, session_registry(), CTX, timeout=timeout,
                                       maxconn=maxconn, slots=slots))


def _unix(tmp_path: Path, name: str = "admin.sock", **kw: object) -> StatsSocket:
    kw.setdefault("level", "admin")
    return StatsSocket(kind="unix", address=str(tmp_path / name), **kw)  # type: ignore[arg-type]


async def _connect(addr: object) -> trio.SocketStream:
    if isinstance(addr, str):
        return await trio.open_unix_socket(addr)
    host, port = addr  # type: ignore[misc]
    return await trio.open_tcp_stream(host, port)


async def _read_all(stream: trio.SocketStream) -> bytes:
    out = b""
    while chunk := await stream.receive_some():
        out += chunk
    return out


async def _converse(addr: object, data: bytes, *, half_close: bool = True) -> bytes:
    stream = await _connect(addr)
    async with stream:
        await stream.send_all(data)
        if half_close:
            await stream.send_eof()
        return await _read_all(stream)


async def _read_until(stream: trio.SocketStream, end: bytes) -> bytes:
    out = b""
    while not out.endswith(end):
        chunk = await stream.receive_some()
        assert chunk, out
        out += chunk
    return out


def _expected(data: bytes, level: str = "admin") -> bytes:
    return Session(session_registry(), CTX, level).feed(data)


# -- socat ----------------------------------------------------------------------------------------

@pytest.mark.skipif(SOCAT is None, reason="socat is not installed")
async def test_socat_one_shot(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path))
            proc = await trio.run_process([SOCAT, "stdio", f"UNIX-CONNECT:{path}"], stdin=b"help\n",
                                          capture_stdout=True)
            assert proc.stdout == _expected(b"help\n")
            assert proc.stdout.startswith(b"The following commands are valid at this level:\n")
            proc = await trio.run_process([SOCAT, "stdio", f"UNIX-CONNECT:{path}"],
                                          stdin=b"show version;show cli level\n", capture_stdout=True)
            assert proc.stdout == b"2.6.12-1+deb12u4\n\nadmin\n\n"
            nursery.cancel_scope.cancel()


@pytest.mark.skipif(SOCAT is None, reason="socat is not installed")
async def test_socat_interactive(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path, level="operator"))
            proc = await trio.run_process([SOCAT, "-", f"UNIX-CONNECT:{path}"],
                                          stdin=b"prompt\nshow cli level\nset timeout cli 60\nquit\n",
                                          capture_stdout=True)
            assert proc.stdout == b"\n> operator\n\n> \n> "
            nursery.cancel_scope.cancel()


# -- raw sockets -----------------------------------------------------------------------------------

async def test_half_closed_client_gets_its_answers(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path))
            assert await _converse(path, b"prompt\nshow version\nshow cli level\n") == (
                b"\n> 2.6.12-1+deb12u4\n\n> admin\n\n> ")
            nursery.cancel_scope.cancel()


async def test_final_line_without_newline_is_not_run(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path))
            assert await _converse(path, b"show version") == b""
            assert await _converse(path, b"show cli level\nshow version") == b"admin\n\n"
            nursery.cancel_scope.cancel()


async def test_closes_once_answered_without_waiting_for_eof(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path))
            assert await _converse(path, b"show cli level\n", half_close=False) == b"admin\n\n"
            nursery.cancel_scope.cancel()


async def test_prompt_session_over_several_exchanges(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path, level="user"))
            async with await _connect(path) as stream:
                await stream.send_all(b"prompt\n")
                assert await _read_until(stream, b"> ") == b"\n> "
                await stream.send_all(b"show cli level\n")
                assert await _read_until(stream, b"> ") == b"user\n\n> "
                await stream.send_all(b"show env\n")
                assert await _read_until(stream, b"> ") == b"Permission denied\n\n> "
                await stream.send_all(b"quit\n")
                assert await _read_all(stream) == b""
            nursery.cancel_scope.cancel()


async def test_tcp_ipv4(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            addr = await _serve(nursery, StatsSocket(kind="ipv4", address=("127.0.0.1", 0), level="admin"))
            assert addr[0] == "127.0.0.1" and addr[1] > 0
            assert await _converse(addr, b"show cli level\r\n") == b"admin\n\n"
            nursery.cancel_scope.cancel()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
async def test_tcp_ipv6(tmp_path: Path) -> None:
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            addr = await _serve(nursery, StatsSocket(kind="ipv6", address=("::1", 0)))
            assert await _converse(addr, b"show cli level\n") == b"operator\n\n"
            nursery.cancel_scope.cancel()


# -- timeouts and maxconn ---------------------------------------------------------------------------

async def test_idle_timeout_closes_silently(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path), timeout=10.0)
            async with await _connect(path) as stream:
                start = trio.current_time()
                assert await _read_all(stream) == b""
                assert 10.0 <= trio.current_time() - start < 11.0
            async with await _connect(path) as stream:  # idle in prompt mode, then a partial line
                await stream.send_all(b"prompt\n")
                assert await _read_until(stream, b"> ") == b"\n> "
                start = trio.current_time()
                await stream.send_all(b"show ver")
                assert await _read_all(stream) == b""
                assert 10.0 <= trio.current_time() - start < 11.0
            nursery.cancel_scope.cancel()


async def test_activity_rearms_the_timeout(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path), timeout=10.0)
            async with await _connect(path) as stream:
                await stream.send_all(b"prompt\n")
                await _read_until(stream, b"> ")
                for _ in range(3):
                    await trio.sleep(8)  # virtual time: each exchange is within the timeout
                    await stream.send_all(b"show cli level\n")
                    assert await _read_until(stream, b"> ") == b"admin\n\n> "
            nursery.cancel_scope.cancel()


async def test_set_timeout_cli(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path), timeout=50.0)
            async with await _connect(path) as stream:
                await stream.send_all(b"prompt\nset timeout cli 2\n")
                assert await _read_until(stream, b"\n> \n> ") == b"\n> \n> "
                start = trio.current_time()
                assert await _read_all(stream) == b""
                assert 2.0 <= trio.current_time() - start < 3.0
            nursery.cancel_scope.cancel()


async def test_maxconn_leaves_extra_clients_waiting(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, _unix(tmp_path), timeout=100.0, maxconn=1)
            first = await _connect(path)
            await first.send_all(b"prompt\n")
            assert await _read_until(first, b"> ") == b"\n> "
            second = await _connect(path)  # lands in the backlog
            await second.send_all(b"show cli level\n")
            with trio.move_on_after(30):
                assert await second.receive_some() == b"unreachable"
            await first.send_all(b"quit\n")
            assert await _read_all(first) == b""
            assert await _read_all(second) == b"admin\n\n"
            await first.aclose()
            await second.aclose()
            nursery.cancel_scope.cancel()


async def test_maxconn_shared_by_sockets(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            slots = trio.Semaphore(1)
            path_a = await _serve(nursery, _unix(tmp_path, "a.sock"), timeout=100.0, maxconn=1, slots=slots)
            path_b = await _serve(nursery, _unix(tmp_path, "b.sock"), timeout=100.0, maxconn=1, slots=slots)
            # an idle listener holds no slot: a client of the other one is served
            assert await _converse(path_b, b"show cli level\n") == b"admin\n\n"
            assert await _converse(path_a, b"show cli level\n") == b"admin\n\n"
            first = await _connect(path_a)
            await first.send_all(b"prompt\n")
            await _read_until(first, b"> ")
            second = await _connect(path_b)
            await second.send_all(b"show cli level\n")
            with trio.move_on_after(30):
                assert await second.receive_some() == b"unreachable"
            await first.aclose()
            assert await _read_all(second) == b"admin\n\n"
            await second.aclose()
            nursery.cancel_scope.cancel()


# -- the socket file --------------------------------------------------------------------------------

async def test_mode_and_removal(tmp_path: Path) -> None:
    spec = _unix(tmp_path, mode=0o600)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, spec)
            st = os.stat(path)
            assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
            assert sorted(os.listdir(tmp_path)) == ["admin.sock"]  # no temporary name left
            nursery.cancel_scope.cancel()
    assert not os.path.exists(spec.address)


def _stale_socket(path: str) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.close()  # the file stays, nobody listens: what a killed process leaves


async def test_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    spec = _unix(tmp_path)
    _stale_socket(spec.address)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, spec)
            assert await _converse(path, b"show cli level\n") == b"admin\n\n"
            nursery.cancel_scope.cancel()


async def test_live_socket_is_never_stolen(tmp_path: Path) -> None:
    spec = _unix(tmp_path)
    live = socket.socket(socket.AF_UNIX)
    live.bind(spec.address)
    live.listen(5)
    inode = os.stat(spec.address).st_ino
    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                with pytest.raises(OSError) as info:
                    await _serve(nursery, spec)
        assert info.value.errno == errno.EADDRINUSE
        assert os.stat(spec.address).st_ino == inode
        assert sorted(os.listdir(tmp_path)) == ["admin.sock"]
    finally:
        live.close()


async def test_other_files_are_not_replaced(tmp_path: Path) -> None:
    spec = _unix(tmp_path)
    Path(spec.address).write_text("precious")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            with pytest.raises(OSError) as info:
                await _serve(nursery, spec)
    assert info.value.errno == errno.EEXIST
    assert Path(spec.address).read_text() == "precious"


async def test_file_replaced_by_a_newer_process_is_left_alone(tmp_path: Path) -> None:
    spec = _unix(tmp_path)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await _serve(nursery, spec)
            newer = socket.socket(socket.AF_UNIX)  # what a reloaded process does: bind, rename over
            newer.bind(f"{path}.new")
            os.rename(f"{path}.new", path)
            nursery.cancel_scope.cancel()
    try:
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        newer.close()


async def test_default_registry_serves(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await nursery.start(partial(serve_admin, _unix(tmp_path, level="admin"), default_registry(),
                                               CTX, timeout=10.0, maxconn=10))
            assert await _converse(path, b"show version\n") == b"2.6.12-1+deb12u4\n\n"
            nursery.cancel_scope.cancel()


async def test_a_failing_command_costs_only_its_connection(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    registry = session_registry()
    registry.command(("boom",), None)(lambda *a: 1 / 0)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            path = await nursery.start(partial(serve_admin, _unix(tmp_path), registry, CTX, timeout=10.0,
                                               maxconn=1))
            assert await _converse(path, b"boom\n") == b""
            assert await _converse(path, b"show cli level\n") == b"admin\n\n"  # its slot came back
            nursery.cancel_scope.cancel()
    assert "ZeroDivisionError" in caplog.text
