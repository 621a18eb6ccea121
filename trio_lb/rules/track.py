"""Stick counters: the `track-sc0..2` action, `accept`/`reject` for tcp-request rules, the
sc*_ / src_* fetches, and the `Tracker` the data plane calls on connection and HTTP events.

How it works
------------
HAProxy keeps up to three tracked counters (stkctr) per *session* (tracked by `tcp-request
connection` rules, alive for the whole connection) and three per *stream* (tracked by
`tcp-request content` and `http-request` rules, released at the end of each transaction).
Here the stream's slots are `RuleContext.tracked` and the session's are the `Tracker`'s,
which `Tracker.bind(ctx)` exposes to the rules as `ctx.session_tracked`. A slot is a `StkCtr`
(table, entry, flags); the entry holds one reference for as long as the slot does.

Tracking an entry counts a connection on it (conn_cnt, conn_cur, conn_rate); an `http-request`
track-sc also counts the current request (http_req_cnt/rate), because the request was counted
before the rule ran. Afterwards every event goes to the stream's slot i, or to the session's
slot i when the stream has none (HAProxy's stream_inc_*_ctr()). Each update touches the entry
(pushes its expiry). Ending a stream decrements conn_cur and drops the references of the
stream's slots; closing the Tracker does the same for the session's.

Fetches read "slot i" the same way: the stream's, else the session's; an untracked slot makes
the sample not found (`sc_tracked` excepted). `now` comes from `ctx.now` (the data plane sets it
before running rules), because rule runners and fetches receive no clock.

Sample expressions (`<fetch>[(<args>)][,<conv>...]`) are compiled by `compile_expr()`: the
stick rules and track-sc use the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trio_lb.rules.actions import ActionDef, Outcome, register
from trio_lb.rules.context import MAX_TRACKED
from trio_lb.rules.sample import (
    CONVERTERS,
    FETCHES,
    T_ADDR,
    T_BIN,
    T_BOOL,
    T_SINT,
    T_STR,
    ArgError,
    FetchDef,
    caster,
    ident_end,
    make_arg_list,
    wire,
)

# ---------------------------------------------------------------- sample expressions

TABLE_SAMPLE_TYPE = {"ip": T_ADDR, "ipv6": T_ADDR, "integer": T_SINT, "string": T_STR, "binary": T_BIN}

# Where each known fetch finds its data (HAProxy's sample_src_names() of its SMP_USE_* bits);
# anything not listed is an L4/L5 fetch usable everywhere.
_HTTP_REQ = "HTTP request headers"
_HTTP_BOTH = "HTTP request headers,HTTP response headers"
_USES: dict[str, str] = {
    "hdr": _HTTP_BOTH, "hdr_cnt": _HTTP_BOTH, "hdr_val": _HTTP_BOTH,
    "req.hdr": _HTTP_REQ, "req.fhdr": _HTTP_REQ, "req.hdr_cnt": _HTTP_REQ, "req.fhdr_cnt": _HTTP_REQ,
    "req.hdr_val": _HTTP_REQ, "method": _HTTP_REQ, "path": _HTTP_REQ, "query": _HTTP_REQ,
    "url": _HTTP_REQ, "url_param": _HTTP_REQ, "urlp": _HTTP_REQ, "req.ver": _HTTP_REQ,
    "req_ver": _HTTP_REQ, "req.proto_http": "request buffer contents",
    "req_proto_http": "request buffer contents", "req.len": "request buffer contents",
    "req_len": "request buffer contents",
    "res.hdr": "HTTP response headers", "status": "HTTP response headers",
}
_LAYER4 = frozenset({"src", "dst", "src_port", "dst_port", "always_true", "always_false", "ssl_fc"})


def fetch_uses(name: str) -> str | None:
    """Where fetch <name> reads from (None: connection-level, available everywhere)."""
    if name in _LAYER4 or name.startswith(("sc0_", "sc1_", "sc2_", "sc_", "src_")):
        return None
    return _USES.get(name, _HTTP_REQ)


@dataclass(frozen=True)
class SampleExpr:
    text: str
    fetch: FetchDef
    args: tuple
    steps: tuple[Callable[[Any], Any], ...]
    out_type: str

    @property
    def name(self) -> str:
        return self.fetch.name

    def eval(self, view: Any) -> Any:
        """The sample's value, or None when it does not exist. Header fetches outside ACLs
        take the last occurrence, others the first, as HAProxy's sample fetches do."""
        values = self.fetch.fn(view, self.args)
        if not values:
            return None
        v = values[-1] if "hdr" in self.fetch.name else values[0]
        for step in self.steps:
            v = step(v)
            if v is None:
                return None
        return v


