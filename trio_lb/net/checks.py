"""Health-check probes (tcp, http, tcp-check, ssl-hello) and the per-server check loop.

Theory of operation
-------------------
`probe` runs one check and always returns a CheckResult; network trouble never escapes it.
It follows HAProxy 2.6's tcpcheck.c, whose observable behaviour was checked against a live
2.6.12 (`show stat` check_status / last_chk and the DOWN/UP log lines):

* Timers. A check connects within `connect_timeout`, then has `timeout` for the rest. With
  `total` (HAProxy without `timeout check`) the whole check, counted from the connect, gets
  `total` instead. Connect timeout -> L4TOUT, anything later -> L7TOUT. See
  state.health.check_timeouts for how HAProxy derives the three numbers.
* Errors. Refused/unreachable connects -> L4CON with strerror() ("Connection refused"); an I/O
  error once connected, before a reply could be looked at (no byte for tcp-check, no complete
  head for http) -> SOCKERR ("Connection reset by peer"); after that it counts as a close.
* kind "tcp": connect and close -> L4OK.
* kind "http": one request, built as HAProxy's H1 mux writes it (`build_http_request`); the
  reply is parsed by h11 (a 1xx counts as the reply, as in 2.6). Garbage or a close before the
  head -> L7RSP. The `expects` (or the implicit `status 200-399`) run in order: status ones
  fail with L7STS (info = reason phrase); body ones (string/rstring) succeed as soon as they
  match, wait on a mismatch until the body is complete (end of message, close, or a full
  buffer), then fail with L7RSP ("HTTP content check did not match"). Success: L7OK, code =
  status, no info.
* kind "tcp-check": the rules run in order. An implicit connect (step 0) is added when the
  first rule is not a connect; steps are otherwise numbered from 1. A send empties the input
  buffer; consecutive expects look at the same buffer, and when one needs more data the group
  is re-evaluated from its first expect once more data arrived. A mismatch is final only once
  the peer closed or the buffer is full; until then the check waits (so a negated expect needs
  the peer to close). Failures carry HAProxy's texts ("TCPCHK did not match content 'x' at step
  2", " at step 2 of tcp-check (expect string 'x')" for a timeout, ...).
* kind "ssl-hello" (`option ssl-hello-chk`): HAProxy's "*ssl-hello-check" ruleset, i.e. step 1
  `send-binary-lf` of a fixed SSLv3 ClientHello stamped with the current time (`ssl_hello`),
  step 2 `expect rbinary ^1[56] min-recv 5 ok-status L6OK error-status L6RSP tout-status
  L6TOUT`: the first byte of the reply must be a TLS alert (0x15) or handshake (0x16) record
  type. It waits for 5 bytes or the close; then the verdict is final (no waiting on a
  mismatch). Being a protocol check, it adds no info texts: L6OK / L6RSP / L6TOUT with empty
  info, except "TCPCHK got an empty response at step 2" (L6RSP) when the peer closes without
  a byte; connect errors are as for kind "tcp", a reset before any byte is SOCKERR.

TLS (`check-ssl`, or `ssl` on the server): the connection is wrapped once connected and the
handshake completes under the connect deadline (net/tls.py): a timeout there is L6TOUT, a failed
handshake L6RSP "SSL handshake failure", and a plain tcp check that got through it is L6OK.

Connections are closed with an RST (SO_LINGER 0), as HAProxy closes its checks (`tcp-check
connect linger` is not modelled), so the balancer does not pile up TIME_WAIT sockets.

`check_loop` probes, feeds HealthState, reports, then sleeps `next_interval()` counted from the
end of the check, as HAProxy's process_chk_conn reschedules its task.
"""

from __future__ import annotations

import os
import random
import re
import socket
import struct
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Awaitable, Callable, NoReturn

import trio

try:
    import h11_mypyc as h11
except ImportError:  # pragma: no cover - the pure-Python build
    import h11

from trio_lb.config.model import CheckSpec, HttpExpect, TcpCheckRule
from trio_lb.net.tls import TlsCheckSocket
from trio_lb.state.health import CheckResult, HealthState

