"""`tcp-request connection|content <action> [if|unless <cond>]` and `tcp-request inspect-delay`
(HAProxy 2.6's tcp_rules.c tcp_parse_tcp_req() / tcp_parse_request_rule()).

Actions are looked up in the registry (trio_lb.rules.actions) for the rule set: `accept`,
`reject` and `track-sc0..2` come from trio_lb.rules.track. HAProxy actions trio-lb lacks are
refused with "'tcp-request' is not supported by trio-lb yet."; unknown words get HAProxy's list.
Rules are `actions.Rule`s appended to Proxy.tcp_request_connection_rules / _content_rules.

trio-lb runs content rules once, on what the connection has when they run (addresses, ports,
and for HTTP the parsed request): `inspect-delay` is accepted and kept (Proxy.options holds
"tcp-request inspect-delay <ms>", read by `inspect_delay()`) but trio-lb does not wait for
more data. `tcp-request session` is not supported.
"""

from __future__ import annotations

import trio_lb.rules.track  # noqa: F401  (registers track-sc, accept, reject and the sc_* fetches)
from trio_lb.config.keywords import Alert, Ctx, Keyword, parse_time_err
from trio_lb.config.keywords.acl_rules import compile_condition
from trio_lb.rules.actions import Rule, find

_CONN_LIST = ("'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... "
              "'track-sc2', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', "
              "'sc-set-gpt0(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-dst', 'set-dst-port', "
              "'set-mark', 'set-src', 'set-src-port', 'set-tos', 'silent-drop'")
_CONT_LIST = ("'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... "
              "'track-sc2', 'ot-group', 'set-log-level', 'set-nice', 'switch-mode', 'use-service', "
              "'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', "
              "'send-spoe-group', 'do-resolve(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-src', "
              "'set-src-port', 'set-dst', 'set-dst-port', 'set-mark', 'set-tos', 'silent-drop', "
              "'set-priority-class', 'set-priority-offset'")
# HAProxy actions (prefixes for the '(*)' ones) that exist but trio-lb does not run
_KNOWN_PREFIXES = ("sc-inc-gpc", "sc-set-gpt", "set-var", "unset-var", "do-resolve")
_KNOWN = {
    "connection": {"capture", "expect-proxy", "expect-netscaler-cip", "set-dst", "set-dst-port", "set-mark",
                   "set-src", "set-src-port", "set-tos", "silent-drop"},
    "content": {"capture", "expect-proxy", "expect-netscaler-cip", "ot-group", "set-log-level", "set-nice",
                "switch-mode", "use-service", "send-spoe-group", "set-src", "set-src-port", "set-dst",
                "set-dst-port", "set-mark", "set-tos", "silent-drop", "set-priority-class",
                "set-priority-offset"},
}

_DELAY_OPT = "tcp-request inspect-delay "


def inspect_delay(px: object) -> float | None:
    """The proxy's `tcp-request inspect-delay` in seconds (None: unset)."""
    for opt in getattr(px, "options", ()):
        if opt.startswith(_DELAY_OPT):
            return int(opt[len(_DELAY_OPT):]) / 1000
    return None


def _fail(ctx: Ctx, msg: str) -> Alert:
    return ctx.error(msg)


def _where_px(ctx: Ctx) -> str:
    px = ctx.px
    return "defaults section" if px.kind == "defaults" else f"{ctx.proxy_type()} '{px.name}'"


