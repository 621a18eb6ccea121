"""HAProxy 2.6's built-in Prometheus exporter ("promex"): the text served by
`http-request use-service prometheus-exporter`.

    text = render(runtime, now, info, "scope=server&no-maint")    # BadQuery on a bad query
    status, headers, body = PrometheusService().respond("/metrics?scope=backend", runtime, now, info)

Theory of operation
-------------------
promex (addons/promex/service-prometheus.c) does not count anything: it reads the fields that
`show info` and `show stat` print and renames them. This module does the same with trio-lb's
tables, so a number can never differ between `show stat`, the stats page and /metrics:

* `haproxy_process_*` read info.INFO_FIELDS (the `show info` getters), through `_PROCESS`,
  which maps a `show info` name to a metric name and type;
* `haproxy_frontend_*`, `_listener_*`, `_backend_*`, `_server_*` read the stat columns
  (columns.BY_NAME) of the rows rows.iter_rows() yields, through `_STAT`, which maps a column
  to a metric name, a type and the row kinds ("FLBS") it is exported for.

The output order is promex's: scope by scope (process, frontend, listener, backend, server,
stick tables), within a scope field by field in the source table's order (INFO_FIELDS /
COLUMNS positions, not `_PROCESS` / `_STAT` order), and for each field object by object in
configuration order. `# HELP` and `# TYPE` come right before a family's first sample, so a
family without samples is absent; the six `hrsp_*` fields form one family,
`http_responses_total`, with a `code` label.

Where promex does more than copy a field, `_HANDLERS[(kind, column)]` says what it does: the
status families become one sample per possible state (1 for the current one, `state` label),
times go from ms to seconds, HTTP-only fields skip TCP proxies, check fields skip servers
whose checks are off or paused, and the `agg_*` families count a backend's servers per state.
A handler returns the samples of one object (possibly none); the default one copies the column.
Values: an empty field (None) or a string prints `NaN`, an integer as is, a float with "%f".

The query string is parsed as promex_parse_uri() parses it: `scope=<name>` (repeatable, in
order; `scope=` empties the selection, `scope=*` selects everything; the first `scope` drops
the default "everything") and `no-maint` (skip servers in maintenance); anything promex
rejects raises BadQuery, which PrometheusService answers with HAProxy's 400.

Stick tables: trio-lb has none yet (`stick-table` is refused by the parser). The sticktable
scope reads `runtime.stick_tables` when the runtime has one (objects with `name`, `type`,
`size`, `used`), as promex reads its list of tables.

Pure: no clock, no socket; `now` is the caller's clock, `info` the I/O layer's ProcessInfo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trio_lb.http.errorpages import error_response
from trio_lb.state.health import STATUSES
from trio_lb.state.servers import DRAIN, MAINT
from trio_lb.stats.columns import BY_NAME, COLUMNS
from trio_lb.stats.info import VERSION, ProcessInfo, info_values
from trio_lb.stats.rows import Row, iter_rows

if TYPE_CHECKING:
    from trio_lb.state.proxies import Runtime
    from trio_lb.state.servers import ServerState

Number = int | float | str | None
Labels = tuple[tuple[str, str], ...]
Sample = tuple[Labels, Number]  # extra labels (after the object's own), value
Reply = tuple[int, list[tuple[bytes, bytes]], bytes]

CONTENT_TYPE = "text/plain; version=0.0.4"
SCOPES = ("global", "frontend", "listener", "backend", "server", "sticktable")

# --- the metric tables ---------------------------------------------------------------------------

# `show info` name -> (metric name after haproxy_process_, type); promex_global_metrics[]
_PROCESS: dict[str, tuple[str, str]] = {
    "Nbthread": ("nbthread", "gauge"),
    "Nbproc": ("nbproc", "gauge"),
    "Process_num": ("relative_process_id", "gauge"),
    "Uptime_sec": ("uptime_seconds", "gauge"),
    "Start_time_sec": ("start_time_seconds", "gauge"),
    "Memmax_bytes": ("max_memory_bytes", "gauge"),
    "PoolAlloc_bytes": ("pool_allocated_bytes", "gauge"),
    "PoolUsed_bytes": ("pool_used_bytes", "gauge"),
    "PoolFailed": ("pool_failures_total", "counter"),
    "Ulimit-n": ("max_fds", "gauge"),
    "Maxsock": ("max_sockets", "gauge"),
    "Maxconn": ("max_connections", "gauge"),
    "Hard_maxconn": ("hard_max_connections", "gauge"),
    "CurrConns": ("current_connections", "gauge"),
    "CumConns": ("connections_total", "counter"),
    "CumReq": ("requests_total", "counter"),
    "MaxSslConns": ("max_ssl_connections", "gauge"),
    "CurrSslConns": ("current_ssl_connections", "gauge"),
    "CumSslConns": ("ssl_connections_total", "counter"),
    "Maxpipes": ("max_pipes", "gauge"),
    "PipesUsed": ("pipes_used_total", "counter"),
    "PipesFree": ("pipes_free_total", "counter"),
    "ConnRate": ("current_connection_rate", "gauge"),
    "ConnRateLimit": ("limit_connection_rate", "gauge"),
    "MaxConnRate": ("max_connection_rate", "gauge"),
    "SessRate": ("current_session_rate", "gauge"),
    "SessRateLimit": ("limit_session_rate", "gauge"),
    "MaxSessRate": ("max_session_rate", "gauge"),
    "SslRate": ("current_ssl_rate", "gauge"),
    "SslRateLimit": ("limit_ssl_rate", "gauge"),
    "MaxSslRate": ("max_ssl_rate", "gauge"),
    "SslFrontendKeyRate": ("current_frontend_ssl_key_rate", "gauge"),
    "SslFrontendMaxKeyRate": ("max_frontend_ssl_key_rate", "gauge"),
    "SslFrontendSessionReuse_pct": ("frontend_ssl_reuse", "gauge"),
    "SslBackendKeyRate": ("current_backend_ssl_key_rate", "gauge"),
    "SslBackendMaxKeyRate": ("max_backend_ssl_key_rate", "gauge"),
    "SslCacheLookups": ("ssl_cache_lookups_total", "counter"),
    "SslCacheMisses": ("ssl_cache_misses_total", "counter"),
    "CompressBpsIn": ("http_comp_bytes_in_total", "counter"),
    "CompressBpsOut": ("http_comp_bytes_out_total", "counter"),
    "CompressBpsRateLim": ("limit_http_comp", "gauge"),
    "ZlibMemUsage": ("current_zlib_memory", "gauge"),
    "MaxZlibMemUsage": ("max_zlib_memory", "gauge"),
    "Tasks": ("current_tasks", "gauge"),
    "Run_queue": ("current_run_queue", "gauge"),
    "Idle_pct": ("idle_time_percent", "gauge"),
    "Stopping": ("stopping", "gauge"),
    "Jobs": ("jobs", "gauge"),
    "Unstoppable Jobs": ("unstoppable_jobs", "gauge"),
    "Listeners": ("listeners", "gauge"),
    "ActivePeers": ("active_peers", "gauge"),
    "ConnectedPeers": ("connected_peers", "gauge"),
    "DroppedLogs": ("dropped_logs_total", "counter"),
    "BusyPolling": ("busy_polling_enabled", "gauge"),
    "FailedResolutions": ("failed_resolutions", "counter"),
    "TotalBytesOut": ("bytes_out_total", "counter"),
    "TotalSplicdedBytesOut": ("spliced_bytes_out_total", "counter"),
    "BytesOutRate": ("bytes_out_rate", "gauge"),
    "CumRecvLogs": ("recv_logs_total", "counter"),
    "Build info": ("build_info", "gauge"),
}

# stat column -> (metric name after haproxy_<scope>_, type, row kinds); promex_st_metrics[]
_STAT: dict[str, tuple[str, str, str]] = {
    "qcur": ("current_queue", "gauge", "BS"),
    "qmax": ("max_queue", "gauge", "BS"),
    "scur": ("current_sessions", "gauge", "FLBS"),
    "smax": ("max_sessions", "gauge", "FLBS"),
    "slim": ("limit_sessions", "gauge", "FLBS"),
    "stot": ("sessions_total", "counter", "FLBS"),
    "bin": ("bytes_in_total", "counter", "FLBS"),
    "bout": ("bytes_out_total", "counter", "FLBS"),
    "dreq": ("requests_denied_total", "counter", "FLB"),
    "dresp": ("responses_denied_total", "counter", "FLBS"),
    "ereq": ("request_errors_total", "counter", "FL"),
    "econ": ("connection_errors_total", "counter", "BS"),
    "eresp": ("response_errors_total", "counter", "BS"),
    "wretr": ("retry_warnings_total", "counter", "BS"),
    "wredis": ("redispatch_warnings_total", "counter", "BS"),
    "status": ("status", "gauge", "FLBS"),
    "weight": ("weight", "gauge", "BS"),
    "act": ("active_servers", "gauge", "B"),
    "bck": ("backup_servers", "gauge", "B"),
    "chkfail": ("check_failures_total", "counter", "S"),
    "chkdown": ("check_up_down_total", "counter", "BS"),
    "lastchg": ("check_last_change_seconds", "gauge", "BS"),
    "downtime": ("downtime_seconds_total", "counter", "BS"),
    "qlimit": ("queue_limit", "gauge", "S"),
    "throttle": ("current_throttle", "gauge", "S"),
    "lbtot": ("loadbalanced_total", "counter", "BS"),
    "rate_lim": ("limit_session_rate", "gauge", "F"),
    "rate_max": ("max_session_rate", "gauge", "FBS"),
    "check_status": ("check_status", "gauge", "S"),
    "check_code": ("check_code", "gauge", "S"),
    "check_duration": ("check_duration_seconds", "gauge", "S"),
    "hrsp_1xx": ("http_responses_total", "counter", "FBS"),
    "hrsp_2xx": ("http_responses_total", "counter", "FBS"),
    "hrsp_3xx": ("http_responses_total", "counter", "FBS"),
    "hrsp_4xx": ("http_responses_total", "counter", "FBS"),
    "hrsp_5xx": ("http_responses_total", "counter", "FBS"),
    "hrsp_other": ("http_responses_total", "counter", "FBS"),
    "req_rate_max": ("http_requests_rate_max", "gauge", "F"),
    "req_tot": ("http_requests_total", "counter", "FB"),
    "cli_abrt": ("client_aborts_total", "counter", "BS"),
    "srv_abrt": ("server_aborts_total", "counter", "BS"),
    "comp_in": ("http_comp_bytes_in_total", "counter", "FB"),
    "comp_out": ("http_comp_bytes_out_total", "counter", "FB"),
    "comp_byp": ("http_comp_bytes_bypassed_total", "counter", "FB"),
    "comp_rsp": ("http_comp_responses_total", "counter", "FB"),
    "lastsess": ("last_session_seconds", "gauge", "BS"),
    "qtime": ("queue_time_average_seconds", "gauge", "BS"),
    "ctime": ("connect_time_average_seconds", "gauge", "BS"),
    "rtime": ("response_time_average_seconds", "gauge", "BS"),
    "ttime": ("total_time_average_seconds", "gauge", "BS"),
    "conn_rate_max": ("connections_rate_max", "gauge", "F"),
    "conn_tot": ("connections_total", "counter", "F"),
    "intercepted": ("intercepted_requests_total", "counter", "F"),
    "dcon": ("denied_connections_total", "counter", "FL"),
    "dses": ("denied_sessions_total", "counter", "FL"),
    "wrew": ("failed_header_rewriting_total", "counter", "FLBS"),
    "connect": ("connection_attempts_total", "counter", "BS"),
    "reuse": ("connection_reuses_total", "counter", "BS"),
    "cache_lookups": ("http_cache_lookups_total", "counter", "FB"),
    "cache_hits": ("http_cache_hits_total", "counter", "FB"),
    "srv_icur": ("idle_connections_current", "gauge", "S"),
    "src_ilim": ("idle_connections_limit", "gauge", "S"),
    "qtime_max": ("max_queue_time_seconds", "gauge", "BS"),
    "ctime_max": ("max_connect_time_seconds", "gauge", "BS"),
    "rtime_max": ("max_response_time_seconds", "gauge", "BS"),
    "ttime_max": ("max_total_time_seconds", "gauge", "BS"),
    "eint": ("internal_errors_total", "counter", "FLBS"),
    "idle_conn_cur": ("unsafe_idle_connections_current", "gauge", "S"),
    "safe_conn_cur": ("safe_idle_connections_current", "gauge", "S"),
    "used_conn_cur": ("used_connections_current", "gauge", "S"),
    "need_conn_est": ("need_connections_current", "gauge", "S"),
    "uweight": ("uweight", "gauge", "BS"),
    "agg_server_status": ("agg_server_status", "gauge", "B"),
    "agg_server_check_status": ("agg_server_check_status", "gauge", "B"),
    "agg_check_status": ("agg_check_status", "gauge", "B"),
}

# promex_st_metric_desc[]: HELP texts that replace the column's description
_HELP: dict[str, str] = {
    "status": "Current status of the service, per state label value.",
    "check_status": "Status of last health check, per state label value.",
    "check_code": "layer5-7 code, if available of the last health check.",
    "check_duration": "Total duration of the latest server health check, in seconds.",
    "qtime": "Avg. queue time for last 1024 successful connections.",
    "ctime": "Avg. connect time for last 1024 successful connections.",
    "rtime": "Avg. response time for last 1024 successful connections.",
    "ttime": "Avg. total time for last 1024 successful connections.",
    "qtime_max": "Maximum observed time spent in the queue",
    "ctime_max": "Maximum observed time spent waiting for a connection to complete",
    "rtime_max": "Maximum observed time spent waiting for a server response",
    "ttime_max": "Maximum observed total request+response time (request+queue+connect+response+processing)",
}

# stick tables: (field, metric name, HELP); promex_sticktable_metrics[] / _desc[]
_STICKTABLE = (
    ("size", "size", "Stick table size."),
    ("used", "used", "Number of entries used in this stick table."),
)

_PREFIX = {"F": "haproxy_frontend_", "L": "haproxy_listener_", "B": "haproxy_backend_",
           "S": "haproxy_server_"}
_KIND_SCOPE = {"F": "frontend", "L": "listener", "B": "backend", "S": "server"}

# the values of the `state` label, in promex's order
FRONT_STATES = ("DOWN", "UP")
LISTENER_STATES = ("WAITING", "OPEN", "FULL")
BACK_STATES = ("DOWN", "UP")
SERVER_STATES = ("DOWN", "UP", "MAINT", "DRAIN", "NOLB")
# check statuses whose result is at least "failed" (HCHK_STATUS_* order): HANA ... PROCOK
CHECK_STATES = tuple(name for name, st in sorted(STATUSES.items(), key=lambda kv: kv[1].number)
                     if st.result not in ("unknown", "neutral"))
_HRSP_CODES = {"hrsp_1xx": "1xx", "hrsp_2xx": "2xx", "hrsp_3xx": "3xx", "hrsp_4xx": "4xx",
               "hrsp_5xx": "5xx", "hrsp_other": "other"}
_MS_FIELDS = ("qtime", "ctime", "rtime", "ttime", "qtime_max", "ctime_max", "rtime_max", "ttime_max")
_HTTP_ONLY = {
    "F": ("req_rate_max", "req_tot", "intercepted", "cache_lookups", "cache_hits",
          "comp_in", "comp_out", "comp_byp", "comp_rsp"),
    "B": ("req_tot", "cache_lookups", "cache_hits", "comp_in", "comp_out", "comp_byp", "comp_rsp"),
}


# --- state mappings ------------------------------------------------------------------------------

def server_state(server: ServerState) -> str:
    """promex_srv_status(): MAINT wins; UP (DRAIN if drained) while running, NOLB while
    stopping, DOWN otherwise."""
    if server.admin == MAINT:
        return "MAINT"
    if not server.op_up:
        return "DOWN"
    if server.stopping:
        return "NOLB"
    return "DRAIN" if server.admin == DRAIN else "UP"


def check_state(server: ServerState) -> str:
    """sv->check.status: the last check's status, kept while checks are paused; INI before any."""
    health = server.health
    if health is None or health.last is None:
        return "INI"
    return health.last.status