BUFSIZE = 16384  # tune.bufsize: how much of a reply a check looks at

_Outcome = tuple[str, int | None, str]  # status, code, info


class _IOFailure(Exception):
    """A connect/send/recv problem; tcp-check appends where it happened to `info`."""

    def __init__(self, status: str, info: str = "") -> None:
        super().__init__(status, info)
        self.status = status
        self.info = info


def _strerror(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)


# --- timers ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Budget:
    connect_timeout: float
    timeout: float
    total: float | None
    tls: Any = None  # how to connect rather than when: the server's check ServerTLS (check-ssl), or None

    def connect_deadline(self, started: float) -> float:
        limit = started + self.connect_timeout
        return min(limit, started + self.total) if self.total is not None else limit

    def reply_deadline(self, started: float, connected: float) -> float:
        return started + self.total if self.total is not None else connected + self.timeout


# --- sockets --------------------------------------------------------------------------------

async def _resolve(host: str, port: int) -> tuple[int, tuple]:
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _IOFailure("L4CON", exc.strerror or str(exc)) from None
    family, _type, _proto, _name, addr = infos[0]
    return family, addr


async def _open(host: str, port: int, deadline: float, tls: Any = None) -> Any:
    """Connected socket (a TlsCheckSocket with `tls`), or _IOFailure L4TOUT (deadline) / L4CON
    (refused, unreachable...) / L6TOUT / L6RSP (TLS handshake)."""
    sock = None
    with trio.move_on_at(deadline):
        family, addr = await _resolve(host, port)
        sock = trio.socket.socket(family, socket.SOCK_STREAM)
        try:
            await sock.connect(addr)
        except OSError as exc:
            sock.close()
            raise _IOFailure("L4CON", _strerror(exc)) from None
        except BaseException:
            sock.close()
            raise
        if tls is None:
            return sock
    if sock is None or sock.fileno() == -1:
        raise _IOFailure("L4TOUT")
    return await _secure(sock, tls, deadline)


async def _secure(sock: trio.socket.SocketType, tls: Any, deadline: float) -> TlsCheckSocket:
    try:
        tsock = TlsCheckSocket.wrap(sock, tls.context, tls.server_hostname(None))
    except (OSError, ValueError):
        sock.close()
        raise _IOFailure("L6RSP", "SSL handshake failure") from None
    ok = False
    try:
        with trio.move_on_at(deadline):
            ok = await tsock.handshake()
            if not ok:
                raise _IOFailure("L6RSP", "SSL handshake failure")
            return tsock
        raise _IOFailure("L6TOUT")
    finally:
        if not ok:
            _abort(tsock)


