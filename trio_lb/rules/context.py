"""Per-stream state the rules read and write, and the HTTP message they act on.

A `RuleContext` lives for one stream (one HTTP transaction, or one TCP session): the stick
counters it tracks (sc0..sc2, HAProxy's stkctr), its variables (`set-var`, `var()`), its captures,
and the proxies it crossed. The data plane creates it and hangs it on the RequestView
(`view.ctx`), so that fetches (`sc_http_req_rate(0)`, `var(txn.x)`) and actions share it.

An `HttpMessage` is the head being processed: the request for http-request rules (method,
target, version, headers), the response for http-response / http-after-response rules (status,
reason, headers). Actions mutate it in place; the data plane sends what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_TRACKED = 3  # sc0, sc1, sc2 (HAProxy's MAX_SESS_STKCTR default)


@dataclass
class HttpMessage:
    headers: list[tuple[bytes, bytes]]  # (lower-case name, value), wire order, as h11 gives them
    method: str | None = None  # requests
    target: str | None = None  # requests
    version: str = "1.1"
    status: int | None = None  # responses
    reason: str = ""  # responses
    is_response: bool = False


@dataclass
class RuleContext:
    tables: dict[str, Any] = field(default_factory=dict)  # name -> StickTable (runtime's registry)
    tracked: list[Any] = field(default_factory=lambda: [None] * MAX_TRACKED)  # (table, entry) or None
    vars: dict[str, Any] = field(default_factory=dict)  # "txn.x" / "sess.x" / "req.x" / "res.x" -> value
    captures: list[str | None] = field(default_factory=list)  # `capture request header` slots
    frontend: Any = None  # the frontend's Proxy spec
    backend: Any = None  # the backend's Proxy spec, once routed
    response: HttpMessage | None = None  # set while http-response rules run (res.* fetches)
    now: float = 0.0  # the stream's monotonic clock when rules run (stick table rates)
    wall: float = 0.0  # the same moment as UNIX time (the date() fetch)
    session_tracked: list[Any] = field(default_factory=lambda: [None] * MAX_TRACKED)  # tcp-request connection's
