"""Health-check probes against real loopback listeners, and the check loop on a mock clock.

Expected statuses and info texts are what HAProxy 2.6.12 reported (`show stat` check_status /
last_chk) for the same server behaviours; request bytes are what it sent to a capturing
listener.
"""

from __future__ import annotations

import math
import socket
import struct
from functools import partial

import pytest
import trio

from trio_lb.config.model import CheckSpec, HttpExpect, TcpCheckRule
from trio_lb.net.checks import (
    build_http_request,
    check_loop,
    http_verdict,
    parse_status_list,
    probe,
    tcpcheck_expect,
    tcpcheck_mismatch,
    tcpcheck_steps,
    tcpcheck_where,
)
from trio_lb.state.health import HealthState

TCP = CheckSpec()
HTTP = CheckSpec(kind="http")


def tcpcheck(*rules: TcpCheckRule) -> CheckSpec:
    return CheckSpec(kind="tcp-check", tcp_rules=list(rules))


def send(data: bytes, comment: str | None = None) -> TcpCheckRule:
    return TcpCheckRule("send", data, comment=comment)


def expect(match: str, data: bytes, negate: bool = False,
           comment: str | None = None) -> TcpCheckRule:
    return TcpCheckRule("expect", data, match=match, negate=negate, comment=comment)


PING_PONG = (send(b"PING\r\n"), expect("string", b"+PONG"))


# --- pure helpers ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec,wire", [
    (CheckSpec(kind="http"), b"OPTIONS / HTTP/1.0\r\n\r\n"),
    (CheckSpec(kind="http", method="GET", uri="/health"), b"GET /health HTTP/1.0\r\n\r\n"),
    (CheckSpec(kind="http", method="HEAD", uri="/h3"), b"HEAD /h3 HTTP/1.0\r\n\r\n"),
    (CheckSpec(kind="http", method="GET", uri="/hc", version="HTTP/1.1",
               headers=[("Host", "www.example.com"), ("X-Foo", "bar")], body=b"abc"),
     b"GET /hc HTTP/1.1\r\nhost: www.example.com\r\nx-foo: bar\r\ncontent-length: 3\r\n"
     b"connection: close\r\n\r\nabc"),
    (CheckSpec(kind="http", method="POST", uri="/x", version="HTTP/1.1"),
     b"POST /x HTTP/1.1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
    (CheckSpec(kind="http", method="POST", uri="/p10"),
     b"POST /p10 HTTP/1.0\r\ncontent-length: 0\r\n\r\n"),
    (CheckSpec(kind="http", method="PUT", uri="/b10", headers=[("X-A", "1")], body=b"hello"),
     b"PUT /b10 HTTP/1.0\r\nx-a: 1\r\ncontent-length: 5\r\n\r\nhello"),
    (CheckSpec(kind="http", method="GET", uri="/g11", version="HTTP/1.1"),
     b"GET /g11 HTTP/1.1\r\nconnection: close\r\n\r\n"),
    (CheckSpec(kind="http", version="HTTP/1.1",
               headers=[("Host", "h.example"), ("Connection", "keep-alive")]),
     b"OPTIONS / HTTP/1.1\r\nhost: h.example\r\n\r\n"),
    (CheckSpec(kind="http", method="GET", uri="/m6", version="HTTP/1.1",
               headers=[("connection", "close"), ("content-length", "7")]),
     b"GET /m6 HTTP/1.1\r\nconnection: close\r\n\r\n"),
    (CheckSpec(kind="http", method="GET", uri="/m7",
               headers=[("connection", "keep-alive"), ("Host", "a")]),
     b"GET /m7 HTTP/1.0\r\nhost: a\r\nconnection: keep-alive\r\n\r\n"),
    (CheckSpec(kind="http", method="DELETE", uri="/m2"), b"DELETE /m2 HTTP/1.0\r\n\r\n"),
    (CheckSpec(kind="http", method="get", uri="/m9"),
     b"get /m9 HTTP/1.0\r\ncontent-length: 0\r\n\r\n"),
    (CheckSpec(kind="http", method="TRACE", uri="/m8", version="HTTP/1.1"),
     b"TRACE /m8 HTTP/1.1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
])
def test_build_http_request_matches_haproxy(spec, wire):
    assert build_http_request(spec) == wire


