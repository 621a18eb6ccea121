"""Log targets: send framed syslog lines to UDP, unix datagram sockets, stdout and stderr.

Theory of operation: a Logger holds the `log` lines of one proxy (or of `global`). For each
message it walks its targets as HAProxy's process_send_log() does: a target whose max level
is below the message's severity is skipped, and a message more severe than the target's
min level is sent with the min level instead (HAProxy's MAX(level, minlvl): with
`log ... local0 debug err` an "alert" goes out as "err"). Each target frames the line itself
(syslog.frame) with its own format, facility and length.

Sending never blocks and never raises, like HAProxy's __do_send_log(): sockets are
non-blocking datagram sockets shared by all the Logger's targets of one family; EAGAIN
drops the line and counts it in `dropped`; any other error (no such socket, refused,
unreachable) is reported once per target through `on_error` and the line is lost.
stdout/stderr are written with one os.write() on fd 1/2 (HAProxy's fd@1/fd@2), so a line
is never interleaved with another one. This module is the one place outside trio_lb/net/
allowed to use sockets (stdlib `socket`, no trio): logging must not wait for the loop.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable

from trio_lb.config.model import LogTarget
from trio_lb.log.syslog import facility_number, frame, level_number

SYSLOG_PORT = 514


class _Sink:
    """One resolved target."""

    __slots__ = ("spec", "level", "min_level", "facility", "family", "address", "fd",
                 "failed", "error")

    def __init__(self, spec: LogTarget) -> None:
        self.spec = spec
        self.level = level_number(spec.level)
        self.min_level = level_number(spec.min_level)
        self.facility = facility_number(spec.facility)
        self.family: int | None = None
        self.address: object = None
        self.fd: int | None = None
        self.failed = False  # an error was already reported for this target
        self.error: str | None = None
        if spec.kind == "stdout":
            self.fd = 1
        elif spec.kind == "stderr":
            self.fd = 2
        elif spec.kind == "unix":
            self.family = socket.AF_UNIX
            self.address = str(spec.address)
        elif spec.kind == "udp":
            self._resolve()
        else:
            raise ValueError(f"unknown log target kind '{spec.kind}'")

    def _resolve(self) -> None:
        addr = self.spec.address
        host, port = addr if isinstance(addr, tuple) else (addr, SYSLOG_PORT)
        try:
            info = socket.getaddrinfo(host or "127.0.0.1", port or SYSLOG_PORT,
                                      type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP)
        except (OSError, UnicodeError) as exc:
            self.error = f"cannot resolve log server '{host}': {exc}"
            return
        self.family, _, _, _, self.address = info[0]


class Logger:
    """Sends log messages to a list of `log` targets."""

    def __init__(self, targets: list[LogTarget], *, tag: str = "haproxy",
                 hostname: str | None = None, pid: int | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.tag = tag
        self.hostname = hostname  # `log-send-hostname`; None: not sent
        self.pid = os.getpid() if pid is None else pid
        self.on_error = on_error
        self.dropped = 0  # lines lost on EAGAIN (HAProxy's DroppedLogs)
        self._sinks = [_Sink(t) for t in targets]
        self._sockets: dict[int, socket.socket] = {}
        for n, sink in enumerate(self._sinks, 1):
            if sink.error is not None:
                self._report(sink, n, sink.error)

    @property
    def targets(self) -> list[LogTarget]:
        return [s.spec for s in self._sinks]

    def log(self, message: str, *, level: str | int = "info", now: float) -> None:
        """Send `message` to every target whose level range admits `level`. Never raises."""
        severity = level_number(level)
        for n, sink in enumerate(self._sinks, 1):
            if severity > sink.level:
                continue
            spec = sink.spec
            data = frame(message, fmt=spec.format, facility=sink.facility,
                         level=max(severity, sink.min_level), tag=self.tag, pid=self.pid,
                         hostname=self.hostname, now=now, maxlen=spec.length,
                         fd_target=sink.fd is not None)
            self._send(sink, n, data)

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------

    def _send(self, sink: _Sink, n: int, data: bytes) -> None:
        try:
            if sink.fd is not None:
                os.write(sink.fd, data)
                return
            if sink.family is None:
                return  # unresolved address, already reported
            self._socket(sink.family).sendto(data, socket.MSG_DONTWAIT, sink.address)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS):
                self.dropped += 1
            else:
                self._report(sink, n, f"sendmsg()/writev() failed in logger #{n}: "
                                      f"{exc.strerror} (errno={exc.errno})")

    def _socket(self, family: int) -> socket.socket:
        sock = self._sockets.get(family)
        if sock is None:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)  # we never receive
            self._sockets[family] = sock
        return sock

    def _report(self, sink: _Sink, n: int, message: str) -> None:
        sink.error = message
        if sink.failed:
            return
        sink.failed = True
        if self.on_error is not None:
            self.on_error(message)
