"""Proxy-level keywords common to defaults/frontend/backend/listen: mode, limits, timeouts,
ids, balance, hash-type, default_backend, retries, and the HTTP connection options.

The branches follow HAProxy's cfg_parse_listen() and proxy_parse_timeout(): capability
mismatches are warnings ("'retries' ignored because frontend 'f' has no backend capability.")
and the line is still checked; argument errors are alerts with HAProxy's words.
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword, atol, is_int, parse_time_err, to_seconds, trailing_time_warning
from trio_lb.config.model import BalanceSpec, ForwardFor

# timeout name -> (Timeouts attribute, capability it needs)
TIMEOUTS: dict[str, tuple[str, str]] = {
    "client": ("client", "fe"),
    "tarpit": ("tarpit", "both"),
    "http-keep-alive": ("http_keep_alive", "both"),
    "http-request": ("http_request", "both"),
    "server": ("server", "be"),
    "connect": ("connect", "be"),
    "check": ("check", "be"),
    "queue": ("queue", "be"),
    "tunnel": ("tunnel", "be"),
    "client-fin": ("client_fin", "fe"),
    "server-fin": ("server_fin", "be"),
}


def _has_cap(ctx: Ctx, cap: str) -> bool:
    px = ctx.px
    if px.kind == "defaults" or cap == "both":
        return True
    return px.has_frontend if cap == "fe" else px.has_backend


def kw_mode(ctx: Ctx) -> None:
    ctx.too_many(1)
    mode = ctx.arg(1)
    if mode == "health":
        raise ctx.error("'mode health' doesn't exist anymore. Please use 'http-request return status 200' instead.")
    if mode == "log" and ctx.px.has_backend:
        raise ctx.unsupported("mode log")
    if mode not in ("http", "tcp"):
        raise ctx.error(f"unknown proxy mode '{mode}'.")
    ctx.px.mode = mode  # type: ignore[assignment]


def kw_maxconn(ctx: Ctx) -> None:
    ctx.warn_not_cap("fe", " Maybe you want 'fullconn' instead ?")
    if not ctx.arg(1):
        raise ctx.error("'maxconn' expects an integer argument.")
    ctx.px.maxconn = _strict_int(ctx, ctx.arg(1))
    ctx.too_many(1)


def kw_fullconn(ctx: Ctx) -> None:
    ctx.warn_not_cap("be", " Maybe you want 'maxconn' instead ?")
    if not ctx.arg(1):
        raise ctx.error("'fullconn' expects an integer argument.")
    ctx.px.fullconn = _strict_int(ctx, ctx.arg(1))
    ctx.too_many(1)


def kw_backlog(ctx: Ctx) -> None:
    ctx.warn_not_cap("fe")
    if not ctx.arg(1):
        raise ctx.error("'backlog' expects an integer argument.")
    _strict_int(ctx, ctx.arg(1))
    ctx.too_many(1)
    raise ctx.unsupported()


def _strict_int(ctx: Ctx, text: str) -> int:
    """HAProxy uses atol() and would take "12a" as 12; trio-lb refuses such typos."""
    if not is_int(text):
        raise ctx.error(f"'{ctx.kw}' expects an integer argument.")
    return atol(text)


def kw_retries(ctx: Ctx) -> None:
    ctx.warn_not_cap("be")
    ctx.too_many(1)
    if not ctx.arg(1):
        raise ctx.error("'retries' expects an integer argument (dispatch counts for one).")
    if not is_int(ctx.arg(1)):
        raise ctx.error("'retries' expects an integer argument (dispatch counts for one).")
    ctx.px.retries = int(ctx.arg(1))


def kw_default_backend(ctx: Ctx) -> None:
    ctx.warn_not_cap("fe")
    if not ctx.arg(1):
        raise ctx.error("'default_backend' expects a backend name.")
    ctx.px.default_backend = ctx.arg(1)
    ctx.too_many(1)


def kw_id(ctx: Ctx) -> None:
    ctx.forbid_defaults(tight=True)
    ctx.too_many(1)
    if not ctx.arg(1):
        raise ctx.error("'id' expects an integer argument.", tight=True)
    value = atol(ctx.arg(1))
    if value <= 0:
        raise ctx.error("custom id has to be > 0.", tight=True)
    ctx.state.claim_proxy_id(ctx, value)


def kw_description(ctx: Ctx) -> None:
    ctx.forbid_defaults(tight=True)
    if not ctx.arg(1):
        raise ctx.error("'description' expects a string argument.", tight=True)
    words = []
    for w in ctx.words[1:]:
        if not w:
            break
        words.append(w)
    ctx.px.stats["description"] = " ".join(words)


def kw_disabled(ctx: Ctx) -> None:
    ctx.too_many(0)
    ctx.px.disabled = True


def kw_enabled(ctx: Ctx) -> None:
    ctx.too_many(0)
    ctx.px.disabled = False


def kw_timeout(ctx: Ctx) -> None:
    name = ctx.arg(1)
    if name not in TIMEOUTS:
        raise ctx.error("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', "
                        "'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and "
                        f"'server-fin' (got '{name}')")
    attr, cap = TIMEOUTS[name]
    text = ctx.arg(2)
    if not text:
        raise ctx.error(f"'timeout {name}' expects an integer value (in milliseconds)")
    res = parse_time_err(text)
    if res.overflow:
        raise ctx.error(f"timer overflow in argument '{text}' to 'timeout {name}' "
                        "(maximum value is 2147483647 ms or ~24.8 days)")
    if res.underflow:
        raise ctx.error(f"timer underflow in argument '{text}' to 'timeout {name}' "
                        "(minimum non-null value is 1 ms)")
    if res.value is None:
        raise ctx.error(f"unexpected character '{res.bad}' in 'timeout {name}'")
    trailing_time_warning(ctx, text, res)
    value = to_seconds(res.value) if res.value else None
    px = ctx.px
    if not _has_cap(ctx, cap):
        other = "backend" if cap == "be" else "frontend"
        ctx.warn(f"'timeout {name}' will be ignored because {ctx.proxy_type()} '{px.name}' "
                 f"has no {other} capability")
    elif px.kind != "defaults":
        inherited = getattr(ctx.state.defaults_for(px).timeouts, attr) if ctx.state.defaults_for(px) else None
        if getattr(px.timeouts, attr) != inherited:
            ctx.warn(f"overwriting 'timeout {name}' which was already specified")
    if ctx.arg(3):
        raise ctx.error(f"'timeout {name}' : unexpected extra argument '{ctx.arg(3)}' after value '{text}'.")
    setattr(px.timeouts, attr, value)


# -- balance / hash-type -------------------------------------------------------------------

def kw_balance(ctx: Ctx) -> None:
    ctx.warn_not_cap("be")
    args = ctx.words[1:]
    try:
        ctx.px.balance = parse_balance(args, ctx.px.balance)
    except _BalanceError as e:
        raise ctx.error(f"balance {e}") from None
    except _BalanceUnsupported as e:
        raise ctx.unsupported(f"balance {e}") from None


class _BalanceError(Exception):
    pass


class _BalanceUnsupported(Exception):
    pass


def _arg(args: list[str], i: int) -> str:
    return args[i] if i < len(args) else ""


def parse_balance(args: list[str], current: BalanceSpec) -> BalanceSpec:
    """backend_parse_balance(): a new BalanceSpec keeping the hash-type settings of `current`."""
    spec = BalanceSpec(hash_type=current.hash_type, hash_function=current.hash_function,
                       hash_avalanche=current.hash_avalanche)
    algo = _arg(args, 0)
    if algo in ("", "roundrobin", "static-rr", "first", "leastconn", "source"):
        spec.algo = algo or "roundrobin"
    elif algo.startswith("random"):
        spec.algo = "random"
        spec.random_draws = _random_draws(algo)
    elif algo == "uri":
        spec.algo = "uri"
        _balance_uri(args, spec)
    elif algo == "url_param":
        if not _arg(args, 1):
            raise _BalanceError("url_param requires an URL parameter name.")
        if _arg(args, 2) and _arg(args, 2) != "check_post":
            raise _BalanceError(f"url_param only accepts 'check_post' modifier (got '{_arg(args, 2)}').")
        if _arg(args, 2):
            raise _BalanceUnsupported("url_param ... check_post")
        spec.algo, spec.param = "url_param", _arg(args, 1)
    elif algo.startswith("hdr("):
        name = algo[4:].split(")", 1)[0] if ")" in algo[4:] else ""
        if not name:
            raise _BalanceError("hdr requires an http header field name.")
        if _arg(args, 1) and _arg(args, 1) != "use_domain_only":
            raise _BalanceError(f"{algo} only accepts 'use_domain_only' modifier (got '{_arg(args, 1)}').")
        spec.algo, spec.param = "hdr", name
        spec.use_domain_only = bool(_arg(args, 1))
    elif algo.startswith("rdp-cookie"):
        rest = algo[len("rdp-cookie"):]
        if rest and (not rest.startswith("(") or ")" not in rest or rest == "()"):
            raise _BalanceError("rdp-cookie : missing cookie name.")
        raise _BalanceUnsupported("rdp-cookie")
    elif algo == "hash":
        if not _arg(args, 1):
            raise _BalanceError("hash requires a sample expression.")
        raise _BalanceUnsupported("hash")
    else:
        raise _BalanceError("only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', "
                            "'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.")
    return spec


def _random_draws(algo: str) -> int:
    rest = algo[len("random"):]
    if not rest.startswith("(") or rest == "()":
        return 2
    inner = rest[1:]
    digits = len(inner) - len(inner.lstrip("0123456789"))
    value = int(inner[:digits]) if digits else 0
    after = inner[digits:]
    if not after.startswith(")"):
        if not after:
            raise _BalanceError("random : missing closing parenthesis.")
        raise _BalanceError(f"random : unexpected character '{after[0]}' after argument.")
    if value < 1:
        raise _BalanceError("random : number of draws must be at least 1.")
    return value


def _balance_uri(args: list[str], spec: BalanceSpec) -> None:
    i = 1
    while _arg(args, i):
        word = _arg(args, i)
        if word in ("len", "depth"):
            value = _arg(args, i + 1)
            if not value or atol(value) <= 0:
                raise _BalanceError(f"uri : '{word}' expects a positive integer (got '{value}').")
            if word == "len":
                spec.uri_len = atol(value)
            else:
                spec.uri_depth = atol(value)
            i += 2
        elif word == "whole":
            spec.uri_whole = True
            i += 1
        elif word == "path-only":
            spec.uri_path_only = True
            i += 1
        else:
            raise _BalanceError("uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' "
                                f"(got '{word}').")


HASH_FUNCTIONS = ("sdbm", "djb2", "wt6", "crc32")


def kw_hash_type(ctx: Ctx) -> None:
    ctx.warn_not_cap("be")
    method, func, modifier = ctx.arg(1), ctx.arg(2), ctx.arg(3)
    if method == "avalanche":
        raise ctx.error("experimental feature 'hash-type avalanche' is not supported anymore, "
                        "please use 'hash-type map-based sdbm avalanche' instead.")
    if method not in ("consistent", "map-based"):
        raise ctx.error("'hash-type' only supports 'consistent' and 'map-based'.")
    bal = ctx.px.balance
    if not func:
        func, avalanche = "sdbm", method == "consistent"
    else:
        if func not in HASH_FUNCTIONS:
            raise ctx.error("'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.")
        if modifier and modifier != "avalanche":
            raise ctx.error("'hash-type' only supports 'avalanche' as a modifier for hash functions.")
        avalanche = modifier == "avalanche"
    bal.hash_type = method  # type: ignore[assignment]
    bal.hash_function = func
    bal.hash_avalanche = avalanche


# -- options handled here (called from options.py) -----------------------------------------

def opt_redispatch(ctx: Ctx) -> None:
    if ctx.warn_not_cap("be", name="redispatch"):
        return
    if ctx.kwm != "std":
        ctx.px.redispatch = False
        ctx.px.options = {o for o in ctx.px.options if not o.startswith("redispatch ")}
        return
    ctx.px.redispatch = True
    # `option redispatch <interval>`: model.Proxy has no field for the interval yet; it is
    # kept in Proxy.options as "redispatch <n>" (absent = -1, i.e. only on the last retry).
    ctx.px.options = {o for o in ctx.px.options if not o.startswith("redispatch ")}
    if ctx.arg(2) and atol(ctx.arg(2)) != -1:
        ctx.px.options.add(f"redispatch {atol(ctx.arg(2))}")


_HTTP_MODES = {"httpclose": "close", "http-server-close": "server-close", "http-keep-alive": "keep-alive"}


def opt_http_mode(ctx: Ctx) -> None:
    ctx.too_many(0, 1)
    mode = _HTTP_MODES[ctx.arg(1)]
    if ctx.kwm == "std":
        ctx.px.http_conn_mode = mode  # type: ignore[assignment]
    elif ctx.px.http_conn_mode == mode:
        ctx.px.http_conn_mode = "keep-alive"


def opt_forwardfor(ctx: Ctx) -> None:
    """option forwardfor [except <net>] [header <name>] [if-none] (proxy_http_parse_xff)."""
    ff = ForwardFor()
    i = 2
    while ctx.arg(i):
        word = ctx.arg(i)
        if word == "except":
            if not ctx.arg(i + 1):
                raise ctx.error("'option forwardfor except' expects <address>[/mask] as argument.")
            ff.except_net = _network(ctx, ctx.arg(i + 1))
            i += 2
        elif word == "header":
            if not ctx.arg(i + 1):
                raise ctx.error("'option forwardfor header' expects <header_name> as argument.")
            ff.header = ctx.arg(i + 1)
            i += 2
        elif word == "if-none":
            ff.if_none = True
            i += 1
        else:
            raise ctx.error("'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.")
    ctx.px.forwardfor = ff


def _network(ctx: Ctx, text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise ctx.error(f"'option forwardfor except' : invalid address or mask '{text}'.") from None


PROXY_OPTIONS = {
    "redispatch": opt_redispatch,
    "httpclose": opt_http_mode,
    "http-server-close": opt_http_mode,
    "http-keep-alive": opt_http_mode,
    "forwardfor": opt_forwardfor,
}

KEYWORDS = [
    Keyword("mode", kw_mode, "dfbl"),
    Keyword("maxconn", kw_maxconn, "dfbl"),
    Keyword("fullconn", kw_fullconn, "dfbl"),
    Keyword("backlog", kw_backlog, "dfbl"),
    Keyword("retries", kw_retries, "dfbl"),
    Keyword("default_backend", kw_default_backend, "dfbl"),
    Keyword("id", kw_id, "dfbl"),
    Keyword("description", kw_description, "dfbl"),
    Keyword("disabled", kw_disabled, "dfbl"),
    Keyword("enabled", kw_enabled, "dfbl"),
    Keyword("timeout", kw_timeout, "dfbl"),
    Keyword("balance", kw_balance, "dfbl"),
    Keyword("hash-type", kw_hash_type, "dfbl"),
]
