"""`global` section keywords.

Each parser mirrors the corresponding branch of HAProxy's cfg_parse_global() (same argument
checks, same messages). Values with a home in model.Global go there; accepted settings without
one are kept in `Global.settings` under the keyword's name (raw words for the TLS ones, which a
later issue consumes). Process-management keywords trio-lb cannot honour unprivileged (user,
group, uid, gid, chroot) are accepted with a warning.
"""

from __future__ import annotations

import re

from trio_lb.config.keywords import (
    Ctx,
    Keyword,
    atol,
    is_int,
    parse_time_err,
    to_seconds,
    trailing_time_warning,
)
from trio_lb.config.keywords.address import AddressError, parse_address
from trio_lb.config.model import StatsSocket

MAX_THREADS = 64
_NODE = re.compile(r"^[A-Za-z0-9._-]+$")


def _already(ctx: Ctx, key: str, msg: str | None = None, tight: bool = False, fatal: bool = False) -> bool:
    """HAProxy keeps the first value of some keywords and alerts (non-fatally) on the next ones."""
    seen = ctx.state.global_seen
    if key in seen:
        ctx.alert(msg or f"'{ctx.kw}' already specified. Continuing.", tight=tight, fatal=fatal)
        return True
    seen.add(key)
    return False


def _int_arg(ctx: Ctx, msg: str, maxarg: int = 1) -> int:
    """The usual `<kw> <integer>` form: too many args first, then "expects an integer"."""
    ctx.too_many(maxarg)
    text = ctx.arg(1)
    if not text or not is_int(text, signed=True):
        raise ctx.error(msg)
    return atol(text)


def kw_daemon(ctx: Ctx) -> None:
    ctx.too_many(0)
    ctx.glob.daemon = True


def kw_maxconn(ctx: Ctx) -> None:
    ctx.too_many(1)
    if _already(ctx, "maxconn"):
        return
    ctx.glob.maxconn = _int_arg(ctx, "'maxconn' expects an integer argument.")


def kw_nbthread(ctx: Ctx) -> None:
    ctx.too_many(1)
    text = ctx.arg(1)
    if not is_int(text):
        raise ctx.error(f"'nbthread' passed a missing or unparsable integer value in '{text}'")
    n = int(text)
    if n < 1 or n > MAX_THREADS:
        raise ctx.error(f"'nbthread' value must be between 1 and {MAX_THREADS} (was {n})")
    ctx.glob.nbthread = n


def kw_nbproc(ctx: Ctx) -> None:
    raise ctx.error("nbproc is not supported any more since HAProxy 2.5. Threads will "
                    "automatically be used on multi-processor machines if available.")


def kw_pidfile(ctx: Ctx) -> None:
    ctx.too_many(1)
    if _already(ctx, "pidfile"):
        return
    if not ctx.arg(1):
        raise ctx.error("'pidfile' expects a file name as an argument.")
    ctx.glob.pidfile = ctx.arg(1)


def kw_node(ctx: Ctx) -> None:
    ctx.too_many(1)
    if not _NODE.match(ctx.arg(1)):
        raise ctx.error("'node' requires valid node name - non-empty string with digits(0-9), "
                        "letters(A-Z, a-z), dot(.), hyphen(-) or underscode(_).", tight=True)
    ctx.glob.node = ctx.arg(1)


def kw_description(ctx: Ctx) -> None:
    if not ctx.arg(1):
        raise ctx.error("'description' expects a string argument.", tight=True)
    ctx.glob.description = " ".join(_until_empty(ctx.words[1:]))


def _until_empty(words: list[str]) -> list[str]:
    """HAProxy stops reading arguments at the first empty one."""
    out = []
    for w in words:
        if not w:
            break
        out.append(w)
    return out


def kw_hard_stop_after(ctx: Ctx) -> None:
    text = ctx.arg(1)
    if not text:
        raise ctx.error("'hard-stop-after' expects <time> as argument.\n")
    res = parse_time_err(text)
    if res.overflow:
        raise ctx.error(f"timer overflow in argument '{text}' to 'hard-stop-after' "
                        "(maximum value is 2147483647 ms or ~24.8 days)")
    if res.value is None:
        raise ctx.error(f"unexpected character '{res.bad}' in argument to <hard-stop-after>.\n")
    trailing_time_warning(ctx, text, res)
    ctx.glob.hard_stop_after = to_seconds(res.value)