def kw_tcp_request(ctx: Ctx) -> None:
    px = ctx.px
    sub = ctx.arg(1)
    if not sub:
        raise _fail(ctx, f"missing argument for '{ctx.kw}' in {_where_px(ctx)}")
    if sub == "inspect-delay":
        _inspect_delay(ctx)
        return
    if sub not in ("connection", "content"):
        if px.kind == "defaults":
            raise _fail(ctx, f"'{ctx.kw}' expects 'inspect-delay', 'connection', or 'content' in defaults "
                             f"section (got '{sub}')")
        raise _fail(ctx, f"'{ctx.kw}' expects 'inspect-delay', 'connection', or 'content' in "
                         f"{ctx.proxy_type()} '{px.name}' (got '{sub}')")
    if sub == "connection" and not px.has_frontend and px.kind != "defaults":
        raise _fail(ctx, f"{ctx.kw} {sub} is not allowed because {ctx.proxy_type()} {px.name} is not a frontend")
    if px.kind == "defaults" and not px.name:
        raise _fail(ctx, f"{ctx.kw} {sub} is not allowed in anonymous 'defaults' sections")
    ruleset = f"tcp-request {sub}"
    word = ctx.arg(2)
    action = find(ruleset, word) if word else None
    if action is None:
        if word in _KNOWN[sub] or word.startswith(_KNOWN_PREFIXES):
            raise ctx.unsupported()
        listing = _CONN_LIST if sub == "connection" else _CONT_LIST
        raise _fail(ctx, f"'{ctx.kw} {sub}' expects {listing} in {_where_px(ctx)} (got '{word}').\n")
    try:
        args, i = action.parse(ctx.words, 2, ctx)
    except ValueError as e:
        raise _fail(ctx, f"'{ctx.kw} {sub} {word}' : {e}") from None
    cond = None
    if ctx.arg(i) in ("if", "unless"):
        try:
            cond = compile_condition(ctx, ctx.words[i:])
        except ValueError as e:
            raise _fail(ctx, f"'{ctx.kw} {sub} {word}' : error detected in {ctx.proxy_type()} '{px.name}' while "
                             f"parsing '{ctx.arg(i)}' condition : {e}") from None
    elif ctx.arg(i):
        raise _fail(ctx, f"'{ctx.kw} {sub} {word}' only accepts 'if' or 'unless', in {ctx.proxy_type()} "
                         f"'{px.name}' (got '{ctx.arg(i)}')")
    _warn_misplaced(ctx, sub)
    rule = Rule(action=action, args=args, cond=cond, file=ctx.file, line=ctx.line)
    (px.tcp_request_connection_rules if sub == "connection" else px.tcp_request_content_rules).append(rule)


def _inspect_delay(ctx: Ctx) -> None:
    px = ctx.px
    if px.kind == "defaults" and not px.name:
        raise _fail(ctx, f"{ctx.kw} {ctx.arg(1)} is not allowed in anonymous 'defaults' sections")
    text = ctx.arg(2)
    head = f"'{ctx.kw} {ctx.arg(1)}' expects a positive delay in milliseconds, in {ctx.proxy_type()} '{px.name}'"
    if not text:
        raise _fail(ctx, head)
    res = parse_time_err(text, "ms")
    if res.overflow:
        raise _fail(ctx, f"{head} (timer overflow in '{text}', maximum value is 2147483647 ms or ~24.8 days)")
    if res.underflow:
        raise _fail(ctx, f"{head} (timer underflow in '{text}', minimum non-null value is 1 ms)")
    if res.value is None or res.trailing:
        bad = res.bad if res.bad is not None else (res.trailing or "")[:1]
        raise _fail(ctx, f"{head} (unexpected character '{bad}')")
    if inspect_delay(px):
        ctx.warn(f"ignoring {ctx.kw} {ctx.arg(1)} (was already defined) in {ctx.proxy_type()} '{px.name}'")
        return
    px.options = {o for o in px.options if not o.startswith(_DELAY_OPT)}
    if res.value:
        px.options.add(f"{_DELAY_OPT}{res.value}")


def _warn_misplaced(ctx: Ctx, sub: str) -> None:
    """warnif_misplaced_tcp_conn() / _cont(): the first rule kind this one is placed after."""
    px = ctx.px
    checks = [
        ("a 'tcp-request content'", sub == "connection" and bool(px.tcp_request_content_rules)),
        ("a 'monitor fail'", bool(px.monitor_fail)),
        ("an 'http-request'", bool(px.http_request_rules or px.http_services)),
        ("a 'redirect'", bool(px.redirects)),
        ("a 'use_backend'", bool(px.use_backends)),
    ]
    for what, hit in checks:
        if hit:
            ctx.warn(f"a '{ctx.kw}' rule placed after {what} rule will still be processed before.")
            return


KEYWORDS = [
    Keyword("tcp-request", kw_tcp_request, "dfbl"),
]
