"""HTTP forwarding policy on h11 header lists: hop-by-hop stripping, X-Forwarded-For, keep-alive.

Header lists are h11's `(lower-case name, value)` byte pairs. HAProxy 2.x also emits lower-case
names on HTTP/1 (its HTX representation), so forwarding h11's names unchanged matches it.
Everything that depends only on the configuration is computed once, in `HttpPolicy`.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from trio_lb.config.model import Proxy

Headers = list[tuple[bytes, bytes]]

# RFC 9110 7.6.1 connection-specific fields; transfer-encoding and content-length stay, since h11
# on the other side re-frames the body from them.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"})


class HttpPolicy:
    """The per-frontend/backend HTTP decisions, compiled at start-up."""

    __slots__ = ("close_client", "close_server", "xff_name", "xff_except", "xff_if_none")

    def __init__(self, frontend: Proxy, backend: Proxy | None = None) -> None:
        modes = {frontend.http_conn_mode, backend.http_conn_mode if backend else "keep-alive"}
        self.close_client = "close" in modes
        self.close_server = self.close_client or "server-close" in modes
        ff = frontend.forwardfor or (backend.forwardfor if backend else None)
        self.xff_name = ff.header.lower().encode() if ff else None
        self.xff_except = ipaddress.ip_network(ff.except_net, strict=False) if ff and ff.except_net else None
        self.xff_if_none = bool(ff and ff.if_none)

    def request_headers(self, headers: Iterable[tuple[bytes, bytes]], src: str, upgrade: bool) -> Headers:
        """Headers to send to the server for one request."""
        out = _strip(headers, upgrade)
        name = self.xff_name
        if name is not None and self._wants_xff(src, out):
            out.append((name, src.encode()))
        if upgrade:
            out.append((b"connection", b"upgrade"))
        elif self.close_server:
            out.append((b"connection", b"close"))
        return out

    def response_headers(self, headers: Iterable[tuple[bytes, bytes]], upgrade: bool) -> Headers:
        out = _strip(headers, upgrade)
        if upgrade:
            out.append((b"connection", b"upgrade"))
        elif self.close_client:
            out.append((b"connection", b"close"))
        return out

    def _wants_xff(self, src: str, headers: Headers) -> bool:
        if self.xff_except is not None:
            try:
                if ipaddress.ip_address(src) in self.xff_except:
                    return False
            except ValueError:
                pass
        if self.xff_if_none:
            return not any(n == self.xff_name for n, _ in headers)
        return True


def _strip(headers: Iterable[tuple[bytes, bytes]], upgrade: bool) -> Headers:
    """Drop hop-by-hop headers and those the Connection header names (keep Upgrade on upgrades)."""
    out: Headers = []
    listed = None
    for name, value in headers:
        if name in HOP_BY_HOP:
            if name == b"connection":
                listed = value if listed is None else listed + b"," + value
            elif upgrade and name == b"upgrade":
                out.append((name, value))
            continue
        out.append((name, value))
    if listed is not None:
        extra = {v.strip().lower() for v in listed.split(b",")} - _KEEP_TOKENS
        if extra:
            out = [(n, v) for n, v in out if n not in extra]
    return out


_KEEP_TOKENS = frozenset({b"close", b"keep-alive", b"upgrade", b""})


def is_upgrade(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """A request asking to switch protocols (WebSocket): `Connection: upgrade` + `Upgrade`."""
    conn = up = False
    for name, value in headers:
        if name == b"connection" and b"upgrade" in value.lower():
            conn = True
        elif name == b"upgrade":
            up = True
    return conn and up


def smuggling_risk(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Content-Length together with Transfer-Encoding: refused outright (RFC 9112 6.1)."""
    cl = te = False
    for name, _ in headers:
        if name == b"content-length":
            cl = True
        elif name == b"transfer-encoding":
            te = True
    return cl and te
