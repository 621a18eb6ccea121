"""`stick-table` and `stick on|match|store-request|store-response` (cfgparse-listen.c,
stick_table.c's parse_stick_table()), plus the pure decisions the data plane takes with them.

    stick-table type {ip|ipv6|integer|string [len n]|binary [len n]} size <n> [expire <t>]
                [nopurge] [peers <p>] [srvkey name|addr] [store <type>[(<arg>)],...]
    stick {on|match|store-request|store|store-response} <expr> [table <t>] [if|unless <cond>]

The table spec is a state.sticktables.TableSpec on Proxy.stick_table; each stick line is a
`StickRule` on Proxy.stick_rules. Table references are checked once every proxy is known by
`check_references(config)` (HAProxy's post-parse "Proxy 'x': unable to find stick-table 'y'.");
the lead calls it from config/validate.py.

At run time (backend chosen, before load balancing) `stick_request()` walks the rules in order,
as process_sticking_rules() does: a match rule looks its key up and, while no server is
assigned yet, offers the stored server (by name first, then by id) to the caller's `usable`
check; a store rule remembers its key, only the first per table. Once the server is known and
its response arrives, `stick_store()` runs the store-response rules and writes the server's id
and name into every remembered entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trio_lb.config.keywords import Ctx, Keyword, parse_time_err, proxy_type_str
from trio_lb.config.keywords.acl_rules import compile_condition
from trio_lb.rules import table_conv, track  # noqa: F401 - registers the table_*() converters
from trio_lb.rules.cond import eval_condition
from trio_lb.state.sticktables import (
    DATA_INDEX,
    DATA_TYPES,
    KEY_TYPES,
    MAX_DT_ARRAY_SIZE,
    StoreSpec,
    TableSpec,
)

# ---------------------------------------------------------------- stick-table


def parse_size_err(text: str) -> tuple[int | None, str | None]:
    """HAProxy's parse_size_err(): (value, None) or (None, the offending character)."""
    if not text or not text[0].isdigit():
        return None, text[:1]
    i = 0
    value = 0
    while i < len(text) and text[i].isdigit() and text[i].isascii():
        value = value * 10 + int(text[i])
        if value > 0xFFFFFFFF:
            return None, text[i]
        i += 1
    rest = text[i:]
    if rest:
        mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(rest[0].lower())
        if mult is None:
            return None, rest[0]
        if len(rest) > 1:
            return None, rest[1]
        value *= mult
        if value > 0xFFFFFFFF:
            return None, rest[0]
    return value, None


def _c_atoi(text: str) -> int:
    digits = ""
    s = text.lstrip()
    sign = -1 if s.startswith("-") else 1
    s = s[1:] if s[:1] in "+-" else s
    for c in s:
        if not c.isdigit():
            break
        digits += c
    return sign * int(digits) if digits else 0