def test_parse_status_list():
    assert parse_status_list("200-299,404") == ((200, 299), (404, 404))
    assert parse_status_list("503") == ((503, 503),)
    assert parse_status_list("x,200") == ((200, 200),)


@pytest.mark.parametrize("expects,code,reason,body,outcome", [
    ([], 200, "OK", b"", ("L7OK", 200, "")),
    ([], 302, "Found", b"", ("L7OK", 302, "")),
    ([], 399, "X", b"", ("L7OK", 399, "")),
    ([], 404, "Not Found", b"", ("L7STS", 404, "Not Found")),
    ([], 503, "Service Unavailable", b"", ("L7STS", 503, "Service Unavailable")),
    ([HttpExpect("status", "503")], 503, "Service Unavailable", b"", ("L7OK", 503, "")),
    ([HttpExpect("status", "200-299,404")], 503, "Service Unavailable", b"",
     ("L7STS", 503, "Service Unavailable")),
    ([HttpExpect("status", "200-299,404")], 404, "Not Found", b"", ("L7OK", 404, "")),
    ([HttpExpect("status", "200", negate=True)], 200, "OK", b"", ("L7STS", 200, "OK")),
    ([HttpExpect("rstatus", "^5")], 200, "OK", b"", ("L7STS", 200, "OK")),
    ([HttpExpect("rstatus", "^5")], 502, "Bad Gateway", b"", ("L7OK", 502, "")),
    ([HttpExpect("string", "hello")], 200, "OK", b"hello world", ("L7OK", 200, "")),
    ([HttpExpect("string", "nothere")], 200, "OK", b"hello world",
     ("L7RSP", None, "HTTP content check did not match")),
    ([HttpExpect("string", "hello", negate=True)], 200, "OK", b"hello world",
     ("L7RSP", None, "HTTP check matched unwanted content")),
    ([HttpExpect("rstring", "^hel+o")], 500, "Oops", b"hello world", ("L7OK", 500, "")),
    ([HttpExpect("rstring", "^x")], 200, "OK", b"hello world",
     ("L7RSP", None, "HTTP content check did not match")),
    ([HttpExpect("status", "200"), HttpExpect("string", "up")], 200, "OK", b"down",
     ("L7RSP", None, "HTTP content check did not match")),
])
def test_http_verdict(expects, code, reason, body, outcome):
    assert http_verdict(expects, code, reason, body) == outcome


NO_BODY = ("L7RSP", None, "HTTP content check could not find a response body")


@pytest.mark.parametrize("exp,body,last,verdict", [
    (HttpExpect("string", "hello"), b"", False, None),
    (HttpExpect("string", "hello"), b"", True, NO_BODY),
    (HttpExpect("string", "hello", negate=True), b"", True, NO_BODY),
    (HttpExpect("string", "hello"), b"hel", False, None),  # shorter than the pattern
    (HttpExpect("string", "hello"), b"hello, partial", False, ("L7OK", 200, "")),  # at once
    (HttpExpect("string", "nothere"), b"hello", False, None),  # may still come
    (HttpExpect("string", "hello", negate=True), b"hello", False,
     ("L7RSP", None, "HTTP check matched unwanted content")),
    (HttpExpect("string", "nothere", negate=True), b"hello", False, None),
    (HttpExpect("string", "nothere", negate=True), b"hello", True, ("L7OK", 200, "")),
    (HttpExpect("rstring", "^x"), b"hello", False, None),
    (HttpExpect("status", "200"), b"", False, ("L7OK", 200, "")),  # status never waits
])
def test_http_verdict_waiting(exp, body, last, verdict):
    assert http_verdict([exp], 200, "OK", body, last) == verdict


def test_tcpcheck_steps_numbering():
    implicit = [(s, r.action, h) for s, r, h in tcpcheck_steps(list(PING_PONG))]
    assert implicit == [(0, "connect", 0), (1, "send", 1), (2, "expect", 2)]
    rules = [TcpCheckRule("connect"), send(b"x"), expect("string", b"a"), expect("string", b"b"),
             TcpCheckRule("connect", port=1)]
    assert [(s, h) for s, _, h in tcpcheck_steps(rules)] == [(1, 0), (2, 1), (3, 2), (4, 2), (5, 4)]
    assert [(s, r.action) for s, r, _ in tcpcheck_steps([])] == [(0, "connect")]