def compile_expr(word: str) -> SampleExpr:
    """`<fetch>[(<args>)][,<conv>[(<args>)]]...`; ValueError with HAProxy's sample_parse_expr()
    message ("unknown fetch method 'x'", "unknown converter 'y'", "fetch method 'hdr' : ...")."""
    ident = word[: ident_end(word)]
    if not ident:
        raise ValueError("missing fetch method")
    fdef = FETCHES.get(ident)
    if fdef is None:
        raise ValueError(f"unknown fetch method '{ident}'")
    try:
        args, used = make_arg_list(word[len(ident):], fdef.arg_types, fdef.min_args)
    except ArgError as exc:
        raise ValueError(f"fetch method '{ident}' : {exc.msg}") from None
    err = fdef.validate(args) if fdef.validate and args else None
    if err:
        raise ValueError(f"invalid args in fetch method '{ident}' : {err}")
    args = tuple(wire(a) if isinstance(a, str) else a for a in args)
    pos = len(ident) + used
    cur = fdef.out_type
    steps: list[Callable[[Any], Any]] = []
    while pos < len(word):
        if word[pos] != ",":
            raise ValueError(f"missing comma after fetch keyword '{ident}'")
        while pos < len(word) and word[pos] == ",":
            pos += 1
        if pos >= len(word):
            break
        ckw = word[pos: pos + ident_end(word[pos:])]
        conv = CONVERTERS.get(ckw)
        if conv is None:
            raise ValueError(f"unknown converter '{ckw}'")
        try:
            cast = caster(cur, conv.in_type)
        except KeyError:
            raise ValueError(f"converter '{ckw}' cannot be applied") from None
        if cast is not None:
            steps.append(cast)
        steps.append(conv.fn)
        cur = conv.out_type
        pos += len(ckw)
        try:
            _, used = make_arg_list(word[pos:], ())
        except ArgError as exc:
            raise ValueError(f"invalid arg {exc.pos} in converter '{ckw}' : {exc.msg}") from None
        pos += used
    return SampleExpr(word, fdef, args, tuple(steps), cur)


def compatible(expr: SampleExpr, table_type: str) -> bool:
    """stktable_compatible_sample(): the expression's type casts to the table's key type."""
    want = TABLE_SAMPLE_TYPE[table_type]
    if expr.out_type == want:
        return True
    try:
        caster(expr.out_type, want)
    except KeyError:
        return False
    return True


# ---------------------------------------------------------------- tracked counters


@dataclass
class StkCtr:
    table: Any  # state.sticktables.StickTable
    entry: Any  # its Entry, holding one reference
    content: bool = False  # tracked by a content rule (STKCTR_TRACK_CONTENT)
    backend: bool = False  # tracked in a backend (STKCTR_TRACK_BACKEND)


def _now(ctx: Any) -> float:
    return float(getattr(ctx, "now", 0.0) or 0.0)


def _session_slots(ctx: Any) -> list[Any]:
    slots = getattr(ctx, "session_tracked", None)
    if slots is None:
        slots = [None] * MAX_TRACKED
        try:
            ctx.session_tracked = slots
        except AttributeError:
            pass
    return slots


def start_counters(table: Any, entry: Any, now: float) -> None:
    """stream_start_counters(): one more connection on <entry>."""
    table.add(entry, "conn_cur", 1, now)
    table.add(entry, "conn_cnt", 1, now)
    table.add(entry, "conn_rate", 1, now)
    table.touch(entry, now)


def _stop(ctr: StkCtr, now: float) -> None:
    t, e = ctr.table, ctr.entry
    if t.has("conn_cur"):
        if e.data["conn_cur"] > 0:
            e.data["conn_cur"] -= 1
        t.touch(e, now)
    t.release(e, now)


def _counting(ctx: Any) -> list[StkCtr]:
    """For each slot, the stream's counter, else the session's (stream_inc_*_ctr())."""
    stream = getattr(ctx, "tracked", None) or [None] * MAX_TRACKED
    session = getattr(ctx, "session_tracked", None) or [None] * MAX_TRACKED
    out = []
    for i in range(MAX_TRACKED):
        ctr = stream[i] or session[i]
        if ctr is not None:
            out.append(ctr)
    return out


def _bump(ctr: StkCtr, cnt: str, rate: str, inc: int, now: float) -> None:
    t, e = ctr.table, ctr.entry
    a = t.add(e, cnt, inc, now)
    b = t.add(e, rate, inc, now)
    if a or b:
        t.touch(e, now)


