"""ACLs, `use_backend`, and the rule keywords trio-lb does not implement yet.

`acl <name> <criterion...>` is compiled by trio_lb.rules.acl.parse_acl() and appended to
Proxy.acls[name] (same-name lines are OR-ed). `use_backend <name> [if|unless <cond>]` compiles
its condition with trio_lb.rules.cond.parse_condition() against the proxy's ACLs. Both turn the
compilers' ValueError into HAProxy's alert wording.

Every rule keyword a later issue will implement (http-request, tcp-request, redirect, stick,
cookie, errorfile, ...) is refused with "'<kw>' is not supported by trio-lb yet." so that nobody
believes, say, a deny rule is active. Keywords HAProxy itself removed get HAProxy's own message.
"""

from __future__ import annotations

from trio_lb.config.keywords import Alert, Ctx, Keyword
from trio_lb.config.model import UseBackend

def kw_acl(ctx: Ctx) -> None:
    px = ctx.px
    if px.kind == "defaults" and not px.name:
        raise ctx.error("'acl' not allowed in anonymous 'defaults' section.")
    from trio_lb.rules.acl import parse_acl

    try:
        acl = parse_acl(ctx.words[1:])
    except ValueError as e:
        raise ctx.error(str(e)) from None
    _emit_warnings(ctx, acl)
    px.acls.setdefault(ctx.arg(1), []).append(acl)


def _emit_warnings(ctx: Ctx, acl: object) -> None:
    """HAProxy prints an ACL's warnings without a location prefix."""
    for text in getattr(acl, "warnings", ()):
        ctx.state.diag.warn(text[:-1] if text.endswith("\n") else text)


def compile_condition(ctx: Ctx, words: list[str]):  # noqa: ANN201 - returns model.Condition
    """Compile `if|unless ...` words against the current proxy's ACLs (ValueError on error)."""
    from trio_lb.rules.cond import parse_condition

    cond = parse_condition(words, ctx.px.acls)
    for suite in cond.terms:
        for _neg, acl in suite:
            if not getattr(acl, "name", "x"):  # anonymous `{ ... }` ACLs warn here
                _emit_warnings(ctx, acl)
    return cond


def kw_use_backend(ctx: Ctx) -> None:
    ctx.forbid_defaults()
    ctx.warn_not_cap("fe")
    name = ctx.arg(1)
    if not name:
        raise ctx.error("'use_backend' expects a backend name.")
    cond = None
    if ctx.arg(2) in ("if", "unless"):
        try:
            cond = compile_condition(ctx, ctx.words[2:])
        except ValueError as e:
            raise ctx.error(f"error detected while parsing switching rule : {e}.") from None
    elif ctx.arg(2):
        raise ctx.error(f"unexpected keyword '{ctx.arg(2)}' after switching rule, only 'if' and "
                        "'unless' are allowed.")
    fmt = None
    if "%[" in name:  # a backend named per request (HAProxy's dynamic use_backend)
        from trio_lb.rules.expr import ParseCtx, compile_fmt

        try:
            fmt = compile_fmt(name, ParseCtx(proxy=ctx.px, file=ctx.file, line=ctx.line))
        except ValueError as e:
            # HAProxy writes this one with a capital "Parsing" (cfgparse.c, check_config_validity)
            raise Alert(f"Parsing [{ctx.file}:{ctx.line}]: failed to parse use_backend rule '{name}' : {e}.") from None
    ctx.px.use_backends.append(UseBackend(backend=name, cond=cond, file=ctx.file, line=ctx.line, fmt=fmt))


def kw_http_reuse(ctx: Ctx) -> None:
    """Accepted and validated; the mode is kept in Proxy.options as "http-reuse <mode>"."""
    ctx.warn_not_cap("be")
    mode = ctx.arg(1)
    if mode not in ("never", "safe", "aggressive", "always"):
        raise ctx.error("'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.")
    ctx.too_many(0, 1)
    px = ctx.px
    px.options = {o for o in px.options if not o.startswith("http-reuse ")}
    px.options.add(f"http-reuse {mode}")


def kw_later(ctx: Ctx) -> None:
    raise ctx.unsupported()


