"""`option ssl-hello-chk`: the hello bytes, the verdict on a reply, and probes of loopback servers.

Expectations are what HAProxy 2.6.12 reported (`show stat` check_status / check_desc and the
"Server b/s is DOWN, reason: ..." log lines) for servers behaving the same way, and the hello
is the one it sent to a capturing listener (only the 4 time bytes at offset 11 vary).
"""

from __future__ import annotations

import socket
import ssl
import struct
from functools import partial

import pytest
import trio
import trustme

from trio_lb.config import parse
from trio_lb.config.model import CheckSpec
from trio_lb.net.checks import probe, ssl_hello, ssl_hello_verdict
from trio_lb.state.health import CheckResult, HealthState, transition_message

SSL_HELLO = CheckSpec(kind="ssl-hello")

# captured from haproxy 2.6.12 (time bytes 6b02703a)
CAPTURED = bytes.fromhex(
    "16030000790100007503006b02703a484150524f585953534c43484b0a484150524f585953534c43484b0a00004e"
    "000100020003000400050006000700080009000a000b000c000d000e000f00100011001200130014001500160017"
    "00180019001a001b002f0030003100320033003400350036003700380039003a0100")


# --- pure helpers ---------------------------------------------------------------------------

def test_hello_is_haproxys() -> None:
    assert ssl_hello(0x6B02703A) == CAPTURED
    assert len(CAPTURED) == 5 + 0x79
    assert ssl_hello(0x6B02703A + 1)[11:15] == bytes.fromhex("6b02703b")
    assert ssl_hello(1_700_000_000.9)[11:15] == struct.pack(">I", 1_700_000_000)


EMPTY = ("L6RSP", None, "TCPCHK got an empty response at step 2")


@pytest.mark.parametrize("buf,last,verdict", [
    (b"", False, None),
    (b"", True, EMPTY),
    (b"\x16\x03", False, None),  # min-recv 5
    (b"\x16\x03", True, ("L6OK", None, "")),  # closed: judged on what came
    (b"\x16\x03\x03\x00\x31", False, ("L6OK", None, "")),
    (b"\x15\x03\x01\x00\x02\x02\x28", False, ("L6OK", None, "")),  # an alert is an answer too
    (b"\x17\x03\x03\x00\x10", False, ("L6RSP", None, "")),
    (b"HTTP/1.0 400 Bad request\r\n", False, ("L6RSP", None, "")),
    (b"HTT", False, None),
    (b"HTT", True, ("L6RSP", None, "")),
    (b"\x01\x60\x00\x00\x00", False, ("L6RSP", None, "")),  # hex "0160": no "1[56]" at the start
])
def test_verdict(buf: bytes, last: bool, verdict: tuple | None) -> None:
    assert ssl_hello_verdict(buf, last) == verdict


def test_config_enables_it() -> None:
    text = ("defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
            "    option httpchk\nbackend b\n    option ssl-hello-chk\n    server s 127.0.0.1:1 check\n"
            "backend c\n    server s 127.0.0.1:1 check\n")
    config = parse(text, "t.cfg", env={}, model_only=True)
    kinds = {p.name: p.check.kind for p in config.proxies}
    assert kinds["b"] == "ssl-hello" and kinds["c"] == "http"
    assert config.warnings == []


# --- loopback servers -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server_ctx() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("localhost").configure_cert(ctx)
    return ctx


def tls_server(ctx: ssl.SSLContext):
    """An OpenSSL server (through memory BIOs, flushing whatever OpenSSL writes, as a socket-
    based server does): it answers the SSLv3 hello with a protocol_version alert."""
    async def handler(stream: trio.SocketStream) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            data = await stream.receive_some(4096)
            if not data:
                return
            incoming.write(data)
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                continue
            except ssl.SSLError:
                await stream.send_all(outgoing.read())
                await stream.aclose()
                return
    return handler


async def start(nursery: trio.Nursery, handler) -> int:
    async def tolerant(stream: trio.SocketStream) -> None:
        try:
            await handler(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # checks close with an RST

    listeners = await nursery.start(partial(trio.serve_tcp, tolerant, 0, host="127.0.0.1"))
    return listeners[0].socket.getsockname()[1]


def replying(reply: bytes, *, then_close: bool = True, seen: list | None = None):
    async def handler(stream: trio.SocketStream) -> None:
        data = await stream.receive_some(4096)
        if seen is not None:
            seen.append(data)
        if reply:
            await stream.send_all(reply)
        if then_close:
            await stream.aclose()
        else:
            await trio.sleep_forever()
    return handler


async def reset(stream: trio.SocketStream) -> None:
    await stream.receive_some(4096)
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.socket.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def run(port: int, timeout: float = 2.0):
    return await probe(SSL_HELLO, "127.0.0.1", port, timeout=timeout, connect_timeout=2.0)


def outcome(result) -> tuple:
    return result.status, result.code, result.info


def down_line(result) -> str:
    health = HealthState(rise=1, fall=1, inter=2.0)
    assert health.on_result(result) == "down"
    return transition_message("b", "s", "down", result, active_left=0, backup_left=0,
                              sessions_active=0, requeued=0, queue_remaining=0)


async def test_tls_server_is_up(server_ctx: ssl.SSLContext) -> None:
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            port = await start(nursery, tls_server(server_ctx))
            result = await run(port)
            assert outcome(result) == ("L6OK", None, "")
            health = HealthState(rise=1, fall=1, inter=2.0)
            assert health.on_result(CheckResult("L6RSP", None, 0.0, "")) == "down"
            assert health.on_result(result) == "up"
            nursery.cancel_scope.cancel()


async def test_plain_servers_are_down() -> None:
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            seen: list[bytes] = []
            http = await start(nursery, replying(b"HTTP/1.0 400 Bad request\r\n\r\n", seen=seen))
            result = await run(http)
            assert outcome(result) == ("L6RSP", None, "")
            assert seen[0][:11] == CAPTURED[:11] and seen[0][15:] == CAPTURED[15:]
            assert down_line(result).startswith(
                f"Server b/s is DOWN, reason: Layer6 invalid response, check duration: {result.duration_ms}ms.")
            # 5 bytes are enough to judge: no waiting for the close or the timeout
            garbage = await start(nursery, replying(b"hello world\n", then_close=False))
            assert outcome(await run(garbage, timeout=30)) == ("L6RSP", None, "")
            empty = await start(nursery, replying(b""))
            result = await run(empty)
            assert outcome(result) == EMPTY
            assert ', info: "TCPCHK got an empty response at step 2", ' in down_line(result)
            short = await start(nursery, replying(b"\x16\x03"))
            assert outcome(await run(short)) == ("L6OK", None, "")
            rst = await start(nursery, reset)
            assert outcome(await run(rst)) == ("SOCKERR", None, "Connection reset by peer")
            nursery.cancel_scope.cancel()


async def test_timeouts() -> None:
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            silent = await start(nursery, replying(b"", then_close=False))
            result = await run(silent, timeout=0.2)
            assert outcome(result) == ("L6TOUT", None, "")
            assert "reason: Layer6 timeout, check duration:" in down_line(result)
            short_open = await start(nursery, replying(b"\x16\x03", then_close=False))
            assert outcome(await run(short_open, timeout=0.2)) == ("L6TOUT", None, "")
            nursery.cancel_scope.cancel()


async def test_nothing_listening_is_l4con() -> None:
    with trio.fail_after(5):
        result = await run(closed_port())
    assert outcome(result) == ("L4CON", None, "Connection refused")
    assert ', info: "Connection refused", ' in down_line(result)