def _one_hot(states: tuple[str, ...], current: str) -> list[Sample]:
    return [((("state", s),), int(s == current)) for s in states]


def _counts(states: tuple[str, ...], values: Iterable[str]) -> list[Sample]:
    seen = list(values)
    return [((("state", s),), seen.count(s)) for s in states]


# --- per-field handlers: one object's samples (none = the object is skipped) ----------------------

Handler = Callable[[Row, str], list[Sample]]


def _copy(row: Row, col: str) -> list[Sample]:
    return [((), BY_NAME[col].value(row))]


def _http_only(row: Row, col: str) -> list[Sample]:
    return _copy(row, col) if row.http else []


def _hrsp(row: Row, col: str) -> list[Sample]:
    if not row.http:
        return []
    return [((("code", _HRSP_CODES[col]),), BY_NAME[col].value(row))]


def _seconds(row: Row, col: str) -> list[Sample]:
    value = BY_NAME[col].value(row)
    return [((), value / 1000.0 if isinstance(value, int) else value)]


def _fe_status(row: Row, col: str) -> list[Sample]:
    """UP unless the proxy is stopped (a paused frontend is still UP)."""
    return _one_hot(FRONT_STATES, "DOWN" if BY_NAME["status"].value(row) == "STOP" else "UP")


