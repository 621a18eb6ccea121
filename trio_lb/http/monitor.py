"""`monitor-uri`: the load balancer answers its own health check (HAProxy 2.6 http_ana.c).

A request whose URI equals the frontend's `monitor-uri` (its path, query included, when the
monitor URI starts with '/', so an absolute-form request matches too; otherwise the whole URI)
is intercepted before any routing. The `monitor fail` conditions are tried in order; the first
that holds makes the answer HAProxy's 503 page, otherwise it is HAProxy's 200 page. Both are
byte-identical to 2.6.12's (checked with socat): the usual `content-length`, `cache-control:
no-cache`, `content-type: text/html` headers and the "<html><body><h1>..." body. The caller
counts the request as intercepted, logs it with termination state `LR`, and adds
`connection: close` itself when the client connection closes.
"""

from __future__ import annotations

from typing import Any

from trio_lb.config.model import Proxy
from trio_lb.http.errorpages import error_response
from trio_lb.rules.cond import eval_condition
from trio_lb.rules.sample import RequestView

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]


def is_monitor_request(monitor_uri: str, target: str) -> bool:
    """Whether <target> is the monitor URI (exact match, no prefix)."""
    if target == monitor_uri:
        return True
    if monitor_uri.startswith("/") and not target.startswith("/"):
        return _path_of(target) == monitor_uri
    return False


def _path_of(target: str) -> str:
    """http_parse_path(): from the first '/' after the authority of an absolute URI to the end."""
    scheme = target.find("://")
    if scheme <= 0:
        return target
    slash = target.find("/", scheme + 3)
    return target[slash:] if slash >= 0 else ""


def monitor_reply(proxy: Proxy, view: RequestView) -> Reply | None:
    """HAProxy's answer to a monitor request (200, or 503 when a `monitor fail` holds), or None
    when the request is not for the frontend's monitor URI."""
    uri = proxy.monitor_uri
    if not uri or view.target is None or not is_monitor_request(uri, view.target):
        return None
    failed = any(eval_condition(cond, view) for cond in proxy.monitor_fail)
    return _reply(503 if failed else 200)


def _reply(code: int) -> Reply:
    raw = error_response(code)
    head, _, body = raw.partition(b"\r\n\r\n")
    headers: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b": ")
        headers.append((name, value))
    return code, headers, body


def monitor_bytes(reply: Any) -> bytes:
    """The reply as HAProxy writes it on an HTTP/1.1 keep-alive connection (for tests and tools)."""
    code, headers, body = reply
    reason = {200: b"OK", 503: b"Service Unavailable"}[code]
    lines = [b"HTTP/1.1 %d %s" % (code, reason)] + [n + b": " + v for n, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