class Tracker:
    """The session's tracked counters and the events the data plane reports. One per client
    connection; `bind(ctx)` each stream's RuleContext to it before running any rule."""

    def __init__(self) -> None:
        self.session: list[StkCtr | None] = [None] * MAX_TRACKED

    def bind(self, ctx: Any) -> None:
        ctx.session_tracked = self.session

    def session_accepted(self, now: float) -> None:
        """After `tcp-request connection` rules accepted the connection (session_count_new())."""
        for ctr in self.session:
            if ctr is not None:
                _bump(ctr, "sess_cnt", "sess_rate", 1, now)

    @staticmethod
    def http_request(ctx: Any, now: float) -> None:
        """A request was received, before its http-request rules (http_req_cnt/rate)."""
        for ctr in _counting(ctx):
            _bump(ctr, "http_req_cnt", "http_req_rate", 1, now)

    @staticmethod
    def http_error(ctx: Any, now: float) -> None:
        """An invalid request, or a 4xx response (http_err_cnt/rate)."""
        for ctr in _counting(ctx):
            _bump(ctr, "http_err_cnt", "http_err_rate", 1, now)

    @staticmethod
    def http_fail(ctx: Any, now: float) -> None:
        """A 5xx response other than 501 and 505 (http_fail_cnt/rate)."""
        for ctr in _counting(ctx):
            _bump(ctr, "http_fail_cnt", "http_fail_rate", 1, now)

    @classmethod
    def http_response(cls, ctx: Any, status: int, now: float) -> None:
        """The response status is known (from the server or generated): 4xx count as errors,
        5xx but 501/505 as failures."""
        if 400 <= status < 500:
            cls.http_error(ctx, now)
        elif 500 <= status < 600 and status not in (501, 505):
            cls.http_fail(ctx, now)

    @staticmethod
    def bytes(ctx: Any, bytes_in: int, bytes_out: int, now: float) -> None:
        """Bytes moved since the last call (client->server in, server->client out)."""
        for ctr in _counting(ctx):
            if bytes_in:
                _bump(ctr, "bytes_in_cnt", "bytes_in_rate", bytes_in, now)
            if bytes_out:
                _bump(ctr, "bytes_out_cnt", "bytes_out_rate", bytes_out, now)

    @staticmethod
    def end_stream(ctx: Any, now: float) -> None:
        """End of a stream (one HTTP transaction, or the TCP stream): release its own slots."""
        slots = getattr(ctx, "tracked", None)
        if not slots:
            return
        for i, ctr in enumerate(slots):
            if ctr is not None:
                _stop(ctr, now)
                slots[i] = None

    def close(self, now: float) -> None:
        """The connection is gone: release the session's slots."""
        for i, ctr in enumerate(self.session):
            if ctr is not None:
                _stop(ctr, now)
                self.session[i] = None


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class TrackArgs:
    slot: int
    expr: SampleExpr
    table: str | None  # None: the proxy's own table
    proxy: str  # the proxy the rule belongs to (the default table's name)
    ruleset: str


def _proxy_name(pctx: Any) -> str:
    for attr in ("px", "proxy"):
        px = getattr(pctx, attr, None)
        if px is not None and hasattr(px, "name"):
            return px.name
    if isinstance(pctx, dict) and pctx.get("proxy") is not None:
        return pctx["proxy"].name
    return getattr(pctx, "name", "")


def _track_parser(ruleset: str) -> Callable[[list[str], int, Any], tuple[Any, int]]:
    def parse(words: list[str], i: int, pctx: Any) -> tuple[Any, int]:
        kw = words[i]
        digits = kw[len("track-sc"):]
        if not digits.isdigit():
            raise ValueError(f"Wrong track-sc number '{digits}'")
        slot = int(digits)
        if slot >= MAX_TRACKED:
            raise ValueError(f"{slot} track-sc number exceeding {MAX_TRACKED - 1} (MAX_SESS_STKCTR-1) value")
        i += 1
        if i >= len(words) or not words[i]:
            raise ValueError("missing fetch method")
        expr = compile_expr(words[i])
        uses = fetch_uses(expr.name)
        if uses is not None and (ruleset == "tcp-request connection" or
                                 (ruleset == "http-request" and "request" not in uses.split(",")[0])):
            where = expr.text
            raise ValueError(f"fetch method '{where}' extracts information from '{uses}', none of which "
                             "is available here")
        i += 1
        table = None
        if i < len(words) and words[i] == "table":
            i += 1
            if i >= len(words) or not words[i]:
                raise ValueError("missing table name")
            table = words[i]
            i += 1
        return TrackArgs(slot, expr, table, _proxy_name(pctx), ruleset), i

    return parse