def _li_status(row: Row, col: str) -> list[Sample]:
    return _one_hot(LISTENER_STATES, str(BY_NAME["status"].value(row)))


def _be_status(row: Row, col: str) -> list[Sample]:
    """UP when the backend has weight to balance on or no server at all (the CSV status)."""
    return _one_hot(BACK_STATES, str(BY_NAME["status"].value(row)).split(" ")[0])


def _srv_status(row: Row, col: str) -> list[Sample]:
    return _one_hot(SERVER_STATES, server_state(row.srv))


def _check_status(row: Row, col: str) -> list[Sample]:
    """Only for servers whose checks are enabled and not paused (the CSV shows the field)."""
    status = BY_NAME["check_status"].value(row)
    return [] if status is None else _one_hot(CHECK_STATES, str(status))


def _check_code(row: Row, col: str) -> list[Sample]:
    """Same servers as check_status; 0 for a status that carries no code."""
    if BY_NAME["check_status"].value(row) is None:
        return []
    return [((), BY_NAME["check_code"].value(row) or 0)]


def _check_duration(row: Row, col: str) -> list[Sample]:
    """Once a check completed, paused or not (promex tests only the status, unlike the CSV)."""
    server = row.srv
    if STATUSES.get(check_state(server), STATUSES["UNK"]).number < STATUSES["CHECKED"].number:
        return []
    assert server.health is not None and server.health.last is not None
    return [((), server.health.last.duration_ms / 1000.0)]