def _abort(sock: trio.socket.SocketType | TlsCheckSocket | None) -> None:
    """Close with an RST, as HAProxy closes its check connections."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


async def _send_all(sock: trio.socket.SocketType, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            sent = await sock.send(view)
            view = view[sent:]
    except OSError as exc:
        raise _IOFailure("SOCKERR", _strerror(exc)) from None


async def _recv(sock: trio.socket.SocketType, size: int, have_data: bool) -> bytes:
    """b"" on end of stream; an error is one only if nothing was received (as HAProxy)."""
    try:
        return await sock.recv(size)
    except OSError as exc:
        if have_data:
            return b""
        raise _IOFailure("SOCKERR", _strerror(exc)) from None


# --- kind "tcp" -----------------------------------------------------------------------------

async def _probe_tcp(spec: CheckSpec, host: str, port: int, budget: _Budget) -> _Outcome:
    try:
        sock = await _open(host, port, budget.connect_deadline(trio.current_time()), budget.tls)
    except _IOFailure as failure:
        return failure.status, None, failure.info
    _abort(sock)
    return ("L4OK" if budget.tls is None else "L6OK"), None, ""


# --- kind "http" ----------------------------------------------------------------------------

# bodyless requests with another method get "content-length: 0" from the H1 mux (verified)
_NO_EMPTY_CLEN = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_DEFAULT_EXPECT = HttpExpect("status", "200-399")


def _connection_header(version: str, value: str | None) -> str | None:
    """HTTP/1.1 says `connection: close` unless told keep-alive; HTTP/1.0 only keep-alive."""
    close = value is None or "close" in [t.strip().lower() for t in value.split(",")]
    if version.upper() == "HTTP/1.0":
        return None if close else "connection: keep-alive"
    return "connection: close" if close else None


def build_http_request(spec: CheckSpec) -> bytes:
    """The exact bytes HAProxy 2.6 sends for option httpchk / http-check send.

    Header names are lower-cased, a user Content-Length is replaced by the real one, and the
    Connection header goes last (verified with a capturing listener): e.g.
    b"GET /hc HTTP/1.1\\r\\nhost: a\\r\\ncontent-length: 3\\r\\nconnection: close\\r\\n\\r\\nabc".
    """
    lines = [f"{spec.method} {spec.uri} {spec.version}"]
    connection = None
    for name, value in spec.headers:
        lname = name.lower()
        if lname == "connection":
            connection = value
        elif lname != "content-length":
            lines.append(f"{lname}: {value}")
    if spec.body:
        lines.append(f"content-length: {len(spec.body)}")
    elif spec.method not in _NO_EMPTY_CLEN:
        lines.append("content-length: 0")
    conn_line = _connection_header(spec.version, connection)
    if conn_line:
        lines.append(conn_line)
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + spec.body


@lru_cache(maxsize=256)
def parse_status_list(pattern: str) -> tuple[tuple[int, int], ...]:
    """ "200-299,404" -> ((200, 299), (404, 404)); unparsable items match nothing."""
    ranges = []
    for item in pattern.split(","):
        low, _, high = item.strip().partition("-")
        try:
            ranges.append((int(low), int(high or low)))
        except ValueError:
            continue
    return tuple(ranges)


@lru_cache(maxsize=256)
def _regex(pattern: str | bytes) -> re.Pattern:
    return re.compile(pattern)


def _as_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")


def _status_in(exp: HttpExpect, code: int, body: bytes) -> bool:
    return any(low <= code <= high for low, high in parse_status_list(exp.pattern))


def _status_regex(exp: HttpExpect, code: int, body: bytes) -> bool:
    return _regex(exp.pattern).search(str(code)) is not None


def _body_has(exp: HttpExpect, code: int, body: bytes) -> bool:
    return _as_bytes(exp.pattern) in body


def _body_regex(exp: HttpExpect, code: int, body: bytes) -> bool:
    return _regex(_as_bytes(exp.pattern)).search(body) is not None


# match -> (test, status on failure, whether it looks at the body)
_HTTP_MATCHERS: dict[str, tuple[Callable[[HttpExpect, int, bytes], bool], str, bool]] = {
    "status": (_status_in, "L7STS", False),
    "rstatus": (_status_regex, "L7STS", False),
    "string": (_body_has, "L7RSP", True),
    "rstring": (_body_regex, "L7RSP", True),
}


def _body_wait(exp: HttpExpect, body: bytes, last_read: bool) -> bool | _Outcome:
    """tcpcheck_eval_expect_http()'s body rules: True = wait for more, an outcome = fail now."""
    if not body:
        if last_read:
            return "L7RSP", None, "HTTP content check could not find a response body"
        return True
    return not last_read and exp.match == "string" and len(body) < len(_as_bytes(exp.pattern))


def http_verdict(expects: list[HttpExpect], code: int, reason: str, body: bytes,
                 last_read: bool = True) -> _Outcome | None:
    """Evaluate the expect rules in order against a reply; None = wait for more body.

    `last_read` is true once the body is complete (end of message, close, or a full buffer).
    A body expect succeeds as soon as it matches and waits on a mismatch until then.
    """
    for exp in expects or [_DEFAULT_EXPECT]:
        test, fail_status, on_body = _HTTP_MATCHERS[exp.match]
        if on_body:
            wait = _body_wait(exp, body, last_read)
            if wait is True:
                return None
            if wait:
                return wait
        matched = test(exp, code, body)
        if on_body and not matched and not last_read:
            return None
        if matched != exp.negate:
            continue
        if fail_status == "L7STS":
            return "L7STS", code, reason
        if exp.negate:
            return "L7RSP", None, "HTTP check matched unwanted content"
        return "L7RSP", None, "HTTP content check did not match"
    return "L7OK", code, ""


