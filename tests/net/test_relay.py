"""The L4 relay over real loopback sockets, on both the splice path and the copying path."""

from __future__ import annotations

import functools
import os
import socket
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio

from trio_lb.net import relay as relay_mod
from trio_lb.net.relay import CopyPump, RelayStats, SplicePump, StreamPump, relay, relay_pumps

MODES = ["splice", "copy"] if relay_mod.SPLICE_AVAILABLE else ["copy"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


# --------------------------------------------------------------------------------------------
# helpers


async def tcp_pair() -> tuple[trio.socket.SocketType, trio.socket.SocketType]:
    listener = trio.socket.socket()
    with listener:
        await listener.bind(("127.0.0.1", 0))
        listener.listen()
        a = trio.socket.socket()
        await a.connect(listener.getsockname())
        b, _ = await listener.accept()
    return a, b


async def send_all(sock: trio.socket.SocketType, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[await sock.send(view):]


async def recv_exactly(sock: trio.socket.SocketType, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = await sock.recv(n - len(out))
        assert chunk, f"EOF after {len(out)} of {n} bytes"
        out += chunk
    return bytes(out)


async def recv_until_eof(sock: trio.socket.SocketType) -> bytes:
    out = bytearray()
    while chunk := await sock.recv(1 << 16):
        out += chunk
    return bytes(out)


def reset(sock: trio.socket.SocketType) -> None:
    """Close with SO_LINGER 0: the peer gets an RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Rig:
    """client app <-> [relay] <-> server app; the test plays both apps."""

    client: trio.socket.SocketType
    server: trio.socket.SocketType
    nursery: trio.Nursery
    stats: RelayStats = field(default_factory=RelayStats)
    result: str | None = None
    done: trio.Event = field(default_factory=trio.Event)


@asynccontextmanager
async def relayed(mode: str, **kwargs: Any) -> AsyncIterator[Rig]:
    kwargs.setdefault("idle_timeout", None)
    client_app, client_lb = await tcp_pair()
    server_lb, server_app = await tcp_pair()
    try:
        async with trio.open_nursery() as nursery:
            rig = Rig(client_app, server_app, nursery)

            async def run() -> None:
                rig.result = await relay(
                    client_lb, server_lb, stats=rig.stats, zero_copy=mode == "splice", **kwargs
                )
                rig.done.set()

            nursery.start_soon(run)
            yield rig
    finally:
        for sock in (client_app, client_lb, server_lb, server_app):
            sock.close()


# --------------------------------------------------------------------------------------------
# data, half-close, stats


async def test_echo_with_live_stats(mode: str) -> None:
    with trio.fail_after(5):
        async with relayed(mode) as rig:

            async def echo() -> None:
                while data := await rig.server.recv(1 << 16):
                    await send_all(rig.server, data)
                rig.server.shutdown(socket.SHUT_WR)

            rig.nursery.start_soon(echo)
            total = 0
            for msg in (b"hello", os.urandom(300_000), b"bye"):
                await send_all(rig.client, msg)
                assert await recv_exactly(rig.client, len(msg)) == msg
                total += len(msg)
                # counters move while the connection is still open
                assert (rig.stats.bytes_in, rig.stats.bytes_out) == (total, total)
                assert not rig.done.is_set()
            rig.client.shutdown(socket.SHUT_WR)
            assert await rig.client.recv(10) == b""
            await rig.done.wait()
        assert rig.result == "--"
        assert (rig.stats.bytes_in, rig.stats.bytes_out) == (total, total)
        assert rig.stats.last_activity > 0


async def test_client_half_close_still_gets_full_reply(mode: str) -> None:
    request, reply = os.urandom(10_000), os.urandom(3_000_000)
    with trio.fail_after(5):
        async with relayed(mode) as rig:
            await send_all(rig.client, request)
            rig.client.shutdown(socket.SHUT_WR)
            # the server sees the EOF only after the whole request, then answers
            assert await recv_until_eof(rig.server) == request
            await send_all(rig.server, reply)
            rig.server.shutdown(socket.SHUT_WR)
            assert await recv_until_eof(rig.client) == reply
            await rig.done.wait()
        assert rig.result == "--"
        assert (rig.stats.bytes_in, rig.stats.bytes_out) == (len(request), len(reply))


async def test_server_half_close_first(mode: str) -> None:
    upload = os.urandom(1_000_000)
    with trio.fail_after(5):
        async with relayed(mode) as rig:
            await send_all(rig.server, b"220 ready\r\n")
            rig.server.shutdown(socket.SHUT_WR)
            assert await recv_until_eof(rig.client) == b"220 ready\r\n"
            assert not rig.done.is_set()  # the other direction keeps going
            await send_all(rig.client, upload)
            rig.client.shutdown(socket.SHUT_WR)
            assert await recv_until_eof(rig.server) == upload
            await rig.done.wait()
        assert rig.result == "--"


async def test_prefixes_are_delivered_first(mode: str) -> None:
    client_app, client_lb = await tcp_pair()
    server_lb, server_app = await tcp_pair()
    socks = (client_app, client_lb, server_lb, server_app)
    try:
        # both apps have spoken before the relay starts: their bytes are already waiting
        await send_all(client_app, b"hello")
        await send_all(server_app, b"world")
        client_app.shutdown(socket.SHUT_WR)
        server_app.shutdown(socket.SHUT_WR)
        stats = RelayStats()
        with trio.fail_after(5):
            result = await relay(
                client_lb, server_lb, idle_timeout=None, stats=stats,
                client_prefix=b"GET / HTTP/1.1\r\n\r\n", server_prefix=b"HTTP/1.1 101 x\r\n\r\n",
                zero_copy=mode == "splice",
            )
            assert result == "--"
            assert await recv_until_eof(server_app) == b"GET / HTTP/1.1\r\n\r\nhello"
            assert await recv_until_eof(client_app) == b"HTTP/1.1 101 x\r\n\r\nworld"
        # prefixes were read (and counted) by the caller
        assert (stats.bytes_in, stats.bytes_out) == (5, 5)
    finally:
        for sock in socks:
            sock.close()


# --------------------------------------------------------------------------------------------
# aborts


async def test_server_abort(mode: str) -> None:
    with trio.fail_after(5):
        async with relayed(mode) as rig:
            await send_all(rig.client, b"hi")
            assert await recv_exactly(rig.server, 2) == b"hi"
            reset(rig.server)
            await rig.done.wait()
        assert rig.result == "SD"
        assert rig.stats.bytes_in == 2


async def test_client_abort(mode: str) -> None:
    with trio.fail_after(5):
        async with relayed(mode) as rig:
            await send_all(rig.server, b"banner")
            assert await recv_exactly(rig.client, 6) == b"banner"
            reset(rig.client)
            await rig.done.wait()
        assert rig.result == "CD"
        assert rig.stats.bytes_out == 6


async def test_write_to_closed_client_is_a_client_abort(mode: str) -> None:
    with trio.fail_after(5):
        async with relayed(mode) as rig:
            await send_all(rig.client, b"request")
            rig.client.close()  # gone entirely: whatever the server answers gets EPIPE/ECONNRESET
            assert await recv_until_eof(rig.server) == b"request"

            async def keep_answering() -> None:
                while True:
                    await send_all(rig.server, bytes(1 << 16))

            async with trio.open_nursery() as answering:
                answering.start_soon(keep_answering)
                await rig.done.wait()
                answering.cancel_scope.cancel()
        assert rig.result == "CD"


# --------------------------------------------------------------------------------------------
# timeouts (trio's autojump clock: the deadline is hit exactly, in no real time)


async def test_idle_timeout_is_a_client_timeout(mode: str, autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(100):
        start = trio.current_time()
        async with relayed(mode, idle_timeout=5.0) as rig:
            await rig.done.wait()
            elapsed = trio.current_time() - start
        assert rig.result == "cD"
        assert elapsed == pytest.approx(5.0, abs=1e-6)


async def test_traffic_either_way_refreshes_the_idle_timer(
    mode: str, autojump_clock: trio.abc.Clock
) -> None:
    with trio.fail_after(100):
        start = trio.current_time()
        async with relayed(mode, idle_timeout=1.0) as rig:
            await trio.sleep(0.6)
            await send_all(rig.client, b"a")
            assert await recv_exactly(rig.server, 1) == b"a"
            await trio.sleep(0.6)  # 1.2 s since the start: alive thanks to the client byte
            await send_all(rig.server, b"b")
            assert await recv_exactly(rig.client, 1) == b"b"
            assert not rig.done.is_set()
            await rig.done.wait()
            elapsed = trio.current_time() - start
        assert rig.result == "cD"
        assert elapsed == pytest.approx(2.2, abs=1e-6)
        assert rig.stats.last_activity - start == pytest.approx(1.2, abs=1e-6)


@pytest.mark.parametrize(("server_fin", "expected"), [(0.3, 0.3), (None, 10.0)])
async def test_server_silent_after_client_fin(
    mode: str, autojump_clock: trio.abc.Clock, server_fin: float | None, expected: float
) -> None:
    with trio.fail_after(100):
        async with relayed(mode, idle_timeout=10.0, server_fin_timeout=server_fin) as rig:
            rig.client.shutdown(socket.SHUT_WR)
            assert await rig.server.recv(10) == b""
            start = trio.current_time()
            await rig.done.wait()
            elapsed = trio.current_time() - start
        assert rig.result == "sD"
        assert elapsed == pytest.approx(expected, abs=1e-6)


async def test_client_silent_after_server_fin(mode: str, autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(100):
        async with relayed(mode, idle_timeout=10.0, client_fin_timeout=0.5) as rig:
            rig.server.shutdown(socket.SHUT_WR)
            assert await rig.client.recv(10) == b""
            start = trio.current_time()
            await rig.done.wait()
            elapsed = trio.current_time() - start
        assert rig.result == "cD"
        assert elapsed == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize(("flooder", "expected"), [("client", "sD"), ("server", "cD")])
async def test_timeout_blames_the_side_that_does_not_drain(
    mode: str, autojump_clock: trio.abc.Clock, flooder: str, expected: str
) -> None:
    with trio.fail_after(100):
        async with relayed(mode, idle_timeout=1.0) as rig:
            sock = rig.client if flooder == "client" else rig.server
            block = bytes(1 << 16)

            async def fill() -> None:
                while True:
                    await send_all(sock, block)

            async with trio.open_nursery() as flood:
                flood.start_soon(fill)
                await rig.done.wait()
                flood.cancel_scope.cancel()
        assert rig.result == expected


# --------------------------------------------------------------------------------------------
# bulk transfer, memory, zero copy


@functools.cache
def _block(seed: int) -> bytes:
    return bytes((i * 131 + seed) & 0xFF for i in range(251)) * 4177  # ~1 MiB, odd period


@functools.cache
def _expected_crc(seed: int, count: int) -> int:
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(_block(seed), crc)
    return crc


async def _pour(sock: trio.socket.SocketType, seed: int, count: int) -> None:
    for _ in range(count):
        await send_all(sock, _block(seed))
    sock.shutdown(socket.SHUT_WR)


async def _drain(sock: trio.socket.SocketType, into: dict[str, int]) -> None:
    buf = bytearray(1 << 18)
    crc = total = 0
    while n := await sock.recv_into(buf):
        crc = zlib.crc32(memoryview(buf)[:n], crc)
        total += n
    into.update(crc=crc, total=total)


async def test_200mb_each_way_with_bounded_memory(mode: str) -> None:
    count = 200  # blocks of ~1 MiB: ~210 MB each way
    size = count * len(_block(1))
    _expected_crc(1, count), _expected_crc(2, count)  # warm the caches outside the measure
    at_server: dict[str, int] = {}
    at_client: dict[str, int] = {}
    with trio.fail_after(30):
        async with relayed(mode) as rig:
            before = rss_bytes()
            rig.nursery.start_soon(_pour, rig.client, 1, count)
            rig.nursery.start_soon(_pour, rig.server, 2, count)
            rig.nursery.start_soon(_drain, rig.server, at_server)
            rig.nursery.start_soon(_drain, rig.client, at_client)
            await rig.done.wait()
            growth = rss_bytes() - before
    assert rig.result == "--"
    assert at_server == {"crc": _expected_crc(1, count), "total": size}
    assert at_client == {"crc": _expected_crc(2, count), "total": size}
    assert (rig.stats.bytes_in, rig.stats.bytes_out) == (size, size)
    assert growth < 4 << 20, f"RSS grew by {growth} bytes"


@pytest.fixture
def splice_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    if not relay_mod.SPLICE_AVAILABLE:
        pytest.skip("no os.splice on this platform")
    calls: list[int] = []
    real = os.splice

    def counting(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, "splice", counting)
    return calls


async def _one_exchange(mode: str) -> str | None:
    with trio.fail_after(5):
        async with relayed(mode) as rig:
            await send_all(rig.client, b"ping")
            assert await recv_exactly(rig.server, 4) == b"ping"
            await send_all(rig.server, b"pong")
            assert await recv_exactly(rig.client, 4) == b"pong"
            rig.client.shutdown(socket.SHUT_WR)
            rig.server.shutdown(socket.SHUT_WR)
            await rig.done.wait()
    return rig.result


async def test_zero_copy_uses_splice(splice_calls: list[int]) -> None:
    assert await _one_exchange("splice") == "--"
    assert splice_calls  # the bytes went socket -> pipe -> socket


async def test_copy_mode_never_splices(splice_calls: list[int]) -> None:
    assert await _one_exchange("copy") == "--"
    assert not splice_calls


async def test_falls_back_to_copying_without_pipes(
    splice_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pipes(flags: int) -> tuple[int, int]:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(os, "pipe2", no_pipes)
    assert await _one_exchange("splice") == "--"
    assert not splice_calls


async def test_pump_choice() -> None:
    a, b = await tcp_pair()
    with a, b:
        udp = trio.socket.socket(type=socket.SOCK_DGRAM)
        with udp:
            copy = relay_mod.make_pump(a, udp)
            assert isinstance(copy, CopyPump)
            copy.close()
        best = relay_mod.make_pump(a, b)
        try:
            if relay_mod.SPLICE_AVAILABLE:
                assert isinstance(best, SplicePump)
                with open("/proc/sys/fs/pipe-max-size") as f:
                    if int(f.read()) >= relay_mod.PIPE_SIZE:
                        assert best.capacity == relay_mod.PIPE_SIZE
            else:
                assert isinstance(best, CopyPump)
        finally:
            best.close()


async def test_pipes_are_closed_on_every_ending(mode: str) -> None:
    before = open_fds()
    assert await _one_exchange(mode) == "--"
    with trio.fail_after(5):
        async with relayed(mode) as rig:  # abort
            reset(rig.server)
            await rig.done.wait()
        assert rig.result == "SD"
        async with relayed(mode) as rig:  # cancelled by the caller
            rig.nursery.cancel_scope.cancel()
        assert rig.result is None
    assert open_fds() == before


# --------------------------------------------------------------------------------------------
# the generic core with stream pumps (the shape a TLS end will take)


@asynccontextmanager
async def stream_relayed(**kwargs: Any) -> AsyncIterator[Rig]:
    client_app, client_lb = await tcp_pair()
    server_lb, server_app = await tcp_pair()
    cs, ss = trio.SocketStream(client_lb), trio.SocketStream(server_lb)
    try:
        async with trio.open_nursery() as nursery:
            rig = Rig(client_app, server_app, nursery)

            async def run() -> None:
                rig.result = await relay_pumps(
                    StreamPump(cs, ss), StreamPump(ss, cs), idle_timeout=None, stats=rig.stats,
                    **kwargs,
                )
                rig.done.set()

            nursery.start_soon(run)
            yield rig
    finally:
        for sock in (client_app, client_lb, server_lb, server_app):
            sock.close()


async def test_relay_over_stream_pumps() -> None:
    with trio.fail_after(5):
        async with stream_relayed(client_prefix=b"<", server_prefix=b">") as rig:
            await send_all(rig.client, b"up")
            rig.client.shutdown(socket.SHUT_WR)
            assert await recv_until_eof(rig.server) == b"<up"
            await send_all(rig.server, b"down")
            rig.server.shutdown(socket.SHUT_WR)
            assert await recv_until_eof(rig.client) == b">down"
            await rig.done.wait()
    assert rig.result == "--"
    assert (rig.stats.bytes_in, rig.stats.bytes_out) == (2, 4)


async def test_stream_pump_reset_is_an_abort() -> None:
    # trio streams report a reset as BrokenResourceError: still a server abort
    with trio.fail_after(5):
        async with stream_relayed() as rig:
            reset(rig.server)
            await rig.done.wait()
    assert rig.result == "SD"