def _agg_server_status(row: Row, col: str) -> list[Sample]:
    servers = row.be.servers
    return _counts(SERVER_STATES, (server_state(s) for s in servers)) if servers else []


def _agg_check_status(row: Row, col: str) -> list[Sample]:
    servers = row.be.servers
    return _counts(CHECK_STATES, (check_state(s) for s in servers)) if servers else []


_HANDLERS: dict[tuple[str, str], Handler] = {
    ("F", "status"): _fe_status,
    ("L", "status"): _li_status,
    ("B", "status"): _be_status,
    ("S", "status"): _srv_status,
    ("S", "check_status"): _check_status,
    ("S", "check_code"): _check_code,
    ("S", "check_duration"): _check_duration,
    ("B", "agg_server_status"): _agg_server_status,
    ("B", "agg_server_check_status"): _agg_server_status,  # 2.6's deprecated alias
    ("B", "agg_check_status"): _agg_check_status,
    **{(kind, col): _http_only for kind, cols in _HTTP_ONLY.items() for col in cols},
    **{(kind, col): _hrsp for kind in "FBS" for col in _HRSP_CODES},
    **{(kind, col): _seconds for kind in "BS" for col in _MS_FIELDS},
}


# --- the exposition text -------------------------------------------------------------------------

def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format(value: Number) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:f}"
    return "NaN"  # an empty field, or a string (Prometheus only takes numbers)