def parse_table_words(words: list[str], name: str, where: Callable[[str, bool], str]) -> tuple[TableSpec, list[str]]:
    """parse_stick_table() over the words of a `stick-table` line; returns the spec and the
    warnings. Raises ValueError with the complete alert body (built by `where(msg, tight)`)."""
    kw = words[0]
    spec = TableSpec(name=name)
    warnings: list[str] = []
    seen_type = False
    i = 1

    def arg(n: int) -> str:
        return words[n] if n < len(words) else ""

    def fail(msg: str, tight: bool = False) -> ValueError:
        return ValueError(where(msg, tight))

    while arg(i):
        word = words[i]
        if word in ("size", "peers", "expire"):
            i += 1
            if not arg(i):
                raise fail(f"{kw}: missing argument after '{word}'.")
            if word == "size":
                value, bad = parse_size_err(arg(i))
                if bad is not None:
                    raise fail(f"{kw}: unexpected character '{bad}' in argument of '{word}'.")
                spec.size = value or 0
            elif word == "peers":
                spec.peers = arg(i)
            else:
                res = parse_time_err(arg(i), "ms")
                if res.overflow:
                    raise fail(f"{kw}: timer overflow in argument <{arg(i)}> to <{word}>, maximum value is "
                               "2147483647 ms (~24.8 days).", tight=True)
                if res.underflow:
                    raise fail(f"{kw}: timer underflow in argument <{arg(i)}> to <{word}>, minimum non-null "
                               "value is 1 ms.", tight=True)
                if res.value is None or res.trailing:
                    bad = res.bad if res.bad is not None else (res.trailing or "")[:1]
                    raise fail(f"{kw}: unexpected character '{bad}' in argument of '{word}'.")
                spec.expire = res.value or None
            i += 1
        elif word == "nopurge":
            spec.nopurge = True
            i += 1
        elif word == "type":
            i += 1
            ttype = arg(i)
            if ttype not in KEY_TYPES:
                raise fail(f"{kw}: unknown type '{ttype}'.")
            spec.type, spec.key_size = ttype, KEY_TYPES[ttype]
            i += 1
            if ttype in ("string", "binary") and arg(i) == "len":
                i += 1
                size = _c_atoi(arg(i))
                if size <= 0:
                    raise fail(f"{kw}: unknown type '{arg(i)}'.")
                spec.key_size = size + 1 if ttype == "string" else size
                i += 1
            seen_type = True
        elif word == "store":
            i += 1
            _parse_store(kw, arg(i), spec, warnings, fail, where)
            i += 1
        elif word == "srvkey":
            i += 1
            if arg(i) not in ("name", "addr"):
                raise fail(f"{kw} : unknown server key type '{arg(i)}'.")
            spec.srvkey = arg(i)
            i += 1
        else:
            raise fail(f"{kw}: unknown argument '{word}'.")
    if not spec.size:
        raise fail(f"{kw}: missing size.")
    if not seen_type:
        raise fail(f"{kw}: missing type.")
    return spec, warnings


def _split_store(text: str) -> list[tuple[str, str | None, str | None, bool]]:
    """The comma-separated `store` list: (name, arg1, arg2, closed parenthesis)."""
    items = []
    i = 0
    n = len(text)
    while i < n:
        start = i
        sa = sa2 = None
        name_end = None
        closed = True
        while i < n and text[i] != ",":
            if text[i] == "(":
                name_end = i
                j = i + 1
                comma = None
                while j < n and text[j] != ")":
                    if text[j] == "," and comma is None:
                        comma = j
                    j += 1
                if j >= n:
                    closed = False
                    items.append((text[start:name_end], None, None, False))
                    return items
                if comma is None:
                    sa = text[i + 1: j]
                else:
                    sa, sa2 = text[i + 1: comma], text[comma + 1: j]
                i = j
            i += 1
        name = text[start: name_end if name_end is not None else i]
        items.append((name, sa, sa2, closed))
        i += 1
    return items


def _parse_store(kw: str, text: str, spec: TableSpec, warnings: list[str],
                 fail: Callable[..., ValueError], where: Callable[[str, bool], str]) -> None:
    for name, sa, sa2, closed in _split_store(text):
        if not closed:
            raise fail(f"{kw}: missing closing parenthesis after store option '{name}'.")
        idx = DATA_INDEX.get(name)
        if idx is None:
            raise fail(f"{kw}: unknown store option '{name}'.")
        _n, _std, has_period, is_array = DATA_TYPES[idx]
        if name in spec.store:
            warnings.append(where(f"{kw}: store option '{name}' already enabled, ignored.", True))
            continue
        st = StoreSpec()
        if is_array:
            if sa is None:
                raise fail(f"{kw}: missing argument to store option '{name}'.")
            st.nbelem = _c_atoi(sa)
            if not 0 < st.nbelem <= MAX_DT_ARRAY_SIZE:
                raise fail(f"{kw}: array size is out of allowed range (1-{MAX_DT_ARRAY_SIZE}) for store "
                           f"option '{name}'.")
            sa = sa2
        if has_period:
            if sa is None:
                raise fail(f"{kw}: missing argument to store option '{name}'.")
            res = parse_time_err(sa, "ms")
            if res.value is None or res.trailing:
                raise fail(f"{kw}: error when processing store option '{name}'.")
            st.period = res.value
        elif sa is not None:
            raise fail(f"{kw}: unexpected argument to store option '{name}'.")
        spec.store[name] = st
    if "gpt" in spec.store and "gpt0" in spec.store:
        raise fail(f"{kw}: simultaneous usage of 'gpt' and 'gpt0' in a same table is not permitted as 'gpt' "
                   "overrides 'gpt0'.")
    if "gpc" in spec.store and ("gpc0" in spec.store or "gpc1" in spec.store):
        raise fail(f"{kw}: simultaneous usage of 'gpc' and 'gpc[0/1]' in a same table is not permitted as "
                   "'gpc' overrides 'gpc[0/1]'.")
    if "gpc_rate" in spec.store and ("gpc0_rate" in spec.store or "gpc1_rate" in spec.store):
        raise fail(f"{kw}: simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate' in a same table is not "
                   "permitted as 'gpc_rate' overrides 'gpc[0/1]_rate'.")