class _HttpReply:
    """Reads one reply with h11: the head first, then the body a recv at a time."""

    def __init__(self, sock: trio.socket.SocketType, method: str) -> None:
        self.sock = sock
        self.conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=BUFSIZE)
        # h11 only frames the reply (it must know about HEAD); the real bytes were sent already
        framing = "HEAD" if method == "HEAD" else "GET"
        self.conn.send(h11.Request(method=framing, target="/", headers=[("Host", "check")]))
        self.conn.send(h11.EndOfMessage())
        self.head: h11.Response | h11.InformationalResponse | None = None
        self.body = bytearray()
        self.complete = False

    @property
    def last_read(self) -> bool:
        return self.complete or len(self.body) >= BUFSIZE

    async def read_head(self) -> bool:
        """False when the reply is garbage or the peer closed before a complete head."""
        while self.head is None:
            if not await self._step():
                return False
        return True

    async def read_body(self) -> None:
        """At least one more piece of body, or the end of it."""
        size = len(self.body)
        while not self.last_read and len(self.body) == size:
            if not await self._step():
                self.complete = True

    async def _step(self) -> bool:
        try:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                # a reset before a complete head is a socket error, after it an end of stream
                self.conn.receive_data(await _recv(self.sock, BUFSIZE, self.head is not None))
            elif isinstance(event, (h11.Response, h11.InformationalResponse)):
                # HAProxy 2.6 judges even a "100 Continue" as the reply (verified)
                self.head = event
                self.complete = isinstance(event, h11.InformationalResponse)
            elif isinstance(event, h11.Data):
                self.body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                self.complete = True
            return True
        except h11.RemoteProtocolError:
            return False  # garbage, or closed before the end: judge what we have


async def _http_exchange(sock: trio.socket.SocketType, spec: CheckSpec) -> _Outcome:
    await _send_all(sock, build_http_request(spec))
    reply = _HttpReply(sock, spec.method)
    if not await reply.read_head():
        return "L7RSP", None, ""
    code, reason = reply.head.status_code, reply.head.reason.decode("latin-1")
    while True:
        body = bytes(reply.body[:BUFSIZE])
        verdict = http_verdict(spec.expects, code, reason, body, reply.last_read)
        if verdict is not None:
            return verdict
        await reply.read_body()


async def _probe_http(spec: CheckSpec, host: str, port: int, budget: _Budget) -> _Outcome:
    started = trio.current_time()
    try:
        sock = await _open(host, port, budget.connect_deadline(started), budget.tls)
    except _IOFailure as failure:
        return failure.status, None, failure.info
    try:
        with trio.move_on_at(budget.reply_deadline(started, trio.current_time())):
            return await _http_exchange(sock, spec)
        return "L7TOUT", None, ""
    except _IOFailure as failure:
        return failure.status, None, failure.info
    finally:
        _abort(sock)


# --- kind "tcp-check" -----------------------------------------------------------------------

def _pattern_text(rule: TcpCheckRule) -> str:
    data = rule.data
    return data.decode("latin-1") if isinstance(data, bytes) else str(data)


# expect match -> text naming the rule in a timeout/error suffix, and in a mismatch message
_EXPECT_TEXT: dict[str, tuple[Callable[[TcpCheckRule], str], Callable[[TcpCheckRule], str]]] = {
    "string": (lambda r: f" (expect string '{_pattern_text(r)}')",
               lambda r: f" '{_pattern_text(r)}'"),
    "binary": (lambda r: f" (expect binary '{_pattern_text(r)}')", lambda r: " (binary)"),
    "rstring": (lambda r: " (expect regex)", lambda r: " (regex)"),
    "rbinary": (lambda r: " (expect binary regex)", lambda r: " (binary regex)"),
}