def kw_spread_checks(ctx: Ctx) -> None:
    ctx.too_many(1)
    if _already(ctx, "spread-checks", "spread-checks already specified. Continuing.", tight=True):
        return
    text = ctx.arg(1)
    if not text:
        raise ctx.error("'spread-checks' expects an integer argument (0..50).", tight=True)
    n = atol(text)
    if not is_int(text) or n > 50:
        raise ctx.error("'spread-checks' needs a positive value in range 0..50.", tight=True)
    ctx.glob.settings["spread-checks"] = n


def kw_tune_bufsize(ctx: Ctx) -> None:
    ctx.too_many(1)
    text = ctx.arg(1)
    if not is_int(text) or int(text) <= 0:
        raise ctx.error("'tune.bufsize' expects a positive integer argument.")
    ctx.glob.tune_bufsize = int(text)


def kw_tune_maxrewrite(ctx: Ctx) -> None:
    ctx.glob.settings["tune.maxrewrite"] = _int_arg(ctx, "'tune.maxrewrite' expects an integer argument.")


def kw_tune_maxhdr(ctx: Ctx) -> None:
    ctx.too_many(1)
    text = ctx.arg(1)
    if not is_int(text) or not 1 <= int(text) <= 32767:
        raise ctx.error("'tune.http.maxhdr' expects a numeric value between 1 and 32767")
    ctx.glob.tune_maxhdr = int(text)


def kw_tune_int(ctx: Ctx) -> None:
    """Performance knobs taking an integer: accepted, kept, not acted upon."""
    ctx.too_many(1)
    if ctx.kw in _ONCE and _already(ctx, ctx.kw):
        return
    ctx.glob.settings[ctx.kw] = _int_arg(ctx, f"'{ctx.kw}' expects an integer argument.")


_ONCE = ("tune.maxaccept", "tune.maxpollevents")


def kw_tune_raw(ctx: Ctx) -> None:
    """Other tune.* knobs: kept as raw words."""
    ctx.glob.settings[ctx.kw] = ctx.words[1:]


def kw_dh_param(ctx: Ctx) -> None:
    text = ctx.arg(1)
    if not is_int(text) or int(text) < 1024:
        raise ctx.error(f"'{ctx.kw}' expects a value >= 1024.")
    ctx.glob.settings[ctx.kw] = int(text)


def kw_rate(ctx: Ctx) -> None:
    """maxconnrate / maxsessrate / maxsslrate / maxcomprate <n>"""
    ctx.too_many(1)
    if _already(ctx, ctx.kw):
        return
    ctx.glob.settings[ctx.kw] = _int_arg(ctx, f"'{ctx.kw}' expects an integer argument.")


def kw_ulimit(ctx: Ctx) -> None:
    ctx.too_many(1)
    if _already(ctx, "ulimit-n"):
        return
    ctx.glob.settings["ulimit-n"] = _int_arg(ctx, "'ulimit-n' expects an integer argument.")


def kw_base_dir(ctx: Ctx) -> None:
    if _already(ctx, ctx.kw, f"'{ctx.kw}' already specified.", fatal=True):
        return
    if not ctx.arg(1):
        raise ctx.error(f"global statement '{ctx.kw}' expects a directory path as an argument.")
    ctx.glob.settings[ctx.kw] = ctx.arg(1)


def kw_ssl_ciphers(ctx: Ctx) -> None:
    if not ctx.arg(1):
        raise ctx.error(f"global statement '{ctx.kw}' expects a cipher suite as an argument.")
    ctx.glob.settings[ctx.kw] = ctx.arg(1)


_SSL_BIND_OPTIONS = {
    "no-sslv3": 0, "no-tlsv10": 0, "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0,
    "force-sslv3": 0, "force-tlsv10": 0, "force-tlsv11": 0, "force-tlsv12": 0, "force-tlsv13": 0,
    "no-tls-tickets": 0, "ssl-min-ver": 1, "ssl-max-ver": 1, "prefer-client-ciphers": 0,
}


