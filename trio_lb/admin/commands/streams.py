"""`show sess`, `shutdown session`, `shutdown sessions server` (HAProxy 2.6 src/stream.c).

A stream is designated by the pointer `show sess` prints first on its line (here the address
of the Python object serving it, see state/streams.py), read back with strtoul(..., 0) as
HAProxy reads it. The one-line format is 2.6.12's, field for field; the fields that describe
HAProxy internals with no trio-lb equivalent (channel and stream-connector flags, analysers,
CPU and latency accounting) print fixed values taken from an idle 2.6.12 stream of the same
kind, so that parsers of the line keep working. The multi-line dump of `show sess <ptr>|all` is
undocumented in HAProxy; it keeps 2.6's first lines (date, id, source, frontend, backend,
server) and then says what trio-lb knows of the stream.
"""

from __future__ import annotations

import time
from typing import Any

from trio_lb.admin.commands.server import find_server
from trio_lb.admin.cparse import strtoul0
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.state.streams import StreamView

POINTER_EXPECTED = "Session pointer expected (use 'show sess').\n"
NO_SUCH_SESSION = "No such session (use 'show sess').\n"
NOT_FOUND = "Session not found.\n"

# rq/rp channel flags, analysers and stream-connector flags of idle 2.6.12 streams, per kind
_FLAGS = {
    "http": ("49c40000h", "8000h", "80400000h", "1400000h", "80h", "11h"),
    "tcp": ("848000h", "00h", "80008000h", "00h", "0h", "1h"),
    "cli": ("c08000h", "00h", "80008002h", "00h", "0h", "1h"),
}


def human_time(seconds: float) -> str:
    """HAProxy's human_time(): the two most significant units of a duration, e.g. 1d2h, 3m4s."""
    t = int(seconds)
    if t < 0:
        return "?"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        value = t // size if unit == "d" else t % (86400 if unit == "h" else 3600) // size
        if value and len(parts) < 2:
            parts.append(f"{value}{unit}")
    if (len(parts) < 2 and t % 60) or not t:
        parts.append(f"{t % 60}s")
    return "".join(parts)


def _timer(seconds: float | None) -> str:
    return "" if seconds is None else human_time(seconds)


def _epoch(n: int) -> str:
    return f"{n:#x}" if n else "0"  # C's %#x prints 0 without the prefix


def sess_line(ptr: int, epoch: int, v: StreamView) -> str:
    be = v.backend.name if v.backend else "<NONE>"
    srv = v.server.name if v.server else "<none>"
    kind = "cli" if v.frontend.name == "GLOBAL" else v.frontend.extra
    rqf, rqan, rpf, rpan, scf, scb = _FLAGS.get(kind, _FLAGS["tcp"])
    rx = _timer(v.expires_in)
    rq_rx = rx if kind != "http" else ""  # HTTP: the request is in, the response is awaited
    rp_rx = rx if kind != "cli" else ""
    return (f"{ptr:#x}: proto={v.proto} src={v.src} fe={v.frontend.name} be={be} srv={srv} ts=00 "
            f"epoch={_epoch(epoch)} age={human_time(v.age)} calls={v.calls} rate=0 cpu=0 lat=0 "
            f"rq[f={rqf},i=0,an={rqan},rx={rq_rx},wx=,ax=] rp[f={rpf},i=0,an={rpan},rx={rp_rx},wx=,ax=] "
            f"scf=[8,{scf},fd={v.front_fd}] scb=[8,{scb},fd={v.back_fd}] exp={rx} rc=0 c_exp=\n")


def _date(unix: float) -> str:
    tm = time.localtime(unix)
    return time.strftime("%d/%b/%Y:%H:%M:%S", tm) + f".{int(unix % 1 * 1_000_000):06d}"


def sess_dump(ptr: int, uid: int, epoch: int, v: StreamView) -> str:
    fe = v.frontend
    lines = [f"{ptr:#x}: [{_date(v.accept_date)}] id={uid} proto={v.proto} source={v.src}",
             f"  flags=0x0, conn_retries=0, conn_exp=<NEVER> conn_et=0x000 srv_conn=(nil), pend_pos=(nil) "
             f"waiting=0 epoch={_epoch(epoch)}",
             f"  frontend={fe.name} (id={fe.id} mode={fe.extra}), listener=? (id=1) addr={v.local or '?'}"]
    if v.backend is not None:
        lines.append(f"  backend={v.backend.name} (id={v.backend.id} mode={v.backend.extra}) "
                     f"addr={v.server_local or '?'}")
    else:
        lines.append("  backend=<NONE> (id=-1 mode=-) addr=?")
    if v.server is not None:
        lines.append(f"  server={v.server.name} (id={v.server.id}) addr={v.server.extra}")
    else:
        lines.append("  server=<NONE> (id=-1)")
    lines.append(f"  age={human_time(v.age)} calls={v.calls} exp={_timer(v.expires_in) or '<NEVER>'} "
                 f"bytes_in={v.bytes_in} bytes_out={v.bytes_out} fd={v.front_fd}/{v.back_fd}")
    return "\n".join(lines) + "\n"


def _streams(ctx: Any) -> Any:
    return ctx.runtime.streams


@command(("show", "sess"), "show sess [id]                          : report the list of current sessions or dump this exact session",
         level="operator")
def show_sess(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    streams = _streams(ctx)
    now = ctx.now()
    streams.next_epoch()
    word = args[2] if len(args) > 2 else ""
    target = None if word == "all" else (strtoul0(word) or None)
    out = []
    for ptr, stream in streams:
        if target is not None and ptr != target:
            continue
        view = stream.view(now)
        if view is None:
            continue
        if word == "all" or target is not None:
            out.append(sess_dump(ptr, stream.uid, stream.epoch, view))
        else:
            out.append(sess_line(ptr, stream.epoch, view))
    if target is not None and not out:
        return NOT_FOUND
    return "".join(out)


@command(("shutdown", "session"), "shutdown session [id]                   : kill a specific session", level="admin")
def shutdown_session(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    ptr = strtoul0(args[2]) if len(args) > 2 else 0
    if not ptr:
        raise CommandError(POINTER_EXPECTED)
    streams = _streams(ctx)
    stream = streams.find(ptr)
    if stream is None or stream.view(ctx.now()) is None:
        raise CommandError(NO_SUCH_SESSION)
    streams.kill(stream)
    return ""


@command(("shutdown", "sessions", "server"), "shutdown sessions server <bk>/<srv>     : kill sessions on a server",
         level="admin")
def shutdown_sessions_server(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    _, server = find_server(ctx.runtime, args[3] if len(args) > 3 else "")
    _streams(ctx).kill_on_server(server)
    return ""