def _table_owner(ctx: Ctx, name: str) -> Any:
    for px in ctx.config.proxies:
        if px.stick_table is not None and px.name == name and px.kind != "defaults":
            return px
    return None


def kw_stick_table(ctx: Ctx) -> None:
    px = ctx.px
    if px.kind == "defaults":
        raise ctx.error("'stick-table' is not supported in 'defaults' section.")
    other = _table_owner(ctx, px.name)
    if other is not None:
        cap = {"frontend": "frontend", "backend": "backend", "listen": "listen"}[other.kind]
        st = other.stick_table
        raise ctx.error(f"stick-table name '{px.name}' conflicts with table declared in {cap} '{other.name}' "
                        f"at {st.file}:{st.line}.")

    def where(msg: str, tight: bool) -> str:
        return ctx.where(tight) + msg

    try:
        spec, warnings = parse_table_words(ctx.words, px.name, where)
    except ValueError as e:
        from trio_lb.config.keywords import Alert
        raise Alert(str(e)) from None
    for w in warnings:
        ctx.state.diag.warn(w)
    spec.file, spec.line = ctx.file, ctx.line
    px.stick_table = spec


# ---------------------------------------------------------------- stick rules


@dataclass
class StickRule:
    match: bool  # STK_IS_MATCH
    store: bool  # STK_IS_STORE
    on_response: bool  # STK_ON_RSP (store-response)
    expr: Any  # rules.track.SampleExpr
    table: str  # the table's name (the proxy's own when no `table`)
    cond: Any = None
    explicit_table: bool = False
    file: str = ""
    line: int = 0


_STICK_KINDS = {
    "store": (False, True, False), "store-request": (False, True, False),
    "store-response": (False, True, True), "match": (True, False, False), "on": (True, True, False),
}


def kw_stick(ctx: Ctx) -> None:
    px = ctx.px
    if px.kind == "defaults":
        raise ctx.error(f"'{ctx.kw}' not allowed in 'defaults' section.")
    if ctx.warn_not_cap("be"):
        return
    kind = _STICK_KINDS.get(ctx.arg(1))
    if kind is None:
        raise ctx.error(f"'{ctx.kw}' expects 'on', 'match', or 'store'.")
    i = 2
    if not ctx.arg(i):
        raise ctx.error(f"'{ctx.kw}' expects a fetch method.")
    try:
        expr = track.compile_expr(ctx.arg(i))
    except ValueError as e:
        raise ctx.error(f"'{ctx.kw}': {e}") from None
    uses = track.fetch_uses(expr.name)
    if kind[2]:
        if uses is not None and "response" not in uses:
            raise ctx.error(f"'{ctx.kw}': fetch method '{expr.name}' extracts information from '{uses}', none of "
                            "which is available for 'store-response'.")
    elif uses is not None and "request" not in uses.split(",")[0]:
        raise ctx.error(f"'{ctx.kw}': fetch method '{expr.name}' extracts information from '{uses}', none of "
                        "which is available during request.")
    i += 1
    table = None
    if ctx.arg(i) == "table":
        table = ctx.arg(i + 1)
        i += 2
    cond = None
    if ctx.arg(i) in ("if", "unless"):
        try:
            cond = compile_condition(ctx, ctx.words[i:])
        except ValueError as e:
            raise ctx.error(f"'{ctx.kw}': error detected while parsing sticking condition : {e}.") from None
    elif ctx.arg(i):
        raise ctx.error(f"'{ctx.kw}': unknown keyword '{ctx.arg(i)}'.")
    px.stick_rules.append(StickRule(match=kind[0], store=kind[1], on_response=kind[2], expr=expr,
                                    table=table if table is not None else px.name,
                                    cond=cond, explicit_table=table is not None, file=ctx.file, line=ctx.line))