def kw_ssl_options(ctx: Ctx) -> None:
    i = 1
    while ctx.arg(i):
        word = ctx.arg(i)
        if word not in _SSL_BIND_OPTIONS or (word == "prefer-client-ciphers" and "server" in ctx.kw):
            raise ctx.error(f"unknown option '{word}' on global statement '{ctx.kw}'.")
        i += 1 + _SSL_BIND_OPTIONS[word]
    ctx.glob.settings[ctx.kw] = ctx.words[1:]


def kw_ssl_raw(ctx: Ctx) -> None:
    """Other ssl-* settings: kept raw for the TLS issue."""
    ctx.glob.settings[ctx.kw] = ctx.words[1:]


_PRIVILEGE_ONCE = {
    "chroot": ("chroot", None),
    "user": ("user", "user/uid already specified. Continuing."),
    "uid": ("user", "user/uid already specified. Continuing."),
    "gid": ("group", "group/gid already specified. Continuing."),
    "group": ("group", "gid/group was already specified. Continuing."),
}


def kw_privileges(ctx: Ctx) -> None:
    """user / group / uid / gid / chroot: accepted (with their argument checks), not applied."""
    kw, text = ctx.kw, ctx.arg(1)
    ctx.too_many(1)
    key, msg = _PRIVILEGE_ONCE[kw]
    if _already(ctx, key, msg):
        return
    if kw == "chroot" and not text:
        raise ctx.error("'chroot' expects a directory as an argument.")
    if kw in ("uid", "gid") and not text:
        raise ctx.error(f"'{kw}' expects an integer argument.")
    if kw in ("user", "group") and not text:
        raise ctx.error(f"cannot find {kw} id for '' (0:Success)")
    ctx.glob.settings[kw] = text
    ctx.warn(f"'{kw}' is accepted but ignored by trio-lb (it never changes its privileges or root "
             "directory; run it as the intended user instead).")


def kw_setenv(ctx: Ctx) -> None:
    kw = ctx.kw
    if not ctx.arg(1) or not ctx.arg(2):
        raise ctx.error(f"'{kw}' expects a name and a value.", tight=True)
    ctx.too_many(2)
    name, value = ctx.arg(1), ctx.arg(2)
    if kw == "presetenv" and name in ctx.state.env:
        return
    ctx.state.env[name] = value
    ctx.glob.env[name] = value


def kw_unsetenv(ctx: Ctx) -> None:
    if not ctx.arg(1):
        raise ctx.error("'unsetenv' expects at least one variable name.", tight=True)
    for name in _until_empty(ctx.words[1:]):
        ctx.state.env.pop(name, None)
        ctx.glob.env.pop(name, None)


def kw_resetenv(ctx: Ctx) -> None:
    keep = set(_until_empty(ctx.words[1:]))
    for name in list(ctx.state.env):
        if name not in keep:
            del ctx.state.env[name]
    for name in list(ctx.glob.env):
        if name not in keep:
            del ctx.glob.env[name]


# -- stats ---------------------------------------------------------------------------------

def kw_stats(ctx: Ctx) -> None:
    sub = ctx.arg(1)
    handler = _STATS_SUBKEYWORDS.get(sub)
    if handler is None:
        raise ctx.error("'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' "
                        f"(got '{sub}')")
    handler(ctx)


def _stats_timeout(ctx: Ctx) -> None:
    text = ctx.arg(2)
    res = parse_time_err(text)
    if res.overflow:
        raise ctx.error(f"timer overflow in argument '{text}' to 'stats timeout' "
                        "(maximum value is 2147483647 ms or ~24.8 days)")
    if res.value is None:
        raise ctx.error(f"'stats timeout' : unexpected character '{res.bad}'")
    if res.value == 0:
        raise ctx.error("'stats timeout' expects a positive value")
    trailing_time_warning(ctx, text, res)
    ctx.glob.stats_timeout = to_seconds(res.value)


def _stats_maxconn(ctx: Ctx) -> None:
    text = ctx.arg(2)
    if not is_int(text) or int(text) <= 0:
        raise ctx.error("'stats maxconn' expects a positive value")
    ctx.glob.stats_maxconn = int(text)