@pytest.mark.parametrize("step,rule,text", [
    (0, TcpCheckRule("connect"), " at initial connection step of tcp-check"),
    (1, TcpCheckRule("connect"), " at step 1 of tcp-check (connect)"),
    (4, TcpCheckRule("connect", port=27006), " at step 4 of tcp-check (connect port 27006)"),
    (2, expect("string", b"+PONG"), " at step 2 of tcp-check (expect string '+PONG')"),
    (2, expect("binary", b"+PONG"), " at step 2 of tcp-check (expect binary '+PONG')"),
    (1, expect("rstring", b"^x"), " at step 1 of tcp-check (expect regex)"),
    (1, expect("rbinary", b"^2B"), " at step 1 of tcp-check (expect binary regex)"),
    (2, expect("string", b"+PONG", comment="want pong"),
     " at step 2 of tcp-check (expect string '+PONG') comment: 'want pong'"),
    (3, send(b"x"), " at step 3 of tcp-check (send)"),
])
def test_tcpcheck_where(step, rule, text):
    assert tcpcheck_where(step, rule) == text


@pytest.mark.parametrize("rule,matched,text", [
    (expect("string", b"+PONG"), False, "TCPCHK did not match content '+PONG' at step 2"),
    (expect("string", b"+PONG", True), True, "TCPCHK matched unwanted content '+PONG' at step 2"),
    (expect("binary", b"+PONG"), False, "TCPCHK did not match content (binary) at step 2"),
    (expect("binary", b"-ERR", True), True, "TCPCHK matched unwanted content (binary) at step 2"),
    (expect("rstring", b"^-E"), False, "TCPCHK did not match content (regex) at step 2"),
    (expect("rbinary", b"^2d"), False, "TCPCHK did not match content (binary regex) at step 2"),
    (expect("string", b"+PONG", comment="want pong"), False,
     "TCPCHK did not match content '+PONG' at step 2 comment: want pong"),
])
def test_tcpcheck_mismatch(rule, matched, text):
    assert tcpcheck_mismatch(2, rule, matched) == text


@pytest.mark.parametrize("rule,buf,last,verdict", [
    (expect("string", b"+PONG"), b"+PO", False, "wait"),  # shorter than the pattern
    (expect("string", b"+PONG"), b"+PO", True, "missing"),
    (expect("string", b"+PONG"), b"x+PONG\r\n", False, "pass"),
    (expect("string", b"+PONG"), b"-ERR\r\n", False, "wait"),  # may still come
    (expect("string", b"+PONG"), b"-ERR\r\n", True, "missing"),
    (expect("string", b"+PONG", negate=True), b"+PONG", False, "matched"),
    (expect("string", b"+PONG", negate=True), b"-ERR\r\n", False, "wait"),  # needs the close
    (expect("string", b"+PONG", negate=True), b"-ERR\r\n", True, "pass"),
    (expect("rstring", rb"^\+P"), b"+PONG", False, "pass"),
    (expect("binary", bytes.fromhex("2b504f4e47")), b"+PONG", False, "pass"),
    (expect("rbinary", b"^2B50"), b"+PONG", False, "pass"),  # regex over upper-case hex
    (expect("rbinary", b"^2b50"), b"+PONG", True, "missing"),
])
def test_tcpcheck_expect(rule, buf, last, verdict):
    assert tcpcheck_expect(rule, buf, last) == verdict


# --- loopback servers -----------------------------------------------------------------------