def table_name(args: TrackArgs) -> str:
    return args.table if args.table is not None else args.proxy


def _run_track(args: TrackArgs, msg: Any, view: Any) -> Outcome | None:
    ctx = getattr(view, "ctx", None)
    if ctx is None:
        return None
    session = args.ruleset == "tcp-request connection"
    slots = _session_slots(ctx) if session else ctx.tracked
    if slots[args.slot] is not None:
        return None
    table = (getattr(ctx, "tables", None) or {}).get(table_name(args))
    if table is None:
        return None
    value = args.expr.eval(view)
    key = None if value is None else table.key_of(value)
    if key is None:
        return None
    now = _now(ctx)
    entry = table.acquire(key, now)
    if entry is None:
        return None
    ctr = StkCtr(table, entry, content=not session)
    fe, be = getattr(ctx, "frontend", None), getattr(ctx, "backend", None)
    if not session and be is not None and fe is not None and be is not fe:
        ctr.backend = True
    slots[args.slot] = ctr
    start_counters(table, entry, now)
    if args.ruleset == "http-request":
        _bump(ctr, "http_req_cnt", "http_req_rate", 1, now)
    return None


def _no_args(words: list[str], i: int, pctx: Any) -> tuple[Any, int]:
    return None, i + 1


def _run_accept(args: Any, msg: Any, view: Any) -> Outcome:
    return Outcome(kind="allow")


def _run_reject(args: Any, msg: Any, view: Any) -> Outcome:
    """Close the connection at once (the log's termination state is "PR"... for content and
    HAProxy counts it as a denied connection / request)."""
    return Outcome(kind="reject", termination="PR")


for _rs in ("tcp-request connection", "tcp-request content", "http-request"):
    register([_rs], ActionDef("track-sc", _track_parser(_rs), _run_track, prefix=True))
register(["tcp-request connection", "tcp-request content"], ActionDef("accept", _no_args, _run_accept))
register(["tcp-request connection", "tcp-request content"], ActionDef("reject", _no_args, _run_reject))


# ---------------------------------------------------------------- fetches


def _slot_ctr(view: Any, num: int, table_arg: str | None) -> StkCtr | None:
    """smp_fetch_sc_stkctr() for sc<num>: the stream's slot, else the session's; with a table
    argument, the same key looked up in that table (entry may then be None)."""
    ctx = getattr(view, "ctx", None)
    if ctx is None or not 0 <= num < MAX_TRACKED:
        return None
    stream = getattr(ctx, "tracked", None) or [None] * MAX_TRACKED
    ctr = stream[num] or (getattr(ctx, "session_tracked", None) or [None] * MAX_TRACKED)[num]
    if ctr is None:
        return None
    if table_arg:
        table = (getattr(ctx, "tables", None) or {}).get(table_arg)
        if table is None:
            return None
        return StkCtr(table, table.lookup(ctr.entry.key, _now(ctx)))
    return ctr


def _src_ctr(view: Any, table_arg: str | None, create: bool) -> StkCtr | None:
    """The src_* variant: the client address looked up (or created) in the table."""
    ctx = getattr(view, "ctx", None)
    if ctx is None:
        return None
    name = table_arg
    if not name:
        for px in (getattr(ctx, "frontend", None), getattr(ctx, "backend", None)):
            if px is not None and px.name in (getattr(ctx, "tables", None) or {}):
                name = px.name
                break
    table = (getattr(ctx, "tables", None) or {}).get(name or "")
    addr = getattr(view, "src_addr", None)
    if table is None or addr is None:
        return None
    key = table.key_of(addr)
    if key is None:
        return None
    now = _now(ctx)
    return StkCtr(table, table.get(key, now) if create else table.lookup(key, now))


Reader = Callable[[StkCtr, float], "int | None"]


def _reader(dtype: str, shift: int = 0) -> Reader:
    def read(ctr: StkCtr, now: float) -> int | None:
        if ctr.entry is None:
            return 0
        v = ctr.table.read(ctr.entry, dtype, now)
        return None if v is None else v >> shift
    return read


def _inc_gpc(n: str) -> Reader:
    def inc(ctr: StkCtr, now: float) -> int | None:
        t, e = ctr.table, ctr.entry
        if e is None:
            return 0
        if not (t.has(f"gpc{n}") or t.has(f"gpc{n}_rate")):
            return None
        _bump(ctr, f"gpc{n}", f"gpc{n}_rate", 1, now)
        return t.read(e, f"gpc{n}", now) or 0
    return inc


