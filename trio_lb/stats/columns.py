"""The `show stat` columns of HAProxy 2.6.12, as one table: name, description, tags, getters.

Theory of operation
-------------------
`COLUMNS` lists the 103 static fields in HAProxy's order (their index is the CSV position and
the `typed` field number), then `MODULE_COLUMNS` the 24 fields of the stats modules that a
2.6.12 build with OpenSSL and the H1/H2 muxes appends after the `-` delimiter. Each Column
carries, as data:

* `name` and `desc`: the header name and the text `show stat desc` / the JSON schema print
  (2.6.12's wording, including its typos: `src_ilim`, "bytes sendusing");
* `tags` / `type`: the typed-output tags (origin, nature, scope letters, see ORIGINS/NATURES/
  SCOPES) and value type, with per-row-kind overrides where HAProxy differs (act/bck/rate);
* `get`: one getter per row kind the field applies to ("F" frontend, "L" listener, "B"
  backend, "S" server). `rows` (the keys) is the applicability: a kind without a getter is
  always empty. A getter takes a rows.Row and returns an int, a str, or None for a field
  HAProxy leaves empty on that line (e.g. `check_status` of an unchecked server); "" is a
  present but empty string (`last_chk` of a passed check), which typed/json print.

The renderers (CSV here in csv.py; typed, JSON, the HTML page and Prometheus later) only walk
this table; none of them knows what a column means. Counters that trio-lb does not keep yet
(compression, cache, failed rewrites, internal errors, max times...) are read with a zero
default: nothing of that kind has happened in this process, which is what HAProxy prints too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Union

from trio_lb.state.health import STATUSES, carries_code, describe
from trio_lb.state.servers import MAINT, ServerState
from trio_lb.stats.rows import TYPE_CODES, Row, server_status, server_weight

Value = Union[int, str, None]
Getter = Callable[[Row], Value]

ROW_KINDS = "LFBS"

# typed tag letters -> the words of `show stat json` (stats.c field_origin/nature/scope names)
ORIGINS = {"M": "Metric", "S": "Status", "K": "Key", "C": "Config", "P": "Product"}
NATURES = {"G": "Gauge", "L": "Limit", "m": "Min", "M": "Max", "R": "Rate", "C": "Counter",
           "D": "Duration", "A": "Age", "T": "Time", "N": "Name", "O": "Output", "a": "Avg"}
SCOPES = {"P": "Process", "S": "Service", "s": "System", "C": "Cluster"}


@dataclass(frozen=True)
class Column:
    pos: int
    name: str
    desc: str
    tags: str  # 3 letters: origin, nature, scope, e.g. "MCP"
    type: str  # s32 s64 u32 u64 flt str
    get: Mapping[str, Getter]  # row kind -> getter
    kind_tags: Mapping[str, str] = field(default_factory=dict)  # row kind -> "TAG:type" override

    @property
    def rows(self) -> str:
        """The row kinds this field may be filled on, in "LFBS" order."""
        return "".join(k for k in ROW_KINDS if k in self.get)

    def tags_for(self, kind: str) -> tuple[str, str]:
        """(tags, type) of this field on a row of `kind`."""
        override = self.kind_tags.get(kind)
        if override:
            tags, typ = override.split(":")
            return tags, typ
        return self.tags, self.type

    def value(self, row: Row) -> Value:
        getter = self.get.get(row.kind)
        return getter(row) if getter is not None else None


# --- small getter builders ----------------------------------------------------------------------

def _count(name: str) -> Getter:
    """A counter of the row's own Counters (0 while trio-lb does not count that event)."""
    return lambda r: int(getattr(r.counters, name, 0))


def _http(getter: Getter) -> Getter:
    """Filled in HTTP mode only (hrsp_*, req_tot of B/S, cache, intercepted)."""
    return lambda r: getter(r) if r.http else None


def _const(value: Value) -> Getter:
    return lambda r: value


def _servers_sum(name: str) -> Getter:
    """A backend counter HAProxy bumps together with the chosen server's (lbtot, connect)."""
    return lambda r: sum(int(getattr(s.counters, name, 0)) for s in r.be.servers)