async def start(nursery: trio.Nursery, handler) -> int:
    async def tolerant(stream: trio.SocketStream) -> None:
        try:
            await handler(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # checks close with an RST, as HAProxy's do

    listeners = await nursery.start(partial(trio.serve_tcp, tolerant, 0, host="127.0.0.1"))
    return listeners[0].socket.getsockname()[1]


async def read_head(stream: trio.SocketStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        data += chunk
    return data


def http_server(status: bytes, body: bytes = b"hello world", seen: list | None = None):
    async def handler(stream: trio.SocketStream) -> None:
        head = await read_head(stream)
        if seen is not None:
            seen.append(head)
        head = b"HTTP/1.0 %s\r\nContent-Length: %d\r\n\r\n" % (status, len(body))
        await stream.send_all(head + body)
        await stream.aclose()
    return handler


def replying(reply: bytes, *, read_first: bool = True, then_close: bool = True):
    async def handler(stream: trio.SocketStream) -> None:
        if read_first:
            await stream.receive_some(4096)
        await stream.send_all(reply)
        if then_close:
            await stream.aclose()
        else:
            await trio.sleep_forever()
    return handler


async def pong(stream: trio.SocketStream) -> None:
    await stream.receive_some(4096)
    await stream.send_all(b"+PONG\r\n")
    while await stream.receive_some(4096):  # until the checker closes
        pass


async def split_pong(stream: trio.SocketStream) -> None:
    await stream.receive_some(4096)
    await stream.send_all(b"+PO")
    await trio.sleep(0.05)
    await stream.send_all(b"NG\r\n")
    await trio.sleep_forever()


async def silent(stream: trio.SocketStream) -> None:
    await trio.sleep_forever()


async def read_then_close(stream: trio.SocketStream) -> None:
    await read_head(stream)
    await stream.aclose()


async def close_at_once(stream: trio.SocketStream) -> None:
    await stream.aclose()


async def reset(stream: trio.SocketStream) -> None:
    await read_head(stream)
    hard_close(stream)


async def partial_head_then_reset(stream: trio.SocketStream) -> None:
    await read_head(stream)
    await stream.send_all(b"HTTP/1.0 200 OK\r\nX-A: b\r\n")
    await trio.sleep(0.02)
    hard_close(stream)


def hard_close(stream: trio.SocketStream) -> None:
    """Close with an RST."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.socket.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def unaccepting():
    """A listener whose accept queue is full: new connects hang (SYNs are dropped)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    yield port
    for c in fillers:
        c.close()
    lsock.close()


async def run(spec: CheckSpec, port: int, timeout: float = 2.0, connect_timeout: float = 2.0, **kw):
    with trio.fail_after(5):
        return await probe(spec, "127.0.0.1", port, timeout=timeout,
                           connect_timeout=connect_timeout, **kw)


def outcome(result) -> tuple:
    return result.status, result.code, result.info


# --- kind tcp -------------------------------------------------------------------------------

async def test_tcp_ok(nursery):
    port = await start(nursery, silent)
    result = await run(TCP, port)
    assert outcome(result) == ("L4OK", None, "") and result.ok and result.duration >= 0


async def test_tcp_refused():
    result = await run(TCP, closed_port())
    assert outcome(result) == ("L4CON", None, "Connection refused") and not result.ok


async def test_tcp_connect_timeout(unaccepting):
    result = await run(TCP, unaccepting, connect_timeout=0.2)
    assert outcome(result) == ("L4TOUT", None, "")
    assert 0.2 <= result.duration < 1.0


async def test_checks_close_with_rst(nursery):
    """As HAProxy's, a check connection ends with an RST, never a FIN (no TIME_WAIT here)."""
    ends: list[str] = []

    async def watch(stream: trio.SocketStream) -> None:
        try:
            ends.append("fin" if not await stream.receive_some(10) else "data")
        except trio.BrokenResourceError:
            ends.append("rst")

    listeners = await nursery.start(partial(trio.serve_tcp, watch, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    for _ in range(3):
        assert (await run(TCP, port)).status == "L4OK"
    await trio.sleep(0.05)
    assert "fin" not in ends


async def test_unresolvable_host_is_l4con(monkeypatch):
    async def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(trio.socket, "getaddrinfo", no_such_host)
    result = await run(TCP, 80)
    assert outcome(result) == ("L4CON", None, "Name or service not known")


# --- kind http ------------------------------------------------------------------------------

@pytest.mark.parametrize("handler,expected", [
    (http_server(b"200 OK"), ("L7OK", 200, "")),
    (http_server(b"302 Found"), ("L7OK", 302, "")),
    (http_server(b"503 Service Unavailable"), ("L7STS", 503, "Service Unavailable")),
    (http_server(b"404 Not Found"), ("L7STS", 404, "Not Found")),
    (replying(b"xyz garbage\r\n\r\n"), ("L7RSP", None, "")),
    (replying(b"HTTP/1.0 abc\r\n\r\n"), ("L7RSP", None, "")),
    (read_then_close, ("L7RSP", None, "")),
    (reset, ("SOCKERR", None, "Connection reset by peer")),
    (partial_head_then_reset, ("SOCKERR", None, "Connection reset by peer")),
    (replying(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
     ("L7STS", 100, "Continue")),
    (replying(b"HTTP/1.1 200 OK\r\n\r\npartial", then_close=False), ("L7OK", 200, "")),
])
async def test_http_replies(nursery, handler, expected):
    port = await start(nursery, handler)
    assert outcome(await run(HTTP, port)) == expected


async def test_http_no_reply_is_l7tout(nursery):
    port = await start(nursery, silent)
    result = await run(HTTP, port, timeout=0.2)
    assert outcome(result) == ("L7TOUT", None, "") and 0.2 <= result.duration < 1.0


async def test_http_total_budget(nursery):
    """Without `timeout check`, inter is the whole budget: `total` caps connect + reply."""
    port = await start(nursery, silent)
    result = await run(HTTP, port, timeout=30, connect_timeout=30, total=0.2)
    assert result.status == "L7TOUT" and result.duration < 1.0


async def test_http_refused():
    assert outcome(await run(HTTP, closed_port())) == ("L4CON", None, "Connection refused")


async def test_http_connect_timeout(unaccepting):
    assert outcome(await run(HTTP, unaccepting, connect_timeout=0.2)) == ("L4TOUT", None, "")


async def test_http_sends_haproxy_request(nursery):
    seen: list[bytes] = []
    port = await start(nursery, http_server(b"200 OK", seen=seen))
    spec = CheckSpec(kind="http", method="GET", uri="/hc", version="HTTP/1.1",
                     headers=[("Host", "www.example.com")])
    assert (await run(spec, port)).status == "L7OK"
    assert seen == [b"GET /hc HTTP/1.1\r\nhost: www.example.com\r\nconnection: close\r\n\r\n"]


@pytest.mark.parametrize("expects,expected", [
    ([HttpExpect("string", "hello")], ("L7OK", 200, "")),
    ([HttpExpect("string", "nothere")], ("L7RSP", None, "HTTP content check did not match")),
    ([HttpExpect("string", "hello", negate=True)],
     ("L7RSP", None, "HTTP check matched unwanted content")),
    ([HttpExpect("rstring", "^hel+o")], ("L7OK", 200, "")),
    ([HttpExpect("status", "200", negate=True)], ("L7STS", 200, "OK")),
    ([HttpExpect("rstatus", "^5")], ("L7STS", 200, "OK")),
])
async def test_http_expects(nursery, expects, expected):
    port = await start(nursery, http_server(b"200 OK"))
    assert outcome(await run(CheckSpec(kind="http", expects=expects), port)) == expected


async def test_http_body_match_waits_for_the_body(nursery):
    """Status expects do not wait for an endless body; body expects do, until the timeout."""
    port = await start(nursery, replying(b"HTTP/1.1 200 OK\r\n\r\npartial", then_close=False))
    spec = CheckSpec(kind="http", expects=[HttpExpect("string", "nothere")])
    assert outcome(await run(spec, port, timeout=0.2)) == ("L7TOUT", None, "")


@pytest.mark.parametrize("reply,exp,expected", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HttpExpect("string", "hello"), NO_BODY),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HttpExpect("string", "hello", negate=True),
     NO_BODY),
    (b"HTTP/1.0 200 OK\r\n\r\n", HttpExpect("string", "hello"), NO_BODY),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", HttpExpect("string", "nothere"),
     ("L7RSP", None, "HTTP content check did not match")),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
     HttpExpect("string", "nothere", negate=True),
     ("L7OK", 200, "")),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     HttpExpect("string", "nothere"), ("L7RSP", None, "HTTP content check did not match")),
])
async def test_http_end_of_message_is_final(nursery, reply, exp, expected):
    """A complete body is judged at once even if the server keeps the connection (verified)."""
    hold = reply.startswith(b"HTTP/1.1")
    port = await start(nursery, replying(reply, then_close=not hold))
    assert outcome(await run(CheckSpec(kind="http", expects=[exp]), port, timeout=2)) == expected