def _stats_bind_process(ctx: Ctx) -> None:
    ctx.glob.settings["stats bind-process"] = ctx.words[2:]


def _stats_socket(ctx: Ctx) -> None:
    text = ctx.arg(2)
    if not text:
        raise ctx.error("'stats socket' in global section expects an address or a path to a UNIX socket")
    sock = _stats_socket_address(ctx, text)
    i = 3
    while ctx.arg(i):
        word = ctx.arg(i)
        handler = _SOCKET_OPTIONS.get(word)
        if handler is None:
            raise ctx.error(f"'stats socket' : unknown keyword '{word}'.")
        problem = handler(sock, ctx.arg(i + 1))
        if problem:
            raise ctx.error(f"'stats socket' : '{problem}'")
        i += 1 if word in _SOCKET_FLAGS else 2
    sock.file, sock.line = ctx.file, ctx.line
    ctx.glob.stats_sockets.append(sock)


def _stats_socket_address(ctx: Ctx, text: str) -> StatsSocket:
    try:
        addr = parse_address(text, port_mandatory=True)
    except AddressError as e:
        tail = "\n\n" if e.newline else "\n"
        raise ctx.error(f"{ctx.where()}'stats socket' : {e}{tail}") from None
    if addr.family == "unix":
        return StatsSocket(kind="unix", address=addr.host)
    host = addr.host or ("::" if addr.family == "ipv6" else "0.0.0.0")
    assert addr.port_low is not None
    return StatsSocket(kind=addr.family, address=(host, addr.port_low))


def _sock_mode(sock: StatsSocket, value: str) -> str | None:
    if not value or any(c not in "01234567" for c in value):
        return f"'mode' : missing or invalid mode '{value}' (octal integer expected)"
    sock.mode = int(value, 8)
    return None


def _sock_level(sock: StatsSocket, value: str) -> str | None:
    if not value:
        return "'level' : missing level"
    if value not in ("user", "operator", "admin"):
        return f"'level' only supports 'user', 'operator', and 'admin' (got '{value}')"
    sock.level = value  # type: ignore[assignment]
    return None


def _sock_expose_fd(sock: StatsSocket, value: str) -> str | None:
    if value != "listeners":
        return f"'expose-fd' only supports 'listeners' (got '{value}')"
    sock.expose_fd = True
    return None


def _sock_name_arg(what: str, missing: str):  # noqa: ANN202 - small factory
    def handler(sock: StatsSocket, value: str) -> str | None:
        if not value:
            return f"'{what}' : {missing}"
        return None
    return handler


def _sock_flag(sock: StatsSocket, value: str) -> str | None:
    return None


_SOCKET_FLAGS = {"accept-proxy", "v4v6", "v6only", "transparent", "defer-accept", "tfo"}
_SOCKET_OPTIONS = {
    "mode": _sock_mode,
    "level": _sock_level,
    "expose-fd": _sock_expose_fd,
    "user": _sock_name_arg("user", "missing user name"),
    "group": _sock_name_arg("group", "missing group name"),
    "uid": _sock_name_arg("uid", "missing value"),
    "gid": _sock_name_arg("gid", "missing value"),
    "severity-output": _sock_name_arg("severity-output", "missing value"),
    "name": _sock_name_arg("name", "missing name"),
    "maxconn": _sock_name_arg("maxconn", "missing value"),
    "backlog": _sock_name_arg("backlog", "missing value"),
    "process": _sock_name_arg("process", "missing value"),
    "thread": _sock_name_arg("thread", "missing value"),
    **{flag: _sock_flag for flag in _SOCKET_FLAGS},
}

_STATS_SUBKEYWORDS = {
    "socket": _stats_socket,
    "timeout": _stats_timeout,
    "maxconn": _stats_maxconn,
    "bind-process": _stats_bind_process,
}


