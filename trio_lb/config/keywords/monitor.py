"""`monitor-uri <uri>` and `monitor fail if|unless <cond>` (the load balancer's own health endpoint).

Stored in Proxy.monitor_uri and Proxy.monitor_fail (a list of compiled model.Condition, checked in
order by trio_lb.http.monitor). As in HAProxy's cfgparse-listen.c: `monitor-uri` is inherited from
a defaults section and replaced by a later line; `monitor` is refused in defaults; both only warn
(and still apply) on a proxy without frontend capability. Messages are haproxy -c's.
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword
from trio_lb.config.keywords.acl_rules import compile_condition


def kw_monitor_uri(ctx: Ctx) -> None:
    ctx.warn_not_cap("fe")
    ctx.too_many(1)
    if not ctx.arg(1):
        raise ctx.error(f"'{ctx.kw}' expects an URI.")
    ctx.px.monitor_uri = ctx.arg(1)


def kw_monitor(ctx: Ctx) -> None:
    ctx.forbid_defaults()
    ctx.warn_not_cap("fe")
    if ctx.arg(1) != "fail":
        raise ctx.error(f"'{ctx.kw}' only supports 'fail'.")
    if ctx.arg(2) not in ("if", "unless"):
        raise ctx.error(f"'{ctx.kw} {ctx.arg(1)}' requires either 'if' or 'unless' followed by a condition.")
    try:
        cond = compile_condition(ctx, ctx.words[2:])
    except ValueError as e:
        raise ctx.error(f"error detected while parsing a '{ctx.kw} {ctx.arg(1)}' condition : {e}.") from None
    ctx.px.monitor_fail.append(cond)


KEYWORDS = [
    Keyword("monitor", kw_monitor, "dfbl"),
    Keyword("monitor-uri", kw_monitor_uri, "dfbl"),
]