def tcpcheck_where(step: int, rule: TcpCheckRule) -> str:
    """chk_report_conn_err()'s suffix: " at step 2 of tcp-check (expect string '+PONG')"."""
    if step == 0:
        return " at initial connection step of tcp-check"
    text = f" at step {step} of tcp-check"
    if rule.action == "connect":
        text += f" (connect port {rule.port})" if rule.port else " (connect)"
    elif rule.action == "expect":
        text += _EXPECT_TEXT[rule.match or "string"][0](rule)
    else:
        text += " (send)"
    if rule.comment:
        text += f" comment: '{rule.comment}'"
    return text


def tcpcheck_mismatch(step: int, rule: TcpCheckRule, matched: bool) -> str:
    """tcpcheck_expect_onerror_message(): "TCPCHK did not match content 'x' at step 2"."""
    head = "TCPCHK matched unwanted content" if matched else "TCPCHK did not match content"
    text = f"{head}{_EXPECT_TEXT[rule.match or 'string'][1](rule)} at step {step}"
    if rule.comment:
        text += f" comment: {rule.comment}"
    return text


def tcpcheck_empty(step: int, rule: TcpCheckRule) -> str:
    text = f"TCPCHK got an empty response at step {step}"
    if rule.comment:
        text += f" comment: '{rule.comment}'"
    return text


def _match_tcp(rule: TcpCheckRule, buf: bytes) -> bool:
    data = _as_bytes(rule.data)
    if rule.match == "rstring":
        return _regex(data).search(buf) is not None
    if rule.match == "rbinary":
        return _regex(data).search(buf.hex().upper().encode()) is not None
    return data in buf  # string, binary (already decoded from hex by the parser)


WAIT, PASS, FAIL_MATCHED, FAIL_MISSING = "wait", "pass", "matched", "missing"


def tcpcheck_expect(rule: TcpCheckRule, buf: bytes, last_read: bool) -> str:
    """One expect against the buffer: WAIT for more data, PASS, or a failure kind."""
    literal = rule.match in (None, "string", "binary")
    if not last_read and literal and len(buf) < len(_as_bytes(rule.data)):
        return WAIT
    matched = _match_tcp(rule, buf)
    if not matched and not last_read:
        return WAIT
    if matched != rule.negate:
        return PASS
    return FAIL_MATCHED if matched else FAIL_MISSING


def tcpcheck_steps(rules: list[TcpCheckRule]) -> list[tuple[int, TcpCheckRule, int]]:
    """(step number, rule, index of the first expect of its group) with the implicit connect."""
    steps: list[tuple[int, TcpCheckRule]] = list(enumerate(rules, 1))
    if not rules or rules[0].action != "connect":
        steps.insert(0, (0, TcpCheckRule("connect")))
    out = []
    head = 0
    for i, (step, rule) in enumerate(steps):
        if rule.action != "expect" or i == 0 or steps[i - 1][1].action != "expect":
            head = i
        out.append((step, rule, head))
    return out