# ---------------------------------------------------------------- post-parse checks


def _tables(config: Any) -> dict[str, Any]:
    return {px.name: px.stick_table for px in config.proxies
            if px.stick_table is not None and px.kind != "defaults"}


def check_references(config: Any) -> list[str]:
    """The alerts HAProxy's check_config_validity() gives for stick rules and track-sc actions
    whose table is missing or of an incompatible type (one string per alert, no location)."""
    tables = _tables(config)
    alerts: list[str] = []
    for px in config.proxies:
        if px.kind == "defaults" or px.disabled:
            continue
        for rules, what in ((px.tcp_request_connection_rules, None), (px.tcp_request_content_rules, None),
                            (px.http_request_rules, None)):
            for rule in rules:
                args = getattr(rule, "args", None)
                if not isinstance(args, track.TrackArgs):
                    continue
                name = track.table_name(args)
                spec = tables.get(name)
                if spec is None:
                    alerts.append(f"Proxy '{px.name}': unable to find table '{name}' referenced by "
                                  f"track-sc{args.slot}.")
                elif not track.compatible(args.expr, spec.type):
                    alerts.append(f"Proxy '{px.name}': stick-table '{name}' uses a type incompatible with the "
                                  f"'track-sc{args.slot}' rule.")
        for when_rsp in (False, True):
            for rule in px.stick_rules:
                if rule.on_response != when_rsp:
                    continue
                spec = tables.get(rule.table)
                if spec is None:
                    what = "store table" if rule.on_response else "stick-table"
                    alerts.append(f"Proxy '{px.name}': unable to find {what} '{rule.table}'.")
                elif not track.compatible(rule.expr, spec.type):
                    alerts.append(f"Proxy '{px.name}': type of fetch not usable with type of stick-table "
                                  f"'{rule.table}'.")
    return alerts


def content_warnings(config: Any) -> list[str]:
    """check_trk_action()'s warning for content track-sc rules reading the request without an
    inspect-delay (trio-lb's content rules see only the connection: see tcp_rules.py)."""
    out = []
    for px in config.proxies:
        if px.kind == "defaults" or not px.has_frontend:
            continue
        delay = _inspect_delay(px)
        for rule in px.tcp_request_content_rules:
            args = getattr(rule, "args", None)
            if not isinstance(args, track.TrackArgs):
                continue
            if not delay and track.fetch_uses(args.expr.name) is not None:
                out.append(f"{proxy_type_str(px)} '{px.name}' : a 'tcp-request content track-sc*' rule explicitly "
                           "depending on request contents without any 'tcp-request inspect-delay' setting. This "
                           "means that this rule will randomly find its contents. This can be fixed by setting the "
                           "tcp-request inspect-delay.")
            if px.mode == "http" and track.fetch_uses(args.expr.name) is None:
                out.append(f"{proxy_type_str(px)} '{px.name}' : a 'tcp-request content track-sc*' rule not depending "
                           "on request contents for an HTTP frontend should be executed at the session level, using "
                           "a 'tcp-request session' rule (mandatory to track invalid HTTP requests).")
    return out