def _clr_gpc(n: str) -> Reader:
    def clr(ctr: StkCtr, now: float) -> int | None:
        t, e = ctr.table, ctr.entry
        if e is None:
            return 0
        if not t.has(f"gpc{n}"):
            return None
        old = t.read(e, f"gpc{n}", now)
        t.set(e, f"gpc{n}", 0, now)
        t.touch(e, now)
        return old
    return clr


def _trackers(ctr: StkCtr, now: float) -> int | None:
    return 0 if ctr.entry is None else ctr.entry.ref_cnt


COUNTER_FETCHES: dict[str, tuple[Reader, bool]] = {  # suffix -> (reader, creates for src_*)
    "bytes_in_rate": (_reader("bytes_in_rate"), False),
    "bytes_out_rate": (_reader("bytes_out_rate"), False),
    "clr_gpc0": (_clr_gpc("0"), True),
    "clr_gpc1": (_clr_gpc("1"), True),
    "conn_cnt": (_reader("conn_cnt"), False),
    "conn_cur": (_reader("conn_cur"), False),
    "conn_rate": (_reader("conn_rate"), False),
    "get_gpc0": (_reader("gpc0"), False),
    "get_gpc1": (_reader("gpc1"), False),
    "get_gpt0": (_reader("gpt0"), False),
    "gpc0_rate": (_reader("gpc0_rate"), False),
    "gpc1_rate": (_reader("gpc1_rate"), False),
    "http_err_cnt": (_reader("http_err_cnt"), False),
    "http_err_rate": (_reader("http_err_rate"), False),
    "http_fail_cnt": (_reader("http_fail_cnt"), False),
    "http_fail_rate": (_reader("http_fail_rate"), False),
    "http_req_cnt": (_reader("http_req_cnt"), False),
    "http_req_rate": (_reader("http_req_rate"), False),
    "inc_gpc0": (_inc_gpc("0"), True),
    "inc_gpc1": (_inc_gpc("1"), True),
    "kbytes_in": (_reader("bytes_in_cnt", 10), False),
    "kbytes_out": (_reader("bytes_out_cnt", 10), False),
    "sess_cnt": (_reader("sess_cnt"), False),
    "sess_rate": (_reader("sess_rate"), False),
    "trackers": (_trackers, False),
}


def _sc_fetch(num: int | None, read: Reader) -> Callable[[Any, tuple], list | None]:
    def fn(view: Any, args: tuple) -> list | None:
        if num is None:
            slot, table_arg = (args[0] if args else 0), (args[1] if len(args) > 1 else None)
        else:
            slot, table_arg = num, (args[0] if args else None)
        ctr = _slot_ctr(view, slot, table_arg)
        if ctr is None:
            return None
        v = read(ctr, _now(view.ctx))
        return None if v is None else [v]
    return fn


def _src_fetch(read: Reader, create: bool) -> Callable[[Any, tuple], list | None]:
    def fn(view: Any, args: tuple) -> list | None:
        ctr = _src_ctr(view, args[0] if args else None, create)
        if ctr is None:
            return None
        v = read(ctr, _now(view.ctx))
        return None if v is None else [v]
    return fn


def _tracked_fetch(num: int | None) -> Callable[[Any, tuple], list | None]:
    def fn(view: Any, args: tuple) -> list | None:
        slot = (args[0] if args else 0) if num is None else num
        table_arg = (args[1] if len(args) > 1 else None) if num is None else (args[0] if args else None)
        return [1 if _slot_ctr(view, slot, table_arg) is not None else 0]
    return fn


def _register_fetches() -> None:
    for suffix, (read, create) in COUNTER_FETCHES.items():
        FETCHES[f"sc_{suffix}"] = FetchDef(f"sc_{suffix}", T_SINT, _sc_fetch(None, read), ("sint", "str"), 1)
        for n in range(MAX_TRACKED):
            name = f"sc{n}_{suffix}"
            FETCHES[name] = FetchDef(name, T_SINT, _sc_fetch(n, read), ("str",))
        if suffix != "trackers":
            FETCHES[f"src_{suffix}"] = FetchDef(f"src_{suffix}", T_SINT, _src_fetch(read, create), ("str",))
    FETCHES["sc_tracked"] = FetchDef("sc_tracked", T_BOOL, _tracked_fetch(None), ("sint", "str"), 1)
    for n in range(MAX_TRACKED):
        FETCHES[f"sc{n}_tracked"] = FetchDef(f"sc{n}_tracked", T_BOOL, _tracked_fetch(n), ("str",))


_register_fetches()