def _age(now: float, then: float) -> int:
    """Whole seconds between two instants, as HAProxy subtracts tv_sec values."""
    return max(0, int(now) - int(then))


def _avg(name: str) -> Getter:
    """A time average (ms) rounded as swrate_avg() rounds."""
    return lambda r: int(getattr(r.counters, name, 0) + 0.5)


# --- frontend / listener ------------------------------------------------------------------------

def _fe_status(r: Row) -> str:
    """OPEN, PAUSED after `disable frontend` [2.6.x], STOP once stopped (soft-stop)."""
    if r.runtime.stopping or r.fe.stopped:
        return "STOP"
    return "OPEN" if r.fe.enabled else "PAUSED"


def _li_status(r: Row) -> str:
    """FULL at the bind's maxconn; WAITING while the frontend or the process is at its limit."""
    li, fe, rt = r.li, r.fe, r.runtime
    if li.bind.maxconn and li.cur_sess >= li.bind.maxconn:
        return "FULL"
    if fe.cur_sess >= fe.maxconn or rt.actconn >= rt.maxconn:
        return "WAITING"
    return "OPEN"


def _li_addr(r: Row) -> Value:
    if not r.legends:
        return None
    bind = r.li.bind
    if bind.family == "unix":
        return "unix"
    if bind.family == "ipv6":
        return f"[{bind.host or '::'}]:{bind.port}"
    return f"{bind.host or '0.0.0.0'}:{bind.port}"


# --- backend ----------------------------------------------------------------------------------

def _be_status(r: Row) -> str:
    """UP when the backend has weight to balance on or has no server at all, else DOWN.

    With `up` / `no-maint` HAProxy appends "(servers not stopped/all servers)".
    """
    servers = r.be.servers
    text = "UP" if r.weights.weight > 0 or not servers else "DOWN"
    if r.counted_status:
        up = sum(1 for s in servers if s.op_up and s.admin != MAINT)
        text += f" ({up}/{len(servers)})"
    return text


def _be_downtime(r: Row) -> Value:
    be = r.be
    if not be.servers:
        return None
    extra = r.now - be.down_since if be.down_since is not None else 0.0
    return int(be.downtime + extra)


def _be_cookie(r: Row) -> Value:
    """The backend's `cookie <name>`; trio-lb's config model has no cookie setting yet."""
    cookie = getattr(r.proxy, "cookie", None)
    if not r.legends or not cookie:
        return None
    return getattr(cookie, "name", cookie)


def _be_algo(r: Row) -> Value:
    return r.be.balancer.algo_name if r.legends else None


def _be_lastsess(r: Row) -> int:
    last = r.counters.last_sess
    return -1 if last < 0 else _age(r.now, last)


# --- server -------------------------------------------------------------------------------------

def _check_enabled(s: ServerState) -> bool:
    """CHK_ST_ENABLED: the server has a check the operator did not turn off (MAINT pauses it)."""
    return s.health is not None and not s.checks_off


def _check_running(s: ServerState) -> bool:
    """ENABLED and not PAUSED: the check_* fields are shown."""
    return s.health is not None and s.checks_enabled and s.admin != MAINT


def _if_check_enabled(getter: Callable[[ServerState, Row], Value]) -> Getter:
    return lambda r: getter(r.srv, r) if _check_enabled(r.srv) else None


def _if_check_running(getter: Callable[[ServerState, Row], Value]) -> Getter:
    return lambda r: getter(r.srv, r) if _check_running(r.srv) else None


def _check_status(s: ServerState) -> str:
    """The last check's status; INI until a first check completed."""
    last = s.health.last
    return last.status if last is not None else "INI"


def _check_code(s: ServerState, r: Row) -> Value:
    status = _check_status(s)
    if not carries_code(status):
        return None
    return s.health.last.code or 0


def _check_duration(s: ServerState, r: Row) -> Value:
    status = _check_status(s)
    if STATUSES[status].number < STATUSES["CHECKED"].number:
        return None
    return s.health.last.duration_ms


def _last_chk(s: ServerState, r: Row) -> str:
    last = s.health.last
    return last.info if last is not None else ""


