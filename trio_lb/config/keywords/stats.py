"""The proxy `stats` keyword (the HTTP statistics page), stored in Proxy.stats for the stats issue.

Keys written (all optional): "enable" (True), "uri" (str), "realm" (str), "refresh" (seconds),
"auth" (list of "user:password"), "scope" (list of proxy names), "admin" (list of compiled
model.Condition), "hide-version", "show-legends", "show-modules" (True), "show-node" (str, ""
for the global node name), "show-desc" (str, "" for the global description).
As in HAProxy, a proxy inherits the stats settings of its defaults section until its first own
`stats` line, which starts from scratch.
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword, parse_time_err, to_seconds
from trio_lb.config.keywords.acl_rules import compile_condition

_EXPECTS = ("expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', "
            "'show-desc' or 'show-legends'.")

# keys that are not stats-page settings and survive the detach from defaults
_NOT_STATS = ("description",)


def kw_stats(ctx: Ctx) -> None:
    px = ctx.px
    notes = ctx.notes
    if px.kind != "defaults" and not notes.stats_own:
        for key in list(px.stats):
            if key not in _NOT_STATS:
                del px.stats[key]
        notes.stats_own = True
    sub = ctx.arg(1)
    handler = _SUB.get(sub)
    if handler is None:
        what = "unknown stats parameter" if sub else "missing keyword in"
        raise ctx.error(f"{what} '{sub or ctx.kw}', {_EXPECTS}", tight=True)
    handler(ctx)


def _enable(ctx: Ctx) -> None:
    ctx.px.stats["enable"] = True


def _text(key: str, msg: str):  # noqa: ANN202 - small factory
    def handler(ctx: Ctx) -> None:
        if not ctx.arg(2):
            raise ctx.error(msg)
        ctx.px.stats[key] = ctx.arg(2)
        ctx.px.stats["enable"] = True
    return handler


def _listed(key: str, msg: str):  # noqa: ANN202 - small factory
    def handler(ctx: Ctx) -> None:
        if not ctx.arg(2):
            raise ctx.error(msg)
        ctx.px.stats.setdefault(key, []).append(ctx.arg(2))
        ctx.px.stats["enable"] = True
    return handler


def _flag(key: str):  # noqa: ANN202 - small factory
    def handler(ctx: Ctx) -> None:
        ctx.px.stats[key] = True
        ctx.px.stats["enable"] = True
    return handler


def _refresh(ctx: Ctx) -> None:
    text = ctx.arg(2)
    res = parse_time_err(text, "s")
    if res.overflow:
        raise ctx.error(f"timer overflow in argument <{text}> to stats refresh interval, maximum value is "
                        "2147483647 s (~68 years).", tight=True)
    if res.underflow:
        raise ctx.error(f"timer underflow in argument <{text}> to stats refresh interval, minimum non-null "
                        "value is 1 s.", tight=True)
    if res.value is None:
        raise ctx.error(f"unexpected character '{res.bad}' in argument to stats refresh interval.", tight=True)
    ctx.px.stats["refresh"] = to_seconds(res.value, "s")
    ctx.px.stats["enable"] = True


def _admin(ctx: Ctx) -> None:
    ctx.forbid_defaults(tight=True, what="stats admin")
    if ctx.arg(2) not in ("if", "unless"):
        raise ctx.error("'stats admin' requires either 'if' or 'unless' followed by a condition.")
    try:
        cond = compile_condition(ctx, ctx.words[2:])
    except ValueError as e:
        raise ctx.error(f"error detected while parsing a 'stats admin' rule : {e}.") from None
    ctx.px.stats.setdefault("admin", []).append(cond)
    ctx.px.stats["enable"] = True


def _show_node(ctx: Ctx) -> None:
    name = ctx.arg(2)
    if name and not all(c.isascii() and (c.isalnum() or c in "_-.") for c in name):
        raise ctx.error("'stats show-node' invalid node name - should be a stringwith digits(0-9), "
                        "letters(A-Z, a-z), hyphen(-) or underscode(_).", tight=True)
    ctx.px.stats["show-node"] = name
    ctx.px.stats["enable"] = True


def _show_desc(ctx: Ctx) -> None:
    words = []
    for w in ctx.words[2:]:
        if not w:
            break
        words.append(w)
    if not words and not ctx.glob.description:
        ctx.warn("'show-desc' requires a parameter or 'desc' to be set in the global section.", tight=True)
        return
    ctx.px.stats["show-desc"] = " ".join(words)
    ctx.px.stats["enable"] = True


def _http_request(ctx: Ctx) -> None:
    raise ctx.unsupported("stats http-request")


_SUB = {
    "enable": _enable,
    "uri": _text("uri", "'uri' needs an URI prefix."),
    "realm": _text("realm", "'realm' needs an realm name."),
    "auth": _listed("auth", "'auth' needs a user:password account."),
    "scope": _listed("scope", "'scope' needs a proxy name."),
    "refresh": _refresh,
    "admin": _admin,
    "hide-version": _flag("hide-version"),
    "show-legends": _flag("show-legends"),
    "show-modules": _flag("show-modules"),
    "show-node": _show_node,
    "show-desc": _show_desc,
    "http-request": _http_request,
}

KEYWORDS = [Keyword("stats", kw_stats, "dfbl")]