def _line(name: str, labels: Labels, value: Number) -> str:
    if labels:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
        return f"{name}{{{inner}}} {_format(value)}\n"
    return f"{name} {_format(value)}\n"


class _Family:
    """One metric family being written: its header goes out with its first sample."""

    def __init__(self, out: list[str], name: str, help_text: str, mtype: str, header: bool = True) -> None:
        self.out, self.name = out, name
        self.header = f"# HELP {name} {help_text}\n# TYPE {name} {mtype}\n" if header else ""

    def add(self, labels: Labels, value: Number) -> None:
        if self.header:
            self.out.append(self.header)
            self.header = ""
        self.out.append(_line(self.name, labels, value))


def _process(out: list[str], runtime: Runtime, now: float, info: ProcessInfo) -> None:
    for field, value in info_values(runtime, now, info):
        if field.name not in _PROCESS:
            continue
        metric, mtype = _PROCESS[field.name]
        family = _Family(out, "haproxy_process_" + metric, field.desc, mtype)
        if field.name == "Build info":
            family.add((("version", VERSION),), 1)
        else:
            family.add((), value)


def _object_labels(row: Row) -> Labels:
    if row.kind == "S":
        return (("proxy", row.proxy.name), ("server", row.srv.name))
    if row.kind == "L":
        return (("proxy", row.proxy.name), ("listener", row.li.name))
    return (("proxy", row.proxy.name),)