async def test_http_body_match_on_truncated_body(nursery):
    """The server announces 50 bytes, sends 5 and closes: HAProxy judges what it got."""
    port = await start(nursery, replying(b"HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\nshort"))
    spec = CheckSpec(kind="http", expects=[HttpExpect("string", "short")])
    assert outcome(await run(spec, port)) == ("L7OK", 200, "")


async def test_http_head_reply_without_body(nursery):
    head_only = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    port = await start(nursery, replying(head_only, then_close=False))
    assert outcome(await run(CheckSpec(kind="http", method="HEAD"), port)) == ("L7OK", 200, "")


# --- kind tcp-check -------------------------------------------------------------------------

@pytest.mark.parametrize("handler,rules,expected", [
    (pong, PING_PONG, ("L7OK", 0, "(tcp-check)")),
    (replying(b"-ERR\r\n"), PING_PONG,
     ("L7RSP", None, "TCPCHK did not match content '+PONG' at step 2")),
    (pong, (send(b"PING\r\n"), expect("string", b"+PONG", negate=True)),
     ("L7RSP", None, "TCPCHK matched unwanted content '+PONG' at step 2")),
    (replying(b"-ERR\r\n"), (send(b"PING\r\n"), expect("string", b"+PONG", negate=True)),
     ("L7OK", 0, "(tcp-check)")),
    (replying(b"+PONG\r\n"), (send(b"PING\r\n"), expect("rstring", b"^-E")),
     ("L7RSP", None, "TCPCHK did not match content (regex) at step 2")),
    (replying(b"-ERR\r\n"), (TcpCheckRule("send-binary", bytes.fromhex("50494e470d0a")),
                             expect("binary", bytes.fromhex("2b504f4e47"))),
     ("L7RSP", None, "TCPCHK did not match content (binary) at step 2")),
    (replying(b"+PONG\r\n"), (send(b"PING\r\n"), expect("rbinary", b"^2d")),
     ("L7RSP", None, "TCPCHK did not match content (binary regex) at step 2")),
    (replying(b"-ERR\r\n"), (send(b"PING\r\n"), expect("string", b"+PONG", comment="want pong")),
     ("L7RSP", None, "TCPCHK did not match content '+PONG' at step 2 comment: want pong")),
    (replying(b"-ERR\r\n"),
     (send(b"PING\r\n"), expect("binary", b"-ERR"), expect("binary", b"-ERR", True)),
     ("L7RSP", None, "TCPCHK matched unwanted content (binary) at step 3")),
    (replying(b"220 hello\r\n", read_first=False), (expect("string", b"220"),),
     ("L7OK", 0, "(tcp-check)")),
    (pong, (send(b"PING\r\n"),), ("L7OK", 0, "(tcp-check)")),
    (close_at_once, (expect("string", b"220"),),
     ("L7RSP", None, "TCPCHK got an empty response at step 1")),
    (close_at_once, (expect("string", b"220", comment="banner"),),
     ("L7RSP", None, "TCPCHK got an empty response at step 1 comment: 'banner'")),
    (silent, (), ("L4OK", None, "")),
    (silent, (TcpCheckRule("connect"),), ("L4OK", None, "(tcp-check)")),
    (split_pong, (send(b"PING\r\n"), expect("string", b"+PO"), expect("string", b"NG")),
     ("L7OK", 0, "(tcp-check)")),
    (split_pong, (send(b"PING\r\n"), expect("string", b"+PONG")), ("L7OK", 0, "(tcp-check)")),
])
async def test_tcpcheck(nursery, handler, rules, expected):
    port = await start(nursery, handler)
    assert outcome(await run(tcpcheck(*rules), port)) == expected