TUNE_INT = (
    "tune.maxaccept", "tune.maxpollevents", "tune.recv_enough", "tune.runqueue-depth",
    "tune.buffers.limit", "tune.buffers.reserve", "tune.rcvbuf.client", "tune.rcvbuf.server",
    "tune.sndbuf.client", "tune.sndbuf.server", "tune.pipesize", "tune.http.cookielen",
    "tune.http.logurilen", "tune.comp.maxlevel", "tune.pattern.cache-size", "tune.idletimer",
    "tune.ssl.cachesize", "tune.ssl.maxrecord", "tune.h2.header-table-size",
    "tune.h2.initial-window-size", "tune.h2.max-concurrent-streams", "tune.h2.max-frame-size",
    "maxpipes", "maxsslconn", "maxzlibmem", "maxcompcpuusage",
)
TUNE_RAW = (
    "tune.ssl.lifetime", "tune.ssl.force-private-cache", "tune.ssl.keylog", "tune.sched.low-latency",
    "tune.fd.edge-triggered", "tune.idle-pool.shared", "tune.listener.multi-queue",
    "tune.ssl.capture-buffer-size", "tune.ssl.capture-cipherlist-size", "tune.ssl.hard-maxrecord",
    "tune.ssl.ssl-ctx-cache-size", "tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio",
    "tune.fast-forward", "busy-polling", "noepoll", "nokqueue", "noevports", "nopoll", "nosplice",
    "nogetaddrinfo", "noreuseport", "quiet", "master-worker", "mworker-max-reloads",
    "strict-limits", "set-dumpable", "close-spread-time", "cpu-map", "numa-cpu-mapping",
    "thread-groups", "thread-group", "no-memory-trimming", "profiling.tasks",
)
SSL_RAW = (
    "ssl-default-bind-curves", "ssl-dh-param-file", "ssl-server-verify", "ssl-load-extra-files",
    "ssl-load-extra-del-ext", "ssl-skip-self-issued-ca", "issuers-chain-path", "ssl-mode-async",
)

KEYWORDS = [
    Keyword("daemon", kw_daemon, "g"),
    Keyword("maxconn", kw_maxconn, "g"),
    Keyword("nbthread", kw_nbthread, "g"),
    Keyword("nbproc", kw_nbproc, "g"),
    Keyword("pidfile", kw_pidfile, "g"),
    Keyword("node", kw_node, "g"),
    Keyword("description", kw_description, "g"),
    Keyword("hard-stop-after", kw_hard_stop_after, "g"),
    Keyword("spread-checks", kw_spread_checks, "g"),
    Keyword("tune.bufsize", kw_tune_bufsize, "g"),
    Keyword("tune.maxrewrite", kw_tune_maxrewrite, "g"),
    Keyword("tune.http.maxhdr", kw_tune_maxhdr, "g"),
    Keyword("tune.ssl.default-dh-param", kw_dh_param, "g"),
    Keyword("ulimit-n", kw_ulimit, "g"),
    Keyword("ca-base", kw_base_dir, "g"),
    Keyword("crt-base", kw_base_dir, "g"),
    Keyword("ssl-default-bind-ciphers", kw_ssl_ciphers, "g"),
    Keyword("ssl-default-bind-ciphersuites", kw_ssl_ciphers, "g"),
    Keyword("ssl-default-server-ciphers", kw_ssl_ciphers, "g"),
    Keyword("ssl-default-server-ciphersuites", kw_ssl_ciphers, "g"),
    Keyword("ssl-default-bind-options", kw_ssl_options, "g"),
    Keyword("ssl-default-server-options", kw_ssl_options, "g"),
    Keyword("setenv", kw_setenv, "g"),
    Keyword("presetenv", kw_setenv, "g"),
    Keyword("unsetenv", kw_unsetenv, "g"),
    Keyword("resetenv", kw_resetenv, "g"),
    Keyword("stats", kw_stats, "g"),
    *(Keyword(name, kw_privileges, "g") for name in ("user", "group", "uid", "gid", "chroot")),
    *(Keyword(name, kw_rate, "g") for name in ("maxconnrate", "maxsessrate", "maxsslrate", "maxcomprate")),
    *(Keyword(name, kw_tune_int, "g") for name in TUNE_INT),
    *(Keyword(name, kw_tune_raw, "g") for name in TUNE_RAW),
    *(Keyword(name, kw_ssl_raw, "g") for name in SSL_RAW),
]