def _stat_scope(out: list[str], kind: str, rows: list[Row]) -> None:
    prefix = _PREFIX[kind]
    labels = [_object_labels(row) for row in rows]
    for column in COLUMNS:
        spec = _STAT.get(column.name)
        if spec is None or kind not in spec[2]:
            continue
        metric, mtype, _ = spec
        first_of_family = column.name not in _HRSP_CODES or column.name == "hrsp_1xx"
        family = _Family(out, prefix + metric, _HELP.get(column.name, column.desc), mtype, first_of_family)
        handler = _HANDLERS.get((kind, column.name), _copy)
        for row, own in zip(rows, labels):
            for extra, value in handler(row, column.name):
                family.add(own + extra, value)


def _sticktables(out: list[str], runtime: Runtime) -> None:
    tables = [t for t in getattr(runtime, "stick_tables", None) or () if t.size]
    for field, metric, help_text in _STICKTABLE:
        family = _Family(out, "haproxy_sticktable_" + metric, help_text, "gauge")
        for t in tables:
            family.add((("name", t.name), ("type", t.type)), getattr(t, field))


# --- the query string ----------------------------------------------------------------------------

class BadQuery(ValueError):
    """promex refuses the query string (HAProxy answers 400)."""


@dataclass(frozen=True)
class Query:
    scopes: frozenset[str] = frozenset(SCOPES)
    no_maint: bool = False