def _inspect_delay(px: Any) -> float | None:
    from trio_lb.config.keywords.tcp_rules import inspect_delay

    return inspect_delay(px)


# ---------------------------------------------------------------- run time


@dataclass
class StickDecision:
    server_id: int | None = None  # the server a match rule assigned (None: load balance)
    pending: list[tuple[str, bytes]] = field(default_factory=list)  # (table, key) to store


Usable = Callable[[str | None, int], "int | None"]


def _default_usable(name: str | None, sid: int) -> int | None:
    return sid or None


def _applies(rule: StickRule, view: Any) -> bool:
    return rule.cond is None or eval_condition(rule.cond, view)


def _key(rule: StickRule, view: Any, tables: dict[str, Any]) -> tuple[Any, bytes] | None:
    table = tables.get(rule.table)
    if table is None:
        return None
    value = rule.expr.eval(view)
    if value is None:
        return None
    key = table.key_of(value)
    return None if key is None else (table, key)


def stick_request(rules: list[StickRule], view: Any, tables: dict[str, Any], now: float,
                  usable: Usable = _default_usable) -> StickDecision:
    """process_sticking_rules(). `usable(server_name, server_id)` returns the id of the server
    to use (found by name first, then id, and not DOWN unless `option persist`/force-persist),
    or None to keep looking."""
    decision = StickDecision()
    assigned = False
    for rule in rules:
        if rule.on_response:
            continue
        if rule.store and any(name == rule.table for name, _k in decision.pending):
            continue
        if not _applies(rule, view):
            continue
        found = _key(rule, view, tables)
        if found is None:
            continue
        table, key = found
        if rule.match:
            entry = table.lookup(key, now)
            if entry is not None:
                if not assigned:
                    sid = usable(entry.data.get("server_key"), entry.data.get("server_id") or 0)
                    if sid is not None:
                        decision.server_id, assigned = sid, True
                table.touch(entry, now)
        if rule.store and len(decision.pending) < 8:
            decision.pending.append((rule.table, key))
    return decision


def stick_match(rules: list[StickRule], view: Any, tables: dict[str, Any], now: float,
                usable: Usable = _default_usable) -> int | None:
    """The server id the stick rules assign before load balancing (None: none)."""
    return stick_request(rules, view, tables, now, usable).server_id


def stick_store(rules: list[StickRule], view: Any, tables: dict[str, Any], server_id: int, now: float,
                phase: str = "response", pending: list[tuple[str, bytes]] | None = None,
                server_name: str | None = None) -> int:
    """process_store_rules(): with phase "response", evaluate the store-response rules against
    the response view, then store <server_id>/<server_name> under every pending key (those of
    stick_request() plus the response's). phase "request" stores the request rules' keys now
    (for callers that skip the two steps). Returns how many entries were written."""
    todo = list(pending or [])
    if phase == "request" and pending is None:
        todo = stick_request([r for r in rules if r.store], view, tables, now).pending
    if phase == "response":
        nbreq = len(todo)
        for rule in rules:
            if not rule.on_response:
                continue
            if any(name == rule.table for name, _k in todo[nbreq:]):
                continue
            if not _applies(rule, view):
                continue
            found = _key(rule, view, tables)
            if found is not None and len(todo) < 8:
                todo.append((rule.table, found[1]))
    written = 0
    for name, key in todo:
        table = tables.get(name)
        if table is None or not server_id:
            continue
        entry = table.get(key, now)
        if entry is None:
            continue
        table.ensure_type("server_id")
        table.ensure_type("server_key")
        table.set(entry, "server_id", server_id, now)
        if table.spec.srvkey == "name" and server_name is not None:
            table.set(entry, "server_key", server_name, now)
        table.touch(entry, now)
        written += 1
    return written


KEYWORDS = [
    Keyword("stick-table", kw_stick_table, "dfbl"),
    Keyword("stick", kw_stick, "dfbl"),
]
