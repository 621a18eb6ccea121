"""Logging keywords: `log` (global and proxies), `log-format`, `log-tag`, `log-send-hostname`,
and the log-related options (`httplog`, `httpslog`, `tcplog`, `dontlognull` is a simple option).

`parse_logger()` follows HAProxy's parse_logger(): `log <target> [len <n>] [format <f>]
[sample <r>:<s>] <facility> [<max level> [<min level>]]`, `log global`, `no log`.
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword, atol
from trio_lb.config.keywords.address import AddressError, parse_address
from trio_lb.config.model import LogTarget

TCP_LOG_FORMAT = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
HTTP_LOG_FORMAT = (
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc "
    "%ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
)
CLF_HTTP_LOG_FORMAT = (
    '%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc '
    "%ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl"
)
HTTPS_LOG_FORMAT = (
    HTTP_LOG_FORMAT
    + " %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] "
    "%[ssl_fc_sni]/%sslv/%sslc"
)

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
)
LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
FORMATS = ("local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw")


def parse_logger(ctx: Ctx, logs: list[LogTarget], in_global: bool) -> None:
    """Apply one `log` / `no log` line to `logs` (in place)."""
    try:
        _parse_logger(ctx, logs, in_global)
    except _LogError as e:
        raise ctx.error(f"log : {e}") from None


class _LogError(Exception):
    pass


def _parse_logger(ctx: Ctx, logs: list[LogTarget], in_global: bool) -> None:
    a = ctx.arg
    if ctx.kwm == "no":
        if a(1):
            raise _LogError("'no log' does not expect arguments")
        logs.clear()
        return
    if a(1) and not a(2) and a(1) == "global":
        if in_global:
            raise _LogError("'global' is not supported for a global syslog server")
        logs.extend(LogTarget(**vars(t)) for t in ctx.glob.logs)
        return
    if not a(1) or not a(2):
        raise _LogError(f"expects <address> and <facility> {'' if in_global else 'or global'} as arguments")
    target = LogTarget(kind="udp", address="")
    cur = 2
    if a(cur) == "len":
        length = atol(a(cur + 1))
        if length < 80 or length > 65535:
            raise _LogError(f"invalid log length '{a(cur + 1)}', must be between 80 and 65535")
        target.length = length
        cur += 2
    if a(cur) == "format":
        if a(cur + 1) not in FORMATS:
            raise _LogError(f"unknown log format '{a(cur + 1)}'")
        target.format = a(cur + 1)
        cur += 2
    if a(cur) == "sample":
        raise ctx.unsupported("log ... sample")
    if a(cur) not in FACILITIES:
        raise _LogError(f"unknown log facility '{a(cur)}'")
    target.facility = a(cur)
    cur += 1
    if a(cur):
        if a(cur) not in LEVELS:
            raise _LogError(f"unknown optional log level '{a(cur)}'")
        target.level = a(cur)
        cur += 1
    if a(cur):
        if a(cur) not in LEVELS:
            raise _LogError(f"unknown optional minimum log level '{a(cur)}'")
        target.min_level = a(cur)
        cur += 1
    if a(cur):
        raise _LogError(f"cannot handle unexpected argument '{a(cur)}'")
    _set_log_address(ctx, target, a(1))
    logs.append(target)


def _set_log_address(ctx: Ctx, target: LogTarget, text: str) -> None:
    std = {"stdout": "stdout", "stderr": "stderr", "fd@1": "stdout", "fd@2": "stderr"}
    if text in std:
        target.kind = std[text]  # type: ignore[assignment]
        target.address = ""
        return
    for prefix in ("ring@", "fd@", "tcp@", "tcp4@", "tcp6@", "sockpair@"):
        if text.startswith(prefix):
            raise ctx.unsupported(f"log {prefix}")
    try:
        addr = parse_address(text)
    except AddressError as e:
        raise _LogError(f"{e}{chr(10) if e.newline else ''}") from None
    if addr.family == "unix":
        target.kind = "unix"
        target.address = addr.host
        return
    if addr.port_low != addr.port_high:
        raise _LogError(f"port range not permitted here in '{text}'")
    target.kind = "udp"
    target.address = (addr.host or ("::" if addr.family == "ipv6" else "0.0.0.0"), addr.port_low or 514)


# -- keywords ------------------------------------------------------------------------------

def kw_global_log(ctx: Ctx) -> None:
    parse_logger(ctx, ctx.glob.logs, in_global=True)


def kw_proxy_log(ctx: Ctx) -> None:
    parse_logger(ctx, ctx.px.logs, in_global=False)


def kw_log_tag_global(ctx: Ctx) -> None:
    if not ctx.arg(1):
        raise ctx.error("'log-tag' expects a tag for use in syslog.")
    ctx.too_many(1)
    ctx.glob.settings["log-tag"] = ctx.arg(1)


def kw_log_send_hostname(ctx: Ctx) -> None:
    if "log-send-hostname" in ctx.glob.settings:
        ctx.alert("'log-send-hostname' already specified. Continuing.", fatal=False)
        return
    ctx.glob.settings["log-send-hostname"] = ctx.arg(1) or True


def set_log_format(ctx: Ctx, fmt: str, kw: str, backend_kw: str | None = None) -> None:
    """Record a log format and emit HAProxy's "overrides" / "ignored in backends" warnings."""
    px, notes = ctx.px, ctx.notes
    if px.kind == "defaults" and notes.logformat_kw is not None:
        ctx.warn(f"'{kw}' overrides previous '{notes.logformat_kw}' in 'defaults' section.", tight=True)
    px.log_format = fmt
    notes.logformat_kw = kw
    notes.logformat_line = (ctx.file, ctx.line)
    if px.kind == "backend":
        ctx.warn(f"backend '{px.name}' : '{backend_kw or kw}' directive is ignored in backends.")


def kw_log_format(ctx: Ctx) -> None:
    if not ctx.arg(1):
        raise ctx.error("log-format expects an argument.")
    if ctx.arg(2):
        raise ctx.error("log-format expects only one argument, don't forget to escape spaces!")
    set_log_format(ctx, ctx.arg(1), "log-format")


# -- options (called by options.py) --------------------------------------------------------

def opt_httplog(ctx: Ctx) -> None:
    fmt, kw = HTTP_LOG_FORMAT, "option httplog"
    if ctx.arg(2):
        if ctx.arg(2) != "clf":
            raise ctx.error("keyword 'httplog' only supports option 'clf'.")
        ctx.too_many(1, 1)
        fmt, kw = CLF_HTTP_LOG_FORMAT, "option httplog clf"
    set_log_format(ctx, fmt, kw, "option httplog")


def opt_httpslog(ctx: Ctx) -> None:
    set_log_format(ctx, HTTPS_LOG_FORMAT, "option httpslog")


def opt_tcplog(ctx: Ctx) -> None:
    ctx.too_many(0, 1)
    set_log_format(ctx, TCP_LOG_FORMAT, "option tcplog")


LOG_OPTIONS = {"httplog": opt_httplog, "httpslog": opt_httpslog, "tcplog": opt_tcplog}

KEYWORDS = [
    Keyword("log", kw_global_log, "g"),
    Keyword("log-tag", kw_log_tag_global, "g"),
    Keyword("log-send-hostname", kw_log_send_hostname, "g"),
    Keyword("log", kw_proxy_log, "dfbl"),
    Keyword("log-format", kw_log_format, "dfbl"),
]

