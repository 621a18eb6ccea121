"""Glue between the data plane and trio_lb.log: traffic log lines and the daemon's own messages.

`make_traffic_logger(proxy, config)` returns None when the frontend logs nothing (the common
fast path: no record is even built), else a `TrafficLogger` whose `transaction()` turns a
finished Txn into a TxnLog, renders the proxy's log-format once and sends it to its targets.

`ProcessLog.emit()` is for the daemon's own events (health transitions, start, stop): on stderr
with HAProxy's `[WARNING]  (pid) : ` tags unless quiet, and to the global log targets.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from trio_lb.config.model import Config, Proxy
from trio_lb.log import Logger, TxnLog, compile_format
from trio_lb.log.logformat import TCPLOG
from trio_lb.rules.http_actions import capture_headers

# the stderr tag of a process message by its syslog level. HAProxy logs a server going DOWN (or
# into maintenance) at "alert" but prints it with ha_warning(); "emerg" (a backend with no server
# left) it prints with ha_alert().
_TAGS = {"emerg": "[ALERT]    ", "alert": "[WARNING]  ", "crit": "[ALERT]    ", "err": "[ALERT]    ",
         "warning": "[WARNING]  ", "notice": "[NOTICE]   ", "info": "[NOTICE]   "}


class TrafficLogger:
    def __init__(self, proxy: Proxy, fmt: str, logger: Logger) -> None:
        self.render = compile_format(fmt, mode=proxy.mode)
        self.logger = logger
        self.proxy = proxy
        self.http = proxy.mode == "http"
        self.count = 0

    def transaction(self, ctx: Any, txn: Any, session: Any, now: float) -> None:
        if self.proxy.dontlognull and session.bytes_in == 0 and txn.status is None:
            return
        rt = ctx.runtime
        backend = txn.backend
        server = txn.attempt.server
        at = txn.attempt
        req = txn.request
        elapsed = int((now - txn.start) * 1000)
        tr = txn.request_ms if self.http else -1
        record = TxnLog(
            client_ip=session.peer[0], client_port=session.peer[1],
            frontend_ip=session.local[0], frontend_port=session.local[1],
            server_ip=server.host if server else None, server_port=server.port if server else None,
            accept_date=time.time() - (now - txn.start), frontend=ctx.spec.name,
            backend=backend.name if backend else None,
            server=server.name if server else txn.applet,
            TR=tr, Tw=at.queue_ms, Tc=at.connect_ms, Tr=txn.response_ms, Tt=elapsed + max(tr, 0),
            status=txn.status, bytes_read=session.bytes_out - txn.out0,
            bytes_uploaded=session.bytes_in - txn.in0, termination_state=txn.termination + txn.cookie_flags,
            actconn=rt.actconn, feconn=ctx.state.cur_sess, beconn=backend.cur_sess if backend else 0,
            srv_conn=server.cur_sess if server else 0, retries=at.retries, redispatched=at.redispatched,
            srv_queue=len(server.queue) if server else 0, backend_queue=len(backend.queue) if backend else 0,
            method=req.method.decode("ascii", "replace") if req is not None else None,
            uri=req.target.decode("latin-1") if req is not None else None,
            version="HTTP/" + req.http_version.decode("ascii", "replace") if req is not None else None,
            request_counter=rt.cum_reqs, log_counter=self.count,
        )
        captures = ctx.spec.captures
        if captures and txn.rules is not None and txn.view is not None:  # `capture request|response header`
            ctx_captures = txn.rules.ctx.captures
            record.captured_request_headers = capture_headers(captures, txn.view.headers, False, ctx_captures)
            record.captured_response_headers = capture_headers(
                captures, txn.rules.extra.get("response_headers", []), True, [])
        self.count += 1
        self.logger.log(self.render(record), level="info", now=time.time())


def make_traffic_logger(proxy: Proxy, config: Config) -> TrafficLogger | None:
    targets = proxy.logs
    if not targets:
        return None
    fmt = proxy.log_format
    if fmt is None:
        # no log format configured: HAProxy's default "minimal" line is close to tcplog
        fmt = TCPLOG
    return TrafficLogger(proxy, fmt, Logger(targets, hostname=config.global_.node))


class ProcessLog:
    """The daemon's own messages."""

    def __init__(self, config: Config, quiet: bool) -> None:
        self.quiet = quiet
        self.logger = Logger(config.global_.logs, hostname=config.global_.node) if config.global_.logs else None
        self.pid = os.getpid()
        self._traffic: list[TrafficLogger] = []

    def emit(self, level: str, message: str, stderr: bool = True) -> None:
        if stderr and not self.quiet and level in _TAGS and level != "info":
            print(f"{_TAGS[level]}({self.pid}) : {message}", file=sys.stderr, flush=True)
        if self.logger is not None:
            self.logger.log(message, level=level, now=time.time())

    def track(self, traffic: TrafficLogger | None) -> TrafficLogger | None:
        """Remember a traffic logger so that close() releases its sockets too."""
        if traffic is not None:
            self._traffic.append(traffic)
        return traffic

    def close(self) -> None:
        for traffic in self._traffic:
            traffic.logger.close()
        if self.logger is not None:
            self.logger.close()
