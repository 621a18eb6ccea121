"""The parsed configuration: plain dataclasses and nothing else (HAProxy's `-t.h` files).

The parser (config/sections.py and config/keywords/) builds these while it reads the file; once
`config.parse()` returns, everything here is treated as read-only. The runtime (state/) copies
what it mutates (weights, admin states, maxconn) into its own objects, so a reload can compare an
old Config with a new one.

Times are seconds as floats (None = unset / infinite); sizes are bytes.
A `listen` section is one Proxy with both capabilities, as in HAProxy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["tcp", "http"]
HttpConnMode = Literal["keep-alive", "server-close", "close"]


@dataclass
class Timeouts:
    connect: float | None = None
    client: float | None = None
    server: float | None = None
    queue: float | None = None  # falls back to connect
    http_request: float | None = None  # falls back to client
    http_keep_alive: float | None = None  # falls back to http_request, then client
    check: float | None = None
    tunnel: float | None = None
    client_fin: float | None = None
    server_fin: float | None = None
    tarpit: float | None = None


@dataclass
class LogTarget:
    """One `log` line: where and how syslog lines go."""

    kind: Literal["stdout", "stderr", "unix", "udp"]
    address: str | tuple[str, int]  # path for unix, (host, port) for udp, "" for std streams
    format: str = "rfc3164"  # rfc3164 | rfc5424 | raw | short | iso | timed | priority | local
    facility: str = "local0"
    level: str = "debug"  # max level sent
    min_level: str = "emerg"
    length: int = 1024


@dataclass
class Bind:
    """One listening address of a `bind` line (a line with a port range gives several)."""

    host: str  # "" or "0.0.0.0" = all IPv4, "::" = all IPv6, or a unix path when family == "unix"
    port: int
    family: Literal["ipv4", "ipv6", "unix"] = "ipv4"
    name: str | None = None
    maxconn: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # ssl, crt, alpn, v4v6, ... (later issues)
    file: str = ""
    line: int = 0


@dataclass
class ServerSpec:
    name: str
    host: str
    port: int | None  # None: the client's destination port
    id: int = 0  # assigned by the parser as HAProxy does (position, 1-based) unless `id`
    weight: int = 1
    maxconn: int = 0
    maxqueue: int = 0
    minconn: int = 0
    backup: bool = False
    disabled: bool = False
    check: bool = False
    check_port: int | None = None  # `port`
    check_addr: str | None = None  # `addr`
    inter: float = 2.0
    fastinter: float | None = None  # defaults to inter
    downinter: float | None = None  # defaults to inter
    rise: int = 2
    fall: int = 3
    slowstart: float = 0.0
    cookie: str | None = None
    send_proxy: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # ssl, verify, sni, ... (later issues)
    file: str = ""
    line: int = 0


@dataclass
class BalanceSpec:
    algo: str = "roundrobin"  # roundrobin static-rr leastconn first source uri url_param hdr random
    hash_type: Literal["map-based", "consistent"] = "map-based"
    hash_function: str = "sdbm"
    hash_avalanche: bool = False
    param: str | None = None  # url_param name, hdr() name
    uri_whole: bool = False
    uri_len: int = 0
    uri_depth: int = 0
    uri_path_only: bool = False
    use_domain_only: bool = False
    random_draws: int = 2


@dataclass
class HttpExpect:
    """`http-check expect [!] <match> <pattern>` (and the implicit one of option httpchk)."""

    match: Literal["status", "rstatus", "string", "rstring"]
    pattern: str
    negate: bool = False


@dataclass
class TcpCheckRule:
    """One `tcp-check` step. `data` is bytes for send/send-binary/expect binary."""

    action: Literal["connect", "send", "send-binary", "expect"]
    data: bytes = b""
    match: str | None = None  # for expect: string | rstring | binary | rbinary
    negate: bool = False
    port: int | None = None  # for connect
    addr: str | None = None  # for connect
    comment: str | None = None


@dataclass
class CheckSpec:
    """How a backend checks its servers. kind "tcp" is a plain connect; "ssl-hello" is
    `option ssl-hello-chk` (an SSLv3 ClientHello, any TLS record back is success)."""

    kind: Literal["tcp", "http", "tcp-check", "ssl-hello"] = "tcp"
    method: str = "OPTIONS"
    uri: str = "/"
    version: str = "HTTP/1.0"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    expects: list[HttpExpect] = field(default_factory=list)  # empty: 2xx/3xx is success
    tcp_rules: list[TcpCheckRule] = field(default_factory=list)


@dataclass
class Condition:
    """`if|unless <cond>`: an OR of AND-terms; each term is (negated, acl).

    `acl` is a trio_lb.rules.acl.Acl (compiled at parse time); named ACLs are resolved by the
    parser so the runtime never looks names up.
    """

    terms: list[list[tuple[bool, Any]]]
    unless: bool = False
    text: str = ""


@dataclass
class UseBackend:
    backend: str
    cond: Condition | None
    file: str = ""
    line: int = 0
    fmt: Any = None  # a name with `%[...]`: the compiled rules.expr.Fmt, rendered per request


@dataclass
class ForwardFor:
    header: str = "X-Forwarded-For"
    except_net: str | None = None  # "127.0.0.0/8"
    if_none: bool = False


@dataclass
class Proxy:
    """A frontend, a backend, or a listen section (both); also the `defaults` sections."""

    name: str
    kind: Literal["frontend", "backend", "listen", "defaults"]
    id: int = 0  # HAProxy assigns ids in declaration order among proxies, from 1 (stats iid)
    mode: Mode = "tcp"
    file: str = ""
    line: int = 0
    disabled: bool = False
    # frontend side
    binds: list[Bind] = field(default_factory=list)
    maxconn: int = 0
    default_backend: str | None = None
    use_backends: list[UseBackend] = field(default_factory=list)
    acls: dict[str, list[Any]] = field(default_factory=dict)  # name -> [rules.acl.Acl, ...]
    # backend side
    servers: list[ServerSpec] = field(default_factory=list)
    balance: BalanceSpec = field(default_factory=BalanceSpec)
    check: CheckSpec = field(default_factory=CheckSpec)
    retries: int = 3
    redispatch: bool = False
    allbackups: bool = False
    fullconn: int = 0
    # both
    timeouts: Timeouts = field(default_factory=Timeouts)
    http_conn_mode: HttpConnMode = "keep-alive"
    forwardfor: ForwardFor | None = None
    logs: list[LogTarget] = field(default_factory=list)
    log_format: str | None = None  # set by option httplog / tcplog / log-format
    dontlognull: bool = False
    options: set[str] = field(default_factory=set)  # every other `option x` seen (lower-case)
    stats: dict[str, Any] = field(default_factory=dict)  # stats enable/uri/... (issue 5)
    http_services: list[UseService] = field(default_factory=list)  # http-request use-service
    monitor_uri: str | None = None  # `monitor-uri`
    monitor_fail: list[Any] = field(default_factory=list)  # `monitor fail if|unless <cond>`
    # rules (issue 6): lists of trio_lb.rules.actions.Rule, in configuration order
    http_request_rules: list[Any] = field(default_factory=list)
    http_response_rules: list[Any] = field(default_factory=list)
    http_after_response_rules: list[Any] = field(default_factory=list)
    tcp_request_connection_rules: list[Any] = field(default_factory=list)
    tcp_request_content_rules: list[Any] = field(default_factory=list)
    redirects: list[Any] = field(default_factory=list)  # the `redirect` keyword's rules
    errorfiles: dict[int, bytes] = field(default_factory=dict)  # status -> the raw HTTP response
    captures: list[Any] = field(default_factory=list)  # `capture request|response header`
    # persistence and stick tables (issue 6)
    stick_table: Any = None  # the proxy's `stick-table` (a spec the runtime builds a table from)
    stick_rules: list[Any] = field(default_factory=list)  # `stick on|match|store-request|store-response`
    cookie: Any = None  # the `cookie` persistence spec
    persist_rules: list[Any] = field(default_factory=list)  # `force-persist` / `ignore-persist`

    @property
    def has_frontend(self) -> bool:
        return self.kind in ("frontend", "listen")

    @property
    def has_backend(self) -> bool:
        return self.kind in ("backend", "listen")


@dataclass
class UseService:
    """`http-request use-service <name> [if|unless <cond>]`."""

    name: str  # e.g. "prometheus-exporter"
    cond: Any | None = None  # a compiled rules.cond condition; None: always
    file: str = ""
    line: int = 0


@dataclass
class StatsSocket:
    kind: Literal["unix", "ipv4", "ipv6"]
    address: str | tuple[str, int]
    mode: int | None = None
    level: Literal["user", "operator", "admin"] = "operator"
    expose_fd: bool = False
    file: str = ""
    line: int = 0


@dataclass
class Global:
    daemon: bool = False
    maxconn: int = 0  # 0: computed from the fd limit at start
    nbthread: int = 1
    pidfile: str | None = None
    node: str | None = None
    description: str | None = None
    logs: list[LogTarget] = field(default_factory=list)
    stats_sockets: list[StatsSocket] = field(default_factory=list)
    stats_timeout: float = 10.0
    stats_maxconn: int = 10
    hard_stop_after: float | None = None
    tune_bufsize: int = 16384
    tune_maxhdr: int = 101
    env: dict[str, str] = field(default_factory=dict)  # setenv/presetenv results
    settings: dict[str, Any] = field(default_factory=dict)  # accepted-and-kept others


@dataclass
class Config:
    global_: Global = field(default_factory=Global)
    proxies: list[Proxy] = field(default_factory=list)  # frontends, backends, listens in order
    warnings: list[str] = field(default_factory=list)  # already formatted "parsing [f:l] : ..."
    files: list[str] = field(default_factory=list)
    patterns: Any = None  # the map and ACL files read (trio_lb.rules.maps registry), shared at run time

    @property
    def frontends(self) -> list[Proxy]:
        return [p for p in self.proxies if p.has_frontend]

    @property
    def backends(self) -> list[Proxy]:
        return [p for p in self.proxies if p.has_backend]

    def backend(self, name: str) -> Proxy | None:
        for p in self.proxies:
            if p.has_backend and p.name == name:
                return p
        return None