class _TcpCheck:
    """One run of a tcp-check rule list; `run` returns the outcome."""

    def __init__(self, spec: CheckSpec, host: str, port: int, budget: _Budget) -> None:
        self.steps = tcpcheck_steps(spec.tcp_rules)
        self.host, self.port, self.budget = host, port, budget
        self.sock: trio.socket.SocketType | None = None
        self.buf = bytearray()
        self.eof = False
        self.connecting = False
        self.scope = trio.CancelScope()

    async def run(self) -> _Outcome:
        i = 0
        step, rule, _ = self.steps[0]
        try:
            with self.scope:
                must_read = True
                while i < len(self.steps):
                    step, rule, head = self.steps[i]
                    handler = self._HANDLERS[rule.action]
                    verdict = await handler(self, step, rule, must_read)
                    if verdict == WAIT:  # more data, then the group again from its head
                        i, must_read = head, True
                        continue
                    if verdict in (FAIL_MATCHED, FAIL_MISSING):
                        return "L7RSP", None, tcpcheck_mismatch(step, rule, verdict == FAIL_MATCHED)
                    must_read = rule.action != "expect"
                    i += 1
                return self._success(step, rule)
            status = "L4TOUT" if self.connecting else "L7TOUT"
            return status, None, tcpcheck_where(step, rule)
        except _IOFailure as failure:
            return failure.status, None, failure.info + tcpcheck_where(step, rule)
        except _EmptyResponse:
            return "L7RSP", None, tcpcheck_empty(step, rule)
        finally:
            _abort(self.sock)

    @staticmethod
    def _success(step: int, rule: TcpCheckRule) -> _Outcome:
        if rule.action == "connect":
            return "L4OK", None, "" if step == 0 else "(tcp-check)"
        return "L7OK", 0, "(tcp-check)"

    async def _connect(self, step: int, rule: TcpCheckRule, must_read: bool) -> str:
        _abort(self.sock)
        self.sock = None
        self.buf.clear()
        self.eof = False
        started = trio.current_time()
        self.scope.deadline = self.budget.connect_deadline(started)
        self.connecting = True
        self.sock = await _open(rule.addr or self.host, rule.port or self.port, self.scope.deadline,
                                self.budget.tls)
        self.connecting = False
        self.scope.deadline = self.budget.reply_deadline(started, trio.current_time())
        return PASS

    async def _send(self, step: int, rule: TcpCheckRule, must_read: bool) -> str:
        self.buf.clear()
        await _send_all(self.sock, _as_bytes(rule.data))
        return PASS

    async def _expect(self, step: int, rule: TcpCheckRule, must_read: bool) -> str:
        if must_read:
            await self._read()
        return tcpcheck_expect(rule, bytes(self.buf), self.eof or len(self.buf) >= BUFSIZE)

    async def _read(self) -> None:
        """One recv into the buffer (unless the stream ended or the buffer is full)."""
        if self.eof or len(self.buf) >= BUFSIZE:
            return
        data = await _recv(self.sock, BUFSIZE - len(self.buf), bool(self.buf))
        if data:
            self.buf += data
        else:
            self.eof = True
            if not self.buf:
                raise _EmptyResponse()

    _HANDLERS: dict[str, Callable[[_TcpCheck, int, TcpCheckRule, bool], Awaitable[str]]] = {
        "connect": _connect,
        "send": _send,
        "send-binary": _send,
        "expect": _expect,
    }


class _EmptyResponse(Exception):
    """The peer closed before sending anything an expect could look at."""


async def _probe_tcpcheck(spec: CheckSpec, host: str, port: int, budget: _Budget) -> _Outcome:
    return await _TcpCheck(spec, host, port, budget).run()


# --- kind "ssl-hello" -----------------------------------------------------------------------

# tcpcheck.c proxy_parse_ssl_hello_chk_opt(): an SSLv3 CLIENT HELLO (RFC 2246 A.3/A.4) offering
# 39 common ciphers (0x01..0x1B, 0x2F..0x3A) and NULL compression; bytes 11..14 are the time.
_HELLO_HEAD = bytes.fromhex(
    "16" "0300" "0079"  # record: handshake, SSLv3, 0x79 bytes
    "01" "000075"       # handshake: client hello, 0x75 bytes
    "0300")             # hello version SSLv3
_HELLO_TAIL = (
    b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n"  # the rest of the 32-byte random
    + b"\x00"                          # no session id
    + b"\x00\x4e" + b"".join(struct.pack(">H", c) for c in [*range(0x01, 0x1C), *range(0x2F, 0x3B)])
    + b"\x01\x00")                     # one compression method: NULL
SSL_HELLO_MIN_RECV = 5
SSL_HELLO_EXPECT_STEP = 2


def ssl_hello(unix_time: float) -> bytes:
    """The 126 bytes HAProxy 2.6 sends for `option ssl-hello-chk` at `unix_time` (date(),htonl)."""
    return _HELLO_HEAD + struct.pack(">I", int(unix_time) & 0xFFFFFFFF) + _HELLO_TAIL


