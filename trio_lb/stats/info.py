"""`show info`: HAProxy 2.6's process information fields, as one table, and the text renderer.

`INFO_FIELDS` holds the 72 positions of 2.6.12 (name, typed tags, type, description, getter);
a getter returns None for a field that does not exist in this build (the zlib ones: trio-lb does
not compress), and `show info` skips those, as HAProxy skips fields with no value (so `typed`
output keeps the position holes). Facts about the process that the runtime does not hold and
that only the I/O layer can know (wall clock, tasks, idle time) come in a `ProcessInfo` the
caller fills; its defaults describe an idle process.

The product is announced as HAProxy (tools key on `Name: HAProxy`), with trio-lb's own version
in `Version` and `Build info`, in a form that still starts with the HAProxy branch it mimics.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, NamedTuple, Union

from trio_lb import __version__

if TYPE_CHECKING:
    from trio_lb.state.proxies import Runtime

PRODUCT_NAME = "HAProxy"
VERSION = f"2.6.12-trio-lb-{__version__}"  # `show version` prints this too
RELEASE_DATE = "2026/11/22"

InfoValue = Union[int, str, None]


@dataclass(frozen=True)
class ProcessInfo:
    """What the I/O layer knows about the process; defaults describe an idle one."""

    epoch: float | None = None  # wall-clock time now (time.time()); Start_time_sec needs it
    ulimit_n: int | None = None  # RLIMIT_NOFILE soft limit; read here when None
    tasks: int = 0  # live tasks of the event loop
    run_queue: int = 0  # tasks ready to run
    idle_pct: int = 100  # share of the last second spent waiting for events
    cli_sessions: int = 1  # CLI connections open, the asking one included (they are jobs)
    dropped_logs: int = 0


class InfoState(NamedTuple):
    runtime: Runtime
    now: float
    proc: ProcessInfo


class InfoField(NamedTuple):
    pos: int
    name: str
    tags: str
    type: str
    desc: str
    get: Callable[[InfoState], InfoValue]


def _uptime_sec(s: InfoState) -> int:
    return max(0, int(s.now - s.runtime.start_time))


def _uptime(s: InfoState) -> str:
    up = _uptime_sec(s)
    return f"{up // 86400}d {up % 86400 // 3600}h{up % 3600 // 60:02d}m{up % 60:02d}s"


def _ulimit(s: InfoState) -> int:
    if s.proc.ulimit_n is not None:
        return s.proc.ulimit_n
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError, OSError):
        return 0
    return soft if soft != resource.RLIM_INFINITY else 0


def _listeners(s: InfoState) -> int:
    """Bound listeners: the frontends' binds and the stats sockets."""
    cfg = s.runtime.config
    binds = sum(len(p.binds) for p in cfg.proxies if p.has_frontend and not p.disabled)
    return binds + len(cfg.global_.stats_sockets)


def _jobs(s: InfoState) -> int:
    return _listeners(s) + s.runtime.actconn + s.proc.cli_sessions


def _conn_rate(s: InfoState) -> int:
    return s.runtime.conn_rate.rate(s.now)


def _total_bytes_out(s: InfoState) -> int:
    """Bytes sent by the process: responses to clients and requests relayed to servers."""
    rt = s.runtime
    return sum(fe.counters.bout for fe in rt.frontends.values()) + sum(be.counters.bin for be in rt.backends.values())


def _node(s: InfoState) -> str:
    return s.runtime.config.global_.node or platform.node()


def _start_time(s: InfoState) -> InfoValue:
    if s.proc.epoch is None:
        return None
    return int(s.proc.epoch - (s.now - s.runtime.start_time))


def _zero(s: InfoState) -> int:
    return 0


def _absent(s: InfoState) -> None:
    return None


