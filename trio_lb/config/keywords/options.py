"""The `option` keyword: a second-level table, as in HAProxy.

Order of resolution (HAProxy's): the simple flag options of known.SIMPLE_OPTIONS (which honour
`no option x` and `default option x`), then the options with their own parser (log formats,
checks, HTTP connection modes, forwardfor, redispatch), then the removed ones with their
dedicated alerts. Only a few options accept the `no` prefix; the others get HAProxy's
"negation/default is not supported" alert.
"""

from __future__ import annotations

from collections.abc import Callable

from trio_lb.config.keywords import Ctx, Keyword, best_match
from trio_lb.config.keywords.checks import CHECK_OPTIONS
from trio_lb.config.keywords.known import COMMON_OPTIONS, SIMPLE_OPTIONS
from trio_lb.config.keywords.logging import LOG_OPTIONS
from trio_lb.config.keywords.proxy import PROXY_OPTIONS

_SIMPLE = {name: (cap, http) for name, cap, http in SIMPLE_OPTIONS}

# options with a dedicated model field instead of a name in Proxy.options
_FIELDS = {"dontlognull": "dontlognull", "allbackups": "allbackups"}

# handled before the "negation is not supported" check, as in HAProxy
_NEGATABLE: dict[str, Callable[[Ctx], None]] = {
    "httpclose": PROXY_OPTIONS["httpclose"],
    "http-server-close": PROXY_OPTIONS["http-server-close"],
    "http-keep-alive": PROXY_OPTIONS["http-keep-alive"],
    "redispatch": PROXY_OPTIONS["redispatch"],
}

_REMOVED = {
    "forceclose": "option 'forceclose' is not supported any more since HAProxy 2.0, please just remove "
                  "it, or use 'option httpclose' if absolutely needed.",
    "http-tunnel": "option 'http-tunnel' is not supported any more since HAProxy 2.1, please just remove "
                   "it, it shouldn't be needed.",
    "http_proxy": "option 'http_proxy' is not supported any more since HAProxy 2.5. This option stopped "
                  "working in HAProxy 1.9 and usually had nasty side effects. It can be more reliably "
                  "implemented with combinations of 'http-request set-dst' and 'http-request set-uri', "
                  "and even 'http-request do-resolve' if DNS resolution is desired.",
}


def _opt_tcpka(ctx: Ctx) -> None:
    ctx.too_many(0, 1)
    ctx.px.options.add("tcpka")


def _opt_unsupported(ctx: Ctx) -> None:
    raise ctx.unsupported(f"option {ctx.arg(1)}")


_OTHERS: dict[str, Callable[[Ctx], None]] = {
    **LOG_OPTIONS,
    **CHECK_OPTIONS,
    "forwardfor": PROXY_OPTIONS["forwardfor"],
    "tcpka": _opt_tcpka,
    "originalto": _opt_unsupported,
}


def kw_option(ctx: Ctx) -> None:
    name = ctx.arg(1)
    if not name:
        raise ctx.error("'option' expects an option name.", tight=True)
    if name in _SIMPLE:
        _simple_option(ctx, name)
        return
    if name in _REMOVED:
        raise ctx.error(_REMOVED[name], tight=True)
    if name in _NEGATABLE and (ctx.kwm != "default" or name == "redispatch"):
        _NEGATABLE[name](ctx)
        return
    if ctx.kwm != "std":
        raise ctx.error(f"negation/default is not supported for option '{name}'.", tight=True)
    handler = _OTHERS.get(name)
    if handler is None:
        best = best_match(name, [n for n, _, _ in SIMPLE_OPTIONS] + list(COMMON_OPTIONS))
        hint = f"; did you mean '{best}' maybe ?" if best else "."
        raise ctx.error(f"unknown option '{name}'{hint}")
    handler(ctx)


def _simple_option(ctx: Ctx, name: str) -> None:
    cap, _http = _SIMPLE[name]
    ctx.too_many(0, 1)
    if cap != "both" and ctx.warn_not_cap(cap, name=name):
        return
    enable = ctx.kwm == "std"
    px = ctx.px
    if name in _FIELDS:
        setattr(px, _FIELDS[name], enable)
    elif enable:
        px.options.add(name)
    else:
        px.options.discard(name)


KEYWORDS = [Keyword("option", kw_option, "dfbl")]