def _url_decode(text: str) -> str:
    """url_decode(s, in_form=1): `+` is a space, `%XX` a byte; a bad escape is an error. A
    decoded NUL ends the C string."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "+":
            out.append(" ")
        elif c == "%":
            pair = text[i + 1:i + 3]
            if len(pair) != 2 or any(h not in "0123456789abcdefABCDEF" for h in pair):
                raise BadQuery(f"invalid escape in {text!r}")
            out.append(chr(int(pair, 16)))
            i += 2
        else:
            out.append(c)
        i += 1
    return "".join(out).split("\0", 1)[0]


def _scan(text: str, i: int) -> int:
    """Index of the next '=', '&' or '#' from i (len(text) if none)."""
    while i < len(text) and text[i] not in "=&#":
        i += 1
    return i


def _params(query: str) -> Iterator[tuple[str, str | None]]:
    """(key, value or None) pairs of the query string, up to a '#', as promex cuts them."""
    query = query.split("\0", 1)[0]
    n, i = len(query), 0
    while i < n and query[i] != "#":
        j = _scan(query, i)
        key, value = query[i:j], None
        if j < n and query[j] == "=":
            k = _scan(query, j + 1)
            if k < n and query[k] == "=":
                raise BadQuery("'=' in a value")
            value = query[j + 1:k]
            j = k
        i = j + 1 if j < n and query[j] == "&" else (n if j >= n or query[j] == "#" else j)
        yield _url_decode(key), None if value is None else _url_decode(value)


def parse_query(query: str) -> Query:
    """promex_parse_uri() on the text after '?'; raises BadQuery where promex answers 400."""
    scopes: set[str] = set()
    default = True
    no_maint = False
    for key, value in _params(query):
        if key == "scope":
            default = False
            if value is None:
                raise BadQuery("'scope' without a value")
            if value == "":
                scopes.clear()
            elif value.startswith("*"):
                scopes.update(SCOPES)
            elif value in SCOPES:
                scopes.add(value)
            else:
                raise BadQuery(f"unknown scope {value!r}")
        elif key == "no-maint":
            no_maint = True
    if default:
        scopes.update(SCOPES)
    return Query(frozenset(scopes), no_maint)


# --- entry points --------------------------------------------------------------------------------

def render(runtime: Runtime, now: float, info: ProcessInfo | None = None, query: str = "") -> str:
    """The exposition text for `query` (the URI's text after '?'); BadQuery if promex refuses it."""
    q = parse_query(query)
    info = info or ProcessInfo()
    out: list[str] = []
    if "global" in q.scopes:
        _process(out, runtime, now, info)
    rows: dict[str, list[Row]] = {"F": [], "L": [], "B": [], "S": []}
    if q.scopes & {"frontend", "listener", "backend", "server"}:
        for row in iter_rows(runtime, now):
            if row.kind == "S" and q.no_maint and row.srv.admin == MAINT:
                continue
            rows[row.kind].append(row)
    for kind in "FLBS":
        if _KIND_SCOPE[kind] in q.scopes:
            _stat_scope(out, kind, rows[kind])
    if "sticktable" in q.scopes:
        _sticktables(out, runtime)
    return "".join(out)


def _bad_request() -> Reply:
    raw = error_response(400, close=True)
    head, body = raw.split(b"\r\n\r\n", 1)
    headers = [tuple(line.split(b": ", 1)) for line in head.split(b"\r\n")[1:]]
    return 400, headers, body  # type: ignore[return-value]


class PrometheusService:
    """The `prometheus-exporter` service of `http-request use-service`.

    `respond()` returns HAProxy's status, headers (lower-case, in HAProxy's order) and the
    whole body. The 200 carries `transfer-encoding: chunked` as HAProxy's does: the body is
    unframed, h11 chunks it. A refused query gets HAProxy's 400 with `connection: close`.
    """

    name = "prometheus-exporter"

    def respond(self, target: str, runtime: Runtime, now: float, info: ProcessInfo | None = None,
                method: str = "GET") -> Reply:
        mark = target.find("?")
        query = target[mark + 1:] if mark >= 0 else ""
        try:
            body = render(runtime, now, info, query)
        except BadQuery:
            return _bad_request()
        headers = [(b"cache-control", b"no-cache"), (b"content-type", CONTENT_TYPE.encode()),
                   (b"transfer-encoding", b"chunked")]
        return 200, headers, b"" if method == "HEAD" else body.encode("utf-8", "replace")


SERVICES: dict[str, Callable[[], Any]] = {PrometheusService.name: PrometheusService}