# Keywords HAProxy 2.6 removed, with HAProxy's messages ("tight" = no space before the colon).
_REMOVED: dict[str, tuple[str, bool]] = {
    "clitimeout": ("the 'clitimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout client'.", False),
    "contimeout": ("the 'contimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout connect'.", False),
    "srvtimeout": ("the 'srvtimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout server'.", False),
    "block": ("The 'block' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' "
              "which uses the exact same syntax.", False),
    "grace": ("the 'grace' keyword is not supported any more since HAProxy version 2.5.", True),
    "appsession": ("'appsession' is not supported anymore since HAProxy 1.6.", False),
    "redispatch": ("keyword 'redispatch' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'.", False),
    "redisp": ("keyword 'redisp' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'.", False),
    "reqdel": ("The 'reqdel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead.", False),
    "reqdeny": ("The 'reqdeny' not supported anymore since HAProxy 2.1. Use 'http-request deny' instead.", False),
    "reqpass": ("The 'reqpass' not supported anymore since HAProxy 2.1.", False),
    "reqallow": ("The 'reqallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead.", False),
    "reqtarpit": ("The 'reqtarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead.", False),
    "reqirep": ("The 'reqirep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-header' instead.", False),
    "reqidel": ("The 'reqidel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead.", False),
    "reqideny": ("The 'reqideny' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' instead.", False),
    "reqipass": ("The 'reqipass' directive is not supported anymore since HAProxy 2.1.", False),
    "reqiallow": ("The 'reqiallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead.", False),
    "reqitarpit": ("The 'reqitarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead.", False),
    "reqadd": ("The 'reqadd' directive is not supported anymore since HAProxy 2.1. Use 'http-request add-header' instead.", False),
    "rspdel": ("The 'rspdel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' .", False),
    "rspdeny": ("The 'rspdeny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead.", False),
    "rspirep": ("The 'rspirep' directive is not supported anymore since HAProxy 2.1. Use 'http-response replace-header' instead.", False),
    "rspidel": ("The 'rspidel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' instead.", False),
    "rspideny": ("The 'rspideny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead.", False),
    "rspadd": ("The 'rspadd' directive is not supported anymore since HAProxy 2.1. Use 'http-response add-header' instead.", False),
}
for _kw in ("reqrep", "cliexp"):
    _REMOVED[_kw] = (f"The '{_kw}' directive is not supported anymore since HAProxy 2.1. Use 'http-request "
                     "replace-path', 'http-request replace-uri' or 'http-request replace-header' instead.", False)
for _kw in ("rsprep", "srvexp"):
    _REMOVED[_kw] = (f"The '{_kw}' directive is not supported anymore since HAProxy 2.1. Use 'http-response "
                     "replace-header' instead.", False)


def kw_removed(ctx: Ctx) -> None:
    msg, tight = _REMOVED[ctx.kw]
    raise ctx.error(msg, tight=tight)


def kw_monitor_net(ctx: Ctx) -> None:
    raise ctx.error(f"'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 if "
                    f"{{ src {ctx.arg(1)} }}' instead.")


def kw_bind_process(ctx: Ctx) -> None:
    ctx.warn("'bind-process' has no effect, is deprecated, and will be removed in version 2.7.", tight=True)


# Rule and persistence keywords for later issues.
LATER = (
    "tcp-response", "use-server", "dynamic-cookie-key", "errorloc", "errorloc302", "errorloc303",
    "http-error", "compression", "filter", "unique-id-format",
    "unique-id-header", "http-send-name-header", "source", "usesrc", "dispatch", "server-template",
    "email-alert", "persist", "max-keep-alive-queue", "rate-limit", "retry-on", "declare",
    "use-fcgi-app", "external-check", "load-server-state-from-file", "server-state-file-name",
    "max-session-srv-conns", "hash-balance-factor", "log-format-sd", "error-log-format", "log-tag",
    "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl", "srvtcpka-cnt", "srvtcpka-idle",
    "srvtcpka-intvl", "transparent", "log-balance",
)

KEYWORDS = [
    Keyword("acl", kw_acl, "dfbl"),
    Keyword("use_backend", kw_use_backend, "dfbl"),
    Keyword("http-reuse", kw_http_reuse, "dfbl"),
    Keyword("monitor-net", kw_monitor_net, "dfbl"),
    Keyword("bind-process", kw_bind_process, "dfbl"),
    *(Keyword(name, kw_removed, "dfbl") for name in _REMOVED),
    *(Keyword(name, kw_later, "dfbl") for name in LATER),
]