async def test_tcpcheck_timeouts(nursery):
    port = await start(nursery, silent)
    result = await run(tcpcheck(*PING_PONG), port, timeout=0.2)
    assert outcome(result) == ("L7TOUT", None, " at step 2 of tcp-check (expect string '+PONG')")
    spec = tcpcheck(send(b"PING\r\n"), expect("string", b"+PONG", comment="want pong"))
    assert (await run(spec, port, timeout=0.2)).info == (
        " at step 2 of tcp-check (expect string '+PONG') comment: 'want pong'")
    assert (await run(tcpcheck(expect("rstring", b"^x")), port, timeout=0.2)).info == (
        " at step 1 of tcp-check (expect regex)")


async def test_tcpcheck_negated_expect_waits_for_close(nursery):
    port = await start(nursery, replying(b"-ERR\r\n", then_close=False))
    spec = tcpcheck(send(b"PING\r\n"), expect("string", b"+PONG", negate=True))
    assert (await run(spec, port, timeout=0.2)).status == "L7TOUT"


async def test_tcpcheck_connect_errors(nursery, unaccepting):
    refused = closed_port()
    assert outcome(await run(tcpcheck(*PING_PONG), refused)) == (
        "L4CON", None, "Connection refused at initial connection step of tcp-check")
    assert outcome(await run(tcpcheck(TcpCheckRule("connect"), *PING_PONG), refused)) == (
        "L4CON", None, "Connection refused at step 1 of tcp-check (connect)")
    port = await start(nursery, pong)
    spec = tcpcheck(TcpCheckRule("connect"), *PING_PONG, TcpCheckRule("connect", port=refused))
    assert outcome(await run(spec, port)) == (
        "L4CON", None, f"Connection refused at step 4 of tcp-check (connect port {refused})")
    assert outcome(await run(tcpcheck(*PING_PONG), unaccepting, connect_timeout=0.2)) == (
        "L4TOUT", None, " at initial connection step of tcp-check")