def _throttle(r: Row) -> Value:
    """Slowstart ramp in percent while the server warms up (HAProxy's STARTING state).

    As server_recalc_eweight() + server_throttle_rate(): whole seconds since the server came
    up, the slowstart rounded up to seconds, weights in 1/16 steps, the percentage rounded up.
    """
    s = r.srv
    if not s.usable or r.now >= s.slowstart_until or s.spec.slowstart <= 0:
        return None
    if not s.uweight:
        return 100
    period = math.ceil(s.spec.slowstart)
    elapsed = max(0, int(r.now) - int(s.slowstart_until - s.spec.slowstart))
    steps = (16 * elapsed + period) // period
    return min(100, (100 * steps + 15) // 16)


def _tracked(r: Row) -> Value:
    track = r.srv.spec.options.get("track")
    if not track:
        return None
    return track if "/" in track else f"{r.proxy.name}/{track}"


def _srv_lastsess(r: Row) -> int:
    last = r.srv.counters.last_sess
    return -1 if last < 0 else _age(r.now, last)


def _srv_addr(r: Row) -> Value:
    if not r.legends:
        return None
    s = r.srv
    host, port = s.host, s.port or 0
    if host.startswith(("/", "unix@", "abns@")):
        return "unix"
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _srv_cookie(r: Row) -> Value:
    return r.srv.spec.cookie if r.legends and r.srv.spec.cookie else None


def _hanafail(r: Row) -> Value:
    """Only for servers with `observe layer4|layer7`."""
    if r.srv.spec.options.get("observe", "none") == "none":
        return None
    return int(getattr(r.counters, "hanafail", 0))


def _idle_limit(r: Row) -> Value:
    """`pool-max-conn`; -1 (the default) means unlimited and shows empty."""
    value = r.srv.spec.options.get("pool-max-conn")
    if value is None or int(value) < 0:
        return None
    return int(value)


def _idle(reused: bool) -> Getter:
    """Idle connections: "safe" ones already served a reused request, the others are not."""
    return lambda r: sum(1 for c in r.srv.idle if bool(getattr(c, "reused", False)) == reused)


def _need_conn_est(r: Row) -> int:
    """HAProxy estimates this from recent peaks; trio-lb reports the connections it holds."""
    s = r.srv
    return s.cur_sess + len(s.idle)


# --- module columns (after `-`): ssl, h2, h1 ------------------------------------------------------
# trio-lb terminates neither TLS nor HTTP/2, so those counters are truly zero; the H1 ones map to
# trio-lb's own counters (client side on FRONTEND lines, server side on BACKEND lines, zero in TCP
# mode where no H1 connection exists).

def _h1(front: Getter, back: Getter) -> dict[str, Getter]:
    return {"F": lambda r: front(r) if r.http else 0, "B": lambda r: back(r) if r.http else 0}


def _be_server_conns(r: Row) -> int:
    return sum(s.cur_sess + len(s.idle) for s in r.be.servers)


_ZERO = _const(0)

# --- the table ----------------------------------------------------------------------------------

_Spec = tuple[str, str, Mapping[str, Getter], str]


def _expand(getters: Mapping[str, Getter]) -> dict[str, Getter]:
    """{"FBS": g} -> {"F": g, "B": g, "S": g}."""
    return {kind: g for kinds, g in getters.items() for kind in kinds}


def _table(specs: list[_Spec], start: int = 0,
           overrides: Mapping[str, Mapping[str, str]] | None = None) -> tuple[Column, ...]:
    cols = []
    for i, (name, tagtype, getters, desc) in enumerate(specs):
        tags, typ = tagtype.split(":")
        cols.append(Column(start + i, name, desc, tags, typ, _expand(getters), (overrides or {}).get(name, {})))
    return tuple(cols)


_SINCE = "since the worker process started"
_HRSP = "Total number of HTTP responses with status {} returned by this object " + _SINCE
_LEGENDS = "shown only if show-legends is set, or at levels oper/admin for the CLI"

_STATIC: list[_Spec] = [
    ("pxname", "KNS:str", {"LFBS": lambda r: r.proxy.name}, "Proxy name"),
    ("svname", "KNS:str", {"F": _const("FRONTEND"), "B": _const("BACKEND"),
                           "S": lambda r: r.srv.name, "L": lambda r: r.li.name},
     "Server name"),
    ("qcur", "MGP:u32", {"B": lambda r: len(r.be.queue), "S": lambda r: len(r.srv.queue)},
     "Number of current queued connections"),
    ("qmax", "MMP:u32", {"BS": _count("qmax")},
     "Highest value of queued connections encountered since process started"),
    ("scur", "MGP:u32", {"F": lambda r: r.fe.cur_sess, "L": lambda r: r.li.cur_sess,
                         "B": lambda r: r.be.cur_sess, "S": lambda r: r.srv.cur_sess},
     "Number of current sessions on the frontend, backend or server"),
    ("smax", "MMP:u32", {"LFBS": _count("smax")},
     "Highest value of current sessions encountered since process started"),
    ("slim", "CLP:u32", {"F": lambda r: r.fe.maxconn, "L": lambda r: r.li.bind.maxconn,
                         "B": lambda r: r.slim, "S": lambda r: r.srv.maxconn or None},
     "Frontend/listener/server's maxconn, backend's fullconn"),
    ("stot", "MCP:u64", {"FBS": _count("stot"), "L": _count("conn_tot")},
     "Total number of sessions since process started"),
    ("bin", "MCP:u64", {"LFBS": _count("bin")}, "Total number of request bytes since process started"),
    ("bout", "MCP:u64", {"LFBS": _count("bout")}, "Total number of response bytes since process started"),
    ("dreq", "MCP:u64", {"LFB": _count("dreq")}, "Total number of denied requests since process started"),
    ("dresp", "MCP:u64", {"LFBS": _count("dresp")}, "Total number of denied responses since process started"),
    ("ereq", "MCP:u64", {"LF": _count("ereq")}, "Total number of invalid requests since process started"),
    ("econ", "MCP:u64", {"BS": _count("econ")},
     "Total number of failed connections to server " + _SINCE),
    ("eresp", "MCP:u64", {"BS": _count("eresp")}, "Total number of invalid responses " + _SINCE),
    ("wretr", "MCP:u64", {"BS": _count("wretr")}, "Total number of server connection retries " + _SINCE),
    ("wredis", "MCP:u64", {"BS": _count("wredis")},
     "Total number of server redispatches due to connection failures " + _SINCE),
    ("status", "SGP:str", {"F": _fe_status, "L": _li_status, "B": _be_status,
                           "S": lambda r: server_status(r.srv)},
     "Frontend/listen status: OPEN/WAITING/FULL/STOP; backend: UP/DOWN; server: last check status"),
    ("weight", "MaP:u32", {"B": lambda r: r.weights.weight, "S": lambda r: server_weight(r.srv)},
     "Server's effective weight, or sum of active servers' effective weights for a backend"),
    ("act", "SGP:u32", {"B": lambda r: r.weights.act, "S": lambda r: 0 if r.srv.backup else 1},
     "Total number of active UP servers with a non-zero weight"),
    ("bck", "SGP:u32", {"B": lambda r: r.weights.bck, "S": lambda r: 1 if r.srv.backup else 0},
     "Total number of backup UP servers with a non-zero weight"),
    ("chkfail", "MCP:u64", {"S": _if_check_enabled(lambda s, r: s.health.failed_checks)},
     "Total number of failed individual health checks per server/backend, " + _SINCE),
    ("chkdown", "MCP:u64", {"B": _count("chkdown"), "S": _if_check_enabled(lambda s, r: s.counters.chkdown)},
     "Total number of failed checks causing UP to DOWN server transitions, per server/backend, " + _SINCE),
    ("lastchg", "MAP:u32", {"B": lambda r: _age(r.now, r.be.last_change),
                            "S": lambda r: _age(r.now, r.srv.last_change)},
     "How long ago the last server state changed, in seconds"),
    ("downtime", "MCP:u32", {"B": _be_downtime,
                             "S": _if_check_enabled(lambda s, r: int(s.total_downtime(r.now)))},
     "Total time spent in DOWN state, for server or backend"),
    ("qlimit", "CGS:u32", {"S": lambda r: r.srv.maxqueue or None},
     "Limit on the number of connections in queue, for servers only (maxqueue argument)"),
    ("pid", "KGP:u32", {"LFBS": _const(1)}, "Relative worker process number (1)"),
    ("iid", "KGS:u32", {"LFBS": lambda r: r.iid}, "Frontend or Backend numeric identifier ('id' setting)"),
    ("sid", "KGS:u32", {"LFBS": lambda r: r.sid}, "Server numeric identifier ('id' setting)"),
    ("throttle", "MaP:u32", {"S": _throttle},
     "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)"),
    ("lbtot", "MCP:u64", {"B": _servers_sum("lbtot"), "S": _count("lbtot")},
     "Total number of requests routed by load balancing " + _SINCE + " (ignores queue pop and stickiness)"),
    ("tracked", "CNS:str", {"S": _tracked}, "Name of the other server this server tracks for its state"),
    ("type", "CGS:u32", {"LFBS": lambda r: TYPE_CODES[r.kind]},
     "Type of the object (Listener, Frontend, Backend, Server)"),
    ("rate", "MRP:u32", {"FBS": lambda r: r.counters.sess_rate.rate(r.now)},
     "Total number of sessions processed by this object over the last second (sessions for "
     "listeners/frontends, requests for backends/servers)"),
    # `rate-limit sessions` is not accepted by trio-lb's parser: no limit, which HAProxy shows as 0
    ("rate_lim", "CLP:u32", {"F": _const(0)},
     "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)"),
    ("rate_max", "MMP:u32", {"FBS": lambda r: r.counters.sess_rate.max},
     "Highest value of sessions per second observed " + _SINCE),
    ("check_status", "MOP:str", {"S": _if_check_running(lambda s, r: _check_status(s))},
     "Status report of the server's latest health check, prefixed with '*' if a check is currently in progress"),
    ("check_code", "MOP:u32", {"S": _if_check_running(_check_code)},
     "HTTP/SMTP/LDAP status code reported by the latest server health check"),
    ("check_duration", "MDP:u64", {"S": _if_check_running(_check_duration)},
     "Total duration of the latest server health check, in milliseconds"),
    ("hrsp_1xx", "MCP:u64", {"FBS": _http(_count("hrsp_1xx"))}, _HRSP.format("100-199")),
    ("hrsp_2xx", "MCP:u64", {"FBS": _http(_count("hrsp_2xx"))}, _HRSP.format("200-299")),
    ("hrsp_3xx", "MCP:u64", {"FBS": _http(_count("hrsp_3xx"))}, _HRSP.format("300-399")),
    ("hrsp_4xx", "MCP:u64", {"FBS": _http(_count("hrsp_4xx"))}, _HRSP.format("400-499")),
    ("hrsp_5xx", "MCP:u64", {"FBS": _http(_count("hrsp_5xx"))}, _HRSP.format("500-599")),
    ("hrsp_other", "MCP:u64", {"FBS": _http(_count("hrsp_other"))},
     _HRSP.format("<100, >599") + " (error -1 included)"),
    ("hanafail", "MCP:u64", {"S": _hanafail},
     "Total number of failed checks caused by an 'on-error' directive after an 'observe' condition matched"),
    ("req_rate", "MRP:u32", {"F": lambda r: r.counters.req_rate.rate(r.now)},
     "Number of HTTP requests processed over the last second on this object"),
    ("req_rate_max", "MMP:u32", {"F": lambda r: r.counters.req_rate.max},
     "Highest value of http requests observed " + _SINCE),
    ("req_tot", "MCP:u64", {"F": _count("req_tot"), "BS": _http(_count("req_tot"))},
     "Total number of HTTP requests processed by this object " + _SINCE),
    ("cli_abrt", "MCP:u64", {"BS": _count("cli_abrt")},
     "Total number of requests or connections aborted by the client " + _SINCE),
    ("srv_abrt", "MCP:u64", {"BS": _count("srv_abrt")},
     "Total number of requests or connections aborted by the server " + _SINCE),
    ("comp_in", "MCP:u64", {"FB": _count("comp_in")},
     "Total number of bytes submitted to the HTTP compressor for this object " + _SINCE),
    ("comp_out", "MCP:u64", {"FB": _count("comp_out")},
     "Total number of bytes emitted by the HTTP compressor for this object " + _SINCE),
    ("comp_byp", "MCP:u64", {"FB": _count("comp_byp")},
     "Total number of bytes that bypassed HTTP compression for this object " + _SINCE
     + " (CPU/memory/bandwidth limitation)"),
    ("comp_rsp", "MCP:u64", {"FB": _count("comp_rsp")},
     "Total number of HTTP responses that were compressed for this object " + _SINCE),
    ("lastsess", "MAP:s32", {"B": _be_lastsess, "S": _srv_lastsess},
     "How long ago some traffic was seen on this object on this worker process, in seconds"),
    ("last_chk", "MOP:str", {"S": _if_check_running(_last_chk)},
     "Short description of the latest health check report for this server (see also check_desc)"),
    # agent checks (`agent-check`) are not run by trio-lb: the agent fields stay empty
    ("last_agt", "MOP:str", {},
     "Short description of the latest agent check report for this server (see also agent_desc)"),
    ("qtime", "MaP:u32", {"BS": _avg("qtime")},
     "Time spent in the queue, in milliseconds, averaged over the 1024 last requests (backend/server)"),
    ("ctime", "MaP:u32", {"BS": _avg("ctime")},
     "Time spent waiting for a connection to complete, in milliseconds, averaged over the 1024 last "
     "requests (backend/server)"),
    ("rtime", "MaP:u32", {"BS": _avg("rtime")},
     "Time spent waiting for a server response, in milliseconds, averaged over the 1024 last requests "
     "(backend/server)"),
    ("ttime", "MaP:u32", {"BS": _avg("ttime")},
     "Total request+response time (request+queue+connect+response+processing), in milliseconds, averaged "
     "over the 1024 last requests (backend/server)"),
    ("agent_status", "MOP:str", {},
     "Status report of the server's latest agent check, prefixed with '*' if a check is currently in progress"),
    ("agent_code", "MOP:u32", {}, "Status code reported by the latest server agent check"),
    ("agent_duration", "MDP:u64", {}, "Total duration of the latest server agent check, in milliseconds"),
    ("check_desc", "MOP:str", {"S": _if_check_running(lambda s, r: describe(_check_status(s)))},
     "Textual description of the latest health check report for this server"),
    ("agent_desc", "MOP:str", {}, "Textual description of the latest agent check report for this server"),
    ("check_rise", "CGS:u32", {"S": _if_check_running(lambda s, r: s.health.rise)},
     "Number of successful health checks before declaring a server UP (server 'rise' setting)"),
    ("check_fall", "CGS:u32", {"S": _if_check_running(lambda s, r: s.health.fall)},
     "Number of failed health checks before declaring a server DOWN (server 'fall' setting)"),
    ("check_health", "CGS:u32", {"S": _if_check_running(lambda s, r: s.health.health)},
     "Current server health check level (0..fall-1=DOWN, fall..rise-1=UP)"),
    ("agent_rise", "CGS:u32", {},
     "Number of successful agent checks before declaring a server UP (server 'rise' setting)"),
    ("agent_fall", "CGS:u32", {},
     "Number of failed agent checks before declaring a server DOWN (server 'fall' setting)"),
    ("agent_health", "CGS:u32", {}, "Current server agent check level (0..fall-1=DOWN, fall..rise-1=UP)"),
    ("addr", "CGS:str", {"L": _li_addr, "S": _srv_addr}, "Server's address:port, " + _LEGENDS),
    ("cookie", "CNS:str", {"B": _be_cookie, "S": _srv_cookie},
     "Backend's cookie name or Server's cookie value, " + _LEGENDS),
    ("mode", "CGS:str", {"LFBS": lambda r: r.proxy.mode}, "'mode' setting (tcp/http/health/cli)"),
    ("algo", "CGS:str", {"B": _be_algo}, "Backend's load balancing algorithm, " + _LEGENDS),
    ("conn_rate", "MRP:u32", {"F": lambda r: r.counters.conn_rate.rate(r.now)},
     "Number of new connections accepted over the last second on the frontend for this worker process"),
    ("conn_rate_max", "MMP:u32", {"F": lambda r: r.counters.conn_rate.max},
     "Highest value of connections per second observed " + _SINCE),
    ("conn_tot", "MCP:u64", {"F": _count("conn_tot")},
     "Total number of new connections accepted on this frontend " + _SINCE),
    ("intercepted", "MCP:u64", {"F": _http(_count("intercepted"))},
     "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) " + _SINCE),
    ("dcon", "MCP:u64", {"LF": _count("dcon")},
     "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection "
     "rule " + _SINCE),
    ("dses", "MCP:u64", {"LF": _count("dses")},
     "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule "
     + _SINCE),
    ("wrew", "MCP:u64", {"LFBS": _count("wrew")}, "Total number of failed HTTP header rewrites " + _SINCE),
    ("connect", "MCP:u64", {"B": _servers_sum("connect"), "S": _count("connect")},
     "Total number of outgoing connection attempts on this backend/server " + _SINCE),
    ("reuse", "MCP:u64", {"B": _servers_sum("reuse"), "S": _count("reuse")},
     "Total number of reused connection on this backend/server " + _SINCE),
    ("cache_lookups", "MCP:u64", {"FB": _http(_count("cache_lookups"))},
     "Total number of HTTP requests looked up in the cache on this frontend/backend " + _SINCE),
    ("cache_hits", "MCP:u64", {"FB": _http(_count("cache_hits"))},
     "Total number of HTTP requests not found in the cache on this frontend/backend " + _SINCE),
    ("srv_icur", "MGP:u32", {"S": lambda r: len(r.srv.idle)},
     "Current number of idle connections available for reuse on this server"),
    ("src_ilim", "CLP:u32", {"S": _idle_limit},
     "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)"),
    ("qtime_max", "MMP:u32", {"BS": _count("qtime_max")},
     "Maximum observed time spent in the queue, in milliseconds (backend/server)"),
    ("ctime_max", "MMP:u32", {"BS": _count("ctime_max")},
     "Maximum observed time spent waiting for a connection to complete, in milliseconds (backend/server)"),
    ("rtime_max", "MMP:u32", {"BS": _count("rtime_max")},
     "Maximum observed time spent waiting for a server response, in milliseconds (backend/server)"),
    ("ttime_max", "MMP:u32", {"BS": _count("ttime_max")},
     "Maximum observed total request+response time (request+queue+connect+response+processing), in "
     "milliseconds (backend/server)"),
    ("eint", "MCP:u64", {"LFBS": _count("eint")}, "Total number of internal errors since process started"),
    ("idle_conn_cur", "MGP:u32", {"S": _idle(False)}, "Current number of unsafe idle connections"),
    ("safe_conn_cur", "MGP:u32", {"S": _idle(True)}, "Current number of safe idle connections"),
    ("used_conn_cur", "MGP:u32", {"S": lambda r: r.srv.cur_sess}, "Current number of connections in use"),
    ("need_conn_est", "MGP:u32", {"S": _need_conn_est}, "Estimated needed number of connections"),
    ("uweight", "MaP:u32", {"B": lambda r: r.weights.uweight, "S": lambda r: r.srv.uweight},
     "Server's user weight, or sum of active servers' user weights for a backend"),
    # 2.6.x fills the aggregated gauges with 0 in CSV; only Prometheus computes them
    ("agg_server_status", "MGP:u32", {"B": _ZERO}, "Backend's aggregated gauge of servers' status"),
    ("agg_server_check_status", "MGP:u32", {"B": _ZERO}, "Backend's aggregated gauge of servers' state check status"),
    ("agg_check_status", "MGP:u32", {"B": _ZERO}, "Backend's aggregated gauge of servers' state check status"),
]

# where 2.6.12's typed output differs by row kind from the column's default tags
_KIND_TAGS: dict[str, dict[str, str]] = {
    "act": {"B": "MGP:u32"},
    "bck": {"B": "MGP:u32"},
    "rate": {"B": "MGP:u32"},
    "rate_max": {"B": "MGP:u32"},
}

_MODULES: list[_Spec] = [
    ("ssl_sess", "MCP:u64", {"LFBS": _ZERO}, "Total number of ssl sessions established"),
    ("ssl_reused_sess", "MCP:u64", {"LFBS": _ZERO}, "Total number of ssl sessions reused"),
    ("ssl_failed_handshake", "MCP:u64", {"LFBS": _ZERO}, "Total number of failed handshake"),
    ("h2_headers_rcvd", "MCP:u64", {"FB": _ZERO}, "Total number of received HEADERS frames"),
    ("h2_data_rcvd", "MCP:u64", {"FB": _ZERO}, "Total number of received DATA frames"),
    ("h2_settings_rcvd", "MCP:u64", {"FB": _ZERO}, "Total number of received SETTINGS frames"),
    ("h2_rst_stream_rcvd", "MCP:u64", {"FB": _ZERO}, "Total number of received RST_STREAM frames"),
    ("h2_goaway_rcvd", "MCP:u64", {"FB": _ZERO}, "Total number of received GOAWAY frames"),
    ("h2_detected_conn_protocol_errors", "MCP:u64", {"FB": _ZERO}, "Total number of connection protocol errors"),
    ("h2_detected_strm_protocol_errors", "MCP:u64", {"FB": _ZERO}, "Total number of stream protocol errors"),
    ("h2_rst_stream_resp", "MCP:u64", {"FB": _ZERO}, "Total number of RST_STREAM sent on detected error"),
    ("h2_goaway_resp", "MCP:u64", {"FB": _ZERO}, "Total number of GOAWAY sent on detected error"),
    ("h2_open_connections", "MGP:u64", {"FB": _ZERO}, "Count of currently open connections"),
    ("h2_backend_open_streams", "MGP:u64", {"FB": _ZERO}, "Count of currently open streams"),
    ("h2_total_connections", "MCP:u64", {"FB": _ZERO}, "Total number of connections"),
    ("h2_backend_total_streams", "MCP:u64", {"FB": _ZERO}, "Total number of streams"),
    ("h1_open_connections", "MGP:u64", _h1(lambda r: r.fe.cur_sess, _be_server_conns),
     "Count of currently open connections"),
    ("h1_open_streams", "MGP:u64", _h1(lambda r: r.fe.cur_sess, lambda r: r.be.cur_sess),
     "Count of currently open streams"),
    ("h1_total_connections", "MCP:u64", _h1(_count("conn_tot"), _servers_sum("connect")),
     "Total number of connections"),
    ("h1_total_streams", "MCP:u64", _h1(_count("req_tot"), _count("req_tot")), "Total number of streams"),
    ("h1_bytes_in", "MCP:u64", _h1(_count("bin"), _count("bout")), "Total number of bytes received"),
    ("h1_bytes_out", "MCP:u64", _h1(_count("bout"), _count("bin")), "Total number of bytes send"),
    ("h1_spliced_bytes_in", "MCP:u64", _h1(_ZERO, _ZERO), "Total number of bytes received using kernel splicing"),
    ("h1_spliced_bytes_out", "MCP:u64", _h1(_ZERO, _ZERO), "Total number of bytes sendusing kernel splicing"),
]

COLUMNS: tuple[Column, ...] = _table(_STATIC, 0, _KIND_TAGS)
MODULE_COLUMNS: tuple[Column, ...] = _table(_MODULES, len(COLUMNS))
ALL_COLUMNS: tuple[Column, ...] = COLUMNS + MODULE_COLUMNS
BY_NAME: dict[str, Column] = {c.name: c for c in ALL_COLUMNS}
DELIMITER = "-"  # the literal column between the static fields and the modules' ones


def header_names(modules: bool = True) -> list[str]:
    """The CSV header's names, `-` included, in order."""
    names = [c.name for c in COLUMNS] + [DELIMITER]
    if modules:
        names += [c.name for c in MODULE_COLUMNS]
    return names


def values(row: Row, modules: bool = True) -> list[Value]:
    """One row's values in header order (the delimiter column's value is "-")."""
    out: list[Value] = [c.value(row) for c in COLUMNS]
    out.append(DELIMITER)
    if modules:
        out += [c.value(row) for c in MODULE_COLUMNS]
    return out
