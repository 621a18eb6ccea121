"""The `bind` keyword: listening addresses and their options.

`bind <addr>[,<addr>...] [options]` where each address is `[host]:port[-end]`, `ipv4@`/`ipv6@`
prefixed, `[v6]:port`, `:::port`, or a unix socket path (`/path`, `unix@path`). A port range
or a comma list gives one model.Bind per port and address, all sharing the line's options.
trio-lb acts on `name`, `maxconn`, `v4v6`, `v6only`; every other known bind option (ssl, crt,
alpn, accept-proxy, ...) is kept in `Bind.options` for the issues that implement them (`crt` as a
list since it repeats). Messages are those of HAProxy's bind_parse_args_list().
"""

from __future__ import annotations

from typing import Any

from trio_lb.config.keywords import Ctx, Keyword, atol, best_match, is_int
from trio_lb.config.keywords.address import AddressError, parse_address
from trio_lb.config.keywords.known import BIND_KEYWORDS
from trio_lb.config.model import Bind

_REPEATABLE = {"crt"}


def kw_bind(ctx: Ctx) -> None:
    ctx.forbid_defaults()
    ctx.warn_not_cap("fe")
    spec = ctx.arg(1)
    if not spec:
        raise ctx.error("'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
    binds = _listeners(ctx, spec)
    options, name, maxconn = _options(ctx, spec)
    for b in binds:
        b.options = dict(options)
        b.name = name
        b.maxconn = maxconn
    ctx.px.binds.extend(binds)


def _listeners(ctx: Ctx, spec: str) -> list[Bind]:
    out: list[Bind] = []
    for item in spec.split(","):
        if not item:
            continue
        try:
            addr = parse_address(item, port_mandatory=True, port_range=True)
        except AddressError as e:
            raise ctx.error(f"'bind' : {e}") from None
        if addr.family == "unix":
            out.append(Bind(host=addr.host, port=0, family="unix", file=ctx.file, line=ctx.line))
            continue
        assert addr.port_low is not None and addr.port_high is not None
        for port in range(addr.port_low, addr.port_high + 1):
            out.append(Bind(host=addr.host, port=port, family=addr.family, file=ctx.file, line=ctx.line))
    return out


def _options(ctx: Ctx, spec: str) -> tuple[dict[str, Any], str | None, int]:
    where = f"'bind {spec}' in section '{ctx.section}'"
    options: dict[str, Any] = {}
    name: str | None = None
    maxconn = 0  # 0: the frontend's maxconn applies
    i = 2
    while ctx.arg(i):
        kw = ctx.arg(i)
        if kw not in BIND_KEYWORDS:
            best = best_match(kw, BIND_KEYWORDS)
            hint = f"; did you mean '{best}' maybe ?" if best else "."
            raise ctx.error(f"{where}: unknown keyword '{kw}'{hint}")
        nargs = BIND_KEYWORDS[kw]
        value = ctx.arg(i + 1) if nargs else None
        if kw == "name":
            if not value:
                raise ctx.error(f"{where} : 'name' : missing name")
            name = value
        elif kw == "maxconn":
            if not value:
                raise ctx.error(f"{where} : 'maxconn' : missing value")
            if not is_int(value):
                raise ctx.error(f"{where} : 'maxconn' : expects an integer argument, found '{value}'")
            maxconn = atol(value)
        elif kw == "id":
            options["id"] = _bind_id(ctx, where, value or "")
        elif nargs and not value:
            raise ctx.error(f"{where} : '{kw}' : missing value")
        elif kw in _REPEATABLE:
            options.setdefault(kw, []).append(value)
        else:
            options[kw] = value if nargs else True
        i += 1 + nargs
    return options, name, maxconn


def _bind_id(ctx: Ctx, where: str, value: str) -> int:
    if not value:
        raise ctx.error(f"{where} : 'id' : expects an integer argument")
    if not is_int(value, signed=True):
        raise ctx.error(f"{where} : 'id' : expects an integer argument, found '{value}'")
    n = int(value)
    if n <= 0:
        raise ctx.error(f"{where} : 'id' : custom id has to be > 0")
    for b in ctx.px.binds:
        if b.options.get("id") == n:
            raise ctx.error(f"{where} : 'id' : custom id {n} already used at {b.file}:{b.line}")
    return n


KEYWORDS = [Keyword("bind", kw_bind, "dfbl")]