def ssl_hello_verdict(buf: bytes, last_read: bool) -> _Outcome | None:
    """The expect of the ruleset on what was received; None = wait for more.

    `last_read`: the peer closed or the buffer is full. An empty buffer at that point is the
    "empty response" failure of tcpcheck_eval_recv().
    """
    if not buf:
        if last_read:
            return "L6RSP", None, f"TCPCHK got an empty response at step {SSL_HELLO_EXPECT_STEP}"
        return None
    if len(buf) < SSL_HELLO_MIN_RECV and not last_read:
        return None
    if buf[0] in (0x15, 0x16):  # "^1[56]" over the upper-case hex dump
        return "L6OK", None, ""
    return "L6RSP", None, ""


async def _ssl_hello_exchange(sock: trio.socket.SocketType) -> _Outcome:
    await _send_all(sock, ssl_hello(time.time()))
    buf = b""
    last_read = False
    while True:
        verdict = ssl_hello_verdict(buf, last_read)
        if verdict is not None:
            return verdict
        data = await _recv(sock, BUFSIZE - len(buf), bool(buf))
        buf += data
        last_read = not data or len(buf) >= BUFSIZE


async def _probe_ssl_hello(spec: CheckSpec, host: str, port: int, budget: _Budget) -> _Outcome:
    started = trio.current_time()
    try:
        sock = await _open(host, port, budget.connect_deadline(started), budget.tls)
    except _IOFailure as failure:
        return failure.status, None, failure.info
    try:
        with trio.move_on_at(budget.reply_deadline(started, trio.current_time())):
            return await _ssl_hello_exchange(sock)
        return "L6TOUT", None, ""
    except _IOFailure as failure:
        return failure.status, None, failure.info
    finally:
        _abort(sock)


# --- entry points ---------------------------------------------------------------------------

_PROBES: dict[str, Callable[[CheckSpec, str, int, _Budget], Awaitable[_Outcome]]] = {
    "tcp": _probe_tcp,
    "http": _probe_http,
    "tcp-check": _probe_tcpcheck,
    "ssl-hello": _probe_ssl_hello,
}


async def probe(spec: CheckSpec, host: str, port: int, *, timeout: float, connect_timeout: float,
                total: float | None = None, tls: Any = None) -> CheckResult:
    """Run one check of `spec` against host:port; never raises on network errors. `tls`: a
    trio_lb.tls ServerTLS (check-ssl) to check over TLS."""
    started = trio.current_time()
    try:
        status, code, info = await _PROBES[spec.kind](spec, host, port,
                                                      _Budget(connect_timeout, timeout, total, tls))
    except OSError as exc:  # e.g. EMFILE creating the socket
        status, code, info = "SOCKERR", None, _strerror(exc)
    return CheckResult(status, code, trio.current_time() - started, info)


def _spread(interval: float, spread_pct: int) -> float:
    """global spread-checks: +/- spread_pct % of the interval, at random."""
    if spread_pct <= 0:
        return interval
    rv = interval * spread_pct / 100
    return interval + random.uniform(-rv, rv)


async def check_loop(spec: CheckSpec, target: Callable[[], tuple[str, int]], health: HealthState, *,
                     timeout: float, connect_timeout: float, enabled: Callable[[], bool],
                     on_result: Callable[[CheckResult, str | None], None], first_delay: float = 0.0,
                     total: float | None = None, spread_pct: int = 0, tls: Any = None) -> NoReturn:
    """Check forever: probe `target()` (host, port), feed `health`, report, sleep
    `health.next_interval()`."""
    await trio.sleep(first_delay)
    while True:
        if not enabled():
            await trio.sleep(health.inter)
            continue
        host, port = target()
        result = await probe(spec, host, port, timeout=timeout, connect_timeout=connect_timeout,
                             total=total, tls=tls)
        transition = health.on_result(result)
        on_result(result, transition)
        await trio.sleep(_spread(health.next_interval(), spread_pct))