_W = "on this worker process"
_SPECS: list[tuple[str, str, str, Callable[[InfoState], InfoValue]]] = [
    ("Name", "POS:str", "Product name", lambda s: PRODUCT_NAME),
    ("Version", "POS:str", "Product version", lambda s: VERSION),
    ("Release_date", "POS:str", "Date of latest source code update", lambda s: RELEASE_DATE),
    # trio-lb runs one event loop in one thread, whatever `nbthread` says
    ("Nbthread", "CGS:u32", "Number of started threads (global.nbthread)", lambda s: 1),
    ("Nbproc", "CGS:u32", "Number of started worker processes (historical, always 1)", lambda s: 1),
    ("Process_num", "KGP:u32", "Relative worker process number (1)", lambda s: 1),
    ("Pid", "SGP:u32", "This worker process identifier for the system", lambda s: s.runtime.pid),
    ("Uptime", "MDP:str", "How long ago this worker process was started (days+hours+minutes+seconds)", _uptime),
    ("Uptime_sec", "MDP:u32", "How long ago this worker process was started (seconds)", _uptime_sec),
    ("Memmax_MB", "CLP:u32", "Worker process's hard limit on memory usage in MB (-m on command line)", _zero),
    ("PoolAlloc_MB", "MGP:u32", "Amount of memory allocated in pools (in MB)", _zero),
    ("PoolUsed_MB", "MGP:u32", "Amount of pool memory currently used (in MB)", _zero),
    ("PoolFailed", "MCP:u32", "Number of failed pool allocations since this worker was started", _zero),
    ("Ulimit-n", "CLP:u32", "Hard limit on the number of per-process file descriptors", _ulimit),
    ("Maxsock", "CLP:u32", "Hard limit on the number of per-process sockets", _ulimit),
    ("Maxconn", "CLP:u32", "Hard limit on the number of per-process connections (configured or imposed by "
     "Ulimit-n)", lambda s: s.runtime.maxconn),
    ("Hard_maxconn", "CLP:u32", "Hard limit on the number of per-process connections (imposed by Memmax_MB or "
     "Ulimit-n)", lambda s: s.runtime.hard_maxconn),
    ("CurrConns", "MGP:u32", f"Current number of connections {_W}", lambda s: s.runtime.actconn),
    ("CumConns", "MCP:u32", f"Total number of connections {_W} since started", lambda s: s.runtime.cum_conns),
    ("CumReq", "MCP:u32", f"Total number of requests {_W} since started", lambda s: s.runtime.cum_reqs),
    ("MaxSslConns", "MMP:u32", "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited",
     _zero),
    ("CurrSslConns", "MGP:u32", f"Current number of SSL endpoints {_W} (front+back)", _zero),
    ("CumSslConns", "MCP:u32", f"Total number of SSL endpoints {_W} since started (front+back)", _zero),
    ("Maxpipes", "CLP:u32", "Hard limit on the number of pipes for splicing, 0=unlimited", _zero),
    ("PipesUsed", "MGP:u32", "Current number of pipes in use in this worker process", _zero),
    ("PipesFree", "MGP:u32", "Current number of allocated and available pipes in this worker process", _zero),
    ("ConnRate", "MRP:u32", f"Number of front connections created {_W} over the last second", _conn_rate),
    ("ConnRateLimit", "CLP:u32", "Hard limit for ConnRate (global.maxconnrate)", lambda s: s.runtime.rate_limit_conns),
    ("MaxConnRate", "MMP:u32", f"Highest ConnRate reached {_W} since started (in connections per second)",
     lambda s: s.runtime.conn_rate.max),
    # every accepted connection is one session in trio-lb (no tcp-request connection rules)
    ("SessRate", "MRP:u32", f"Number of sessions created {_W} over the last second", _conn_rate),
    ("SessRateLimit", "CLP:u32", "Hard limit for SessRate (global.maxsessrate)", lambda s: s.runtime.rate_limit_sess),
    ("MaxSessRate", "MRP:u32", f"Highest SessRate reached {_W} since started (in sessions per second)",
     lambda s: s.runtime.conn_rate.max),
    ("SslRate", "MRP:u32", f"Number of SSL connections created {_W} over the last second", _zero),
    ("SslRateLimit", "CLP:u32", "Hard limit for SslRate (global.maxsslrate)", lambda s: s.runtime.rate_limit_ssl),
    ("MaxSslRate", "MMP:u32", f"Highest SslRate reached {_W} since started (in connections per second)", _zero),
    ("SslFrontendKeyRate", "MGP:u32", "Number of SSL keys created on frontends in this worker process over the "
     "last second", _zero),
    ("SslFrontendMaxKeyRate", "MMP:u32", "Highest SslFrontendKeyRate reached on this worker process since "
     "started (in SSL keys per second)", _zero),
    ("SslFrontendSessionReuse_pct", "MGP:u32", "Percent of frontend SSL connections which did not require a "
     "new key", _zero),
    ("SslBackendKeyRate", "MRP:u32", "Number of SSL keys created on backends in this worker process over the "
     "last second", _zero),
    ("SslBackendMaxKeyRate", "MMP:u32", "Highest SslBackendKeyRate reached on this worker process since started "
     "(in SSL keys per second)", _zero),
    ("SslCacheLookups", "MCP:u32", "Total number of SSL session ID lookups in the SSL session cache on this "
     "worker since started", _zero),
    ("SslCacheMisses", "MCP:u32", "Total number of SSL session ID lookups that didn't find a session in the SSL "
     "session cache on this worker since started", _zero),
    ("CompressBpsIn", "MRP:u32", "Number of bytes submitted to the HTTP compressor in this worker process over "
     "the last second", _zero),
    ("CompressBpsOut", "MRP:u32", "Number of bytes emitted by the HTTP compressor in this worker process over "
     "the last second", _zero),
    ("CompressBpsRateLim", "CLP:u32", "Limit of CompressBpsOut beyond which HTTP compression is automatically "
     "disabled", lambda s: s.runtime.rate_limit_comp),
    ("ZlibMemUsage", "MGP:u32", "Amount of memory currently used by HTTP compression on the current worker "
     "process (in bytes)", _absent),
    ("MaxZlibMemUsage", "CLP:u32", "Limit on the amount of memory used by HTTP compression above which it is "
     "automatically disabled (in bytes, see global.maxzlibmem)", _absent),
    ("Tasks", "MGP:u32", "Total number of tasks in the current worker process (active + sleeping)",
     lambda s: s.proc.tasks),
    ("Run_queue", "MGP:u32", "Total number of active tasks+tasklets in the current worker process",
     lambda s: s.proc.run_queue),
    ("Idle_pct", "MaP:u32", "Percentage of last second spent waiting in the current worker thread",
     lambda s: s.proc.idle_pct),
    ("node", "COS:str", "Node name (global.node)", _node),
    ("description", "COS:str", "Node description (global.description)",
     lambda s: s.runtime.config.global_.description or None),
    ("Stopping", "MGP:u32", "1 if the worker process is currently stopping, otherwise zero",
     lambda s: int(s.runtime.stopping)),
    ("Jobs", "MGP:u32", "Current number of active jobs on the current worker process (frontend connections, "
     "master connections, listeners)", _jobs),
    ("Unstoppable Jobs", "MGP:u32", "Current number of unstoppable jobs on the current worker process (master "
     "connections)", _zero),
    ("Listeners", "MGP:u32", "Current number of active listeners on the current worker process", _listeners),
    ("ActivePeers", "MGP:u32", "Current number of verified active peers connections on the current worker "
     "process", _zero),
    ("ConnectedPeers", "MGP:u32", "Current number of peers having passed the connection step on the current "
     "worker process", _zero),
    ("DroppedLogs", "MGP:u32", "Total number of dropped logs for current worker process since started",
     lambda s: s.proc.dropped_logs),
    ("BusyPolling", "MGP:u32", "1 if busy-polling is currently in use on the worker process, otherwise zero "
     "(config.busy-polling)", _zero),
    ("FailedResolutions", "MGP:u32", "Total number of failed DNS resolutions in current worker process since "
     "started", _zero),
    ("TotalBytesOut", "MGP:u64", "Total number of bytes emitted by current worker process since started",
     _total_bytes_out),
    ("TotalSplicdedBytesOut", "MGP:u64", "Total number of bytes emitted by current worker process through a "
     "kernel pipe since started", _zero),
    ("BytesOutRate", "MRP:u64", "Number of bytes emitted by current worker process over the last second", _zero),
    ("DebugCommandsIssued", "MGP:u32", "Number of debug commands issued on this process (anything > 0 is unsafe)",
     _zero),
    ("CumRecvLogs", "MCP:u32", "Total number of log messages received by log-forwarding listeners on this worker "
     "process since started", _zero),
    ("Build info", "POS:str", "Build info", lambda s: VERSION),
    ("Memmax_bytes", "CLP:u32", "Worker process's hard limit on memory usage in byes (-m on command line)", _zero),
    ("PoolAlloc_bytes", "MGP:u64", "Amount of memory allocated in pools (in bytes)", _zero),
    ("PoolUsed_bytes", "MGP:u64", "Amount of pool memory currently used (in bytes)", _zero),
    ("Start_time_sec", "MDP:u32", "Start time in seconds", _start_time),
    ("Tainted", "SGP:str", "Experimental features used", lambda s: "0"),
]

INFO_FIELDS: tuple[InfoField, ...] = tuple(
    InfoField(pos, name, *tagtype.split(":"), desc, get)  # type: ignore[call-arg]
    for pos, (name, tagtype, desc, get) in enumerate(_SPECS)
)


def info_values(runtime: Runtime, now: float, proc: ProcessInfo | None = None) -> list[tuple[InfoField, InfoValue]]:
    """Every field with its value (None: the field does not exist here and is not printed)."""
    state = InfoState(runtime, now, proc or ProcessInfo())
    return [(f, f.get(state)) for f in INFO_FIELDS]


def render_info(runtime: Runtime, now: float, proc: ProcessInfo | None = None, *, block: bool = True) -> str:
    """The `show info` reply: one `Name: value` line per present field, then the empty line."""
    lines = [f"{f.name}: {value}\n" for f, value in info_values(runtime, now, proc) if value is not None]
    if block:
        lines.append("\n")
    return "".join(lines)
