"""`http-request` rules: `use-service prometheus-exporter` now (issue 5), the others with issue 6.

    http-request use-service <service> [ { if | unless } <condition> ]

appends `model.UseService(name, cond, file, line)` to Proxy.http_services, in frontend,
backend, listen and named defaults sections (a proxy built from a named defaults section
inherits its services first, as HAProxy evaluates the defaults' rules first). The checks and
their texts are those of HAProxy 2.6's cfgparse-listen.c / http_rules.c / stream.c, in that
order: anonymous defaults, misplaced rule (warning), the service name, then the condition.
Every mistake in the rule itself aborts the parsing (ERR_ALERT | ERR_ABORT).

Every other action is refused with "'http-request' is not supported by trio-lb yet." so that
nobody believes, say, a deny rule is in force.
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword
from trio_lb.config.keywords.acl_rules import compile_condition
from trio_lb.config.model import UseService

# the services of `use-service` (a 2.6.12 build with promex lists only this one)
SERVICES = ("prometheus-exporter",)


def kw_http_request(ctx: Ctx) -> None:
    px = ctx.px
    if px.kind == "defaults" and not px.name:
        raise ctx.error("'http-request' not allowed in anonymous 'defaults' section.")
    action = ACTIONS.get(ctx.arg(1))
    if action is None:
        raise ctx.unsupported()
    action(ctx)


def _use_service(ctx: Ctx) -> None:
    px = ctx.px
    if px.use_backends:
        ctx.warn("a 'http-request' rule placed after a 'use_backend' rule will still be processed before.")
    name = ctx.arg(2)
    if not name:
        _rule_error(ctx, "'use-service' expects a service name.")
    if name not in SERVICES:
        _rule_error(ctx, f"'{name}' unknown service name.")
    cond = None
    if ctx.arg(3) in ("if", "unless"):
        try:
            cond = compile_condition(ctx, ctx.words[3:])
        except ValueError as e:
            raise ctx.error(f"error detected while parsing an 'http-request use-service' condition : {e}.",
                            abort=True) from None
    elif ctx.arg(3):
        raise ctx.error(f"'http-request use-service' expects either 'if' or 'unless' followed by a condition "
                        f"but found '{ctx.arg(3)}'.", tight=True, abort=True)
    px.http_services.append(UseService(name=name, cond=cond, file=ctx.file, line=ctx.line))


def _rule_error(ctx: Ctx, err: str) -> None:
    """parse_http_req_cond(): an action parser's error, with HAProxy's doubled final period."""
    raise ctx.error(f"error detected in {ctx.proxy_type()} '{ctx.px.name}' while parsing "
                    f"'http-request {ctx.arg(1)}' rule : {err}.", abort=True)


# action -> parser; every action not listed here is refused as not supported yet
ACTIONS = {
    "use-service": _use_service,
}

def kw_refused(ctx: Ctx) -> None:
    raise ctx.unsupported()


KEYWORDS = [
    Keyword("http-request", kw_http_request, "dfbl"),
    *(Keyword(name, kw_refused, "dfbl") for name in (
        "http-response", "http-after-response", "redirect", "capture", "errorfile", "errorfiles")),
]