async def test_tcpcheck_reset_mid_check(nursery):
    async def pong_then_reset(stream: trio.SocketStream) -> None:
        await stream.receive_some(4096)
        await stream.send_all(b"+PONG\r\n")
        await trio.sleep(0.05)
        hard_close(stream)

    port = await start(nursery, pong_then_reset)
    spec = tcpcheck(*PING_PONG, *PING_PONG)
    assert outcome(await run(spec, port)) == (
        "SOCKERR", None, "Connection reset by peer at step 4 of tcp-check (expect string '+PONG')")


# --- the loop -------------------------------------------------------------------------------

class Switchable:
    """A TCP service that can be stopped (connections refused) and started on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.listener: trio.SocketListener | None = None
        self.scope: trio.CancelScope | None = None

    async def start(self, nursery: trio.Nursery) -> None:
        [self.listener] = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
        self.port = self.listener.socket.getsockname()[1]
        self.scope = await nursery.start(self._serve, self.listener)

    async def _serve(self, listener, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            while True:
                stream = await listener.accept()
                await stream.aclose()

    async def stop(self) -> None:
        self.scope.cancel()
        await self.listener.aclose()


async def test_check_loop_down_and_up(nursery, mock_clock):
    mock_clock.autojump_threshold = 0.05  # real loopback I/O must not count as idleness
    service = Switchable()
    await service.start(nursery)
    health = HealthState(2, 3, inter=2.0, fastinter=0.5, downinter=5.0)
    send_ch, recv_ch = trio.open_memory_channel(math.inf)
    enabled = [True]

    def on_result(result, transition):
        send_ch.send_nowait((trio.current_time(), result.status, transition, health.status_text()))

    nursery.start_soon(partial(check_loop, TCP, lambda: ("127.0.0.1", service.port), health, timeout=1.0,
                               connect_timeout=1.0, enabled=lambda: enabled[0], on_result=on_result,
                               first_delay=1.0))

    async def next_results(n: int) -> list[tuple]:
        with trio.fail_after(60):
            return [await recv_ch.receive() for _ in range(n)]

    first = await next_results(2)
    assert [r[1:] for r in first] == [("L4OK", None, "UP"), ("L4OK", None, "UP")]
    assert first[0][0] == pytest.approx(1.0) and first[1][0] == pytest.approx(1.0 + 2.0)

    await service.stop()
    going_down = await next_results(4)
    assert [r[1:] for r in going_down] == [
        ("L4CON", None, "UP 2/3"), ("L4CON", None, "UP 1/3"), ("L4CON", "down", "DOWN"),
        ("L4CON", None, "DOWN"),
    ]
    times = [first[1][0]] + [r[0] for r in going_down]
    assert [b - a for a, b in zip(times, times[1:])] == pytest.approx([2.0, 0.5, 0.5, 5.0])

    await service.start(nursery)  # same port again
    coming_up = await next_results(3)
    assert [r[1:] for r in coming_up] == [
        ("L4OK", None, "DOWN 1/2"), ("L4OK", "up", "UP"), ("L4OK", None, "UP"),
    ]
    times = [going_down[-1][0]] + [r[0] for r in coming_up]
    assert [b - a for a, b in zip(times, times[1:])] == pytest.approx([5.0, 0.5, 2.0])

    enabled[0] = False  # MAINT: no probes at all
    await trio.sleep(20)
    assert recv_ch.statistics().current_buffer_used == 0
    enabled[0] = True
    [(when, status, transition, text)] = await next_results(1)
    assert status == "L4OK" and transition is None and when < coming_up[-1][0] + 20 + 2.0 + 0.01
