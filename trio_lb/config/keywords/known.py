"""HAProxy 2.6's own keyword names (from `haproxy -dKall` and cfgparse*.c's suggestion lists).

They serve two purposes: the "did you mean" suggestions use the same candidate set as HAProxy,
and a keyword HAProxy knows but trio-lb does not implement is reported as "not supported by
trio-lb yet" instead of "unknown keyword".
"""

from __future__ import annotations

GLOBAL_REGISTERED = (
    "ca-base", "close-spread-time", "crt-base", "default-path", "grace",
    "h1-accept-payload-with-any-method", "h1-case-adjust", "h1-case-adjust-file", "hard-stop-after",
    "httpclient.resolvers.id", "httpclient.resolvers.prefer", "httpclient.ssl.ca-file",
    "httpclient.ssl.verify", "issuers-chain-path", "lua-load", "lua-load-per-thread",
    "lua-prepend-path", "maxsslconn", "mworker-max-reloads", "nbthread", "no-memory-trimming",
    "pp2-never-send-local", "profiling.tasks", "set-var", "set-var-fmt", "ssl-default-bind-ciphers",
    "ssl-default-bind-ciphersuites", "ssl-default-bind-curves", "ssl-default-bind-options",
    "ssl-default-server-ciphers", "ssl-default-server-ciphersuites", "ssl-default-server-options",
    "ssl-dh-param-file", "ssl-load-extra-del-ext", "ssl-load-extra-files", "ssl-mode-async",
    "ssl-propquery", "ssl-provider", "ssl-provider-path", "ssl-skip-self-issued-ca", "stats",
    "thread-group", "thread-groups", "tune.fail-alloc", "tune.fd.edge-triggered",
    "tune.h2.header-table-size", "tune.h2.initial-window-size", "tune.h2.max-concurrent-streams",
    "tune.h2.max-frame-size", "tune.idle-pool.shared", "tune.listener.multi-queue",
    "tune.lua.forced-yield", "tune.lua.maxmem", "tune.lua.service-timeout",
    "tune.lua.session-timeout", "tune.lua.task-timeout", "tune.peers.max-updates-at-once",
    "tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio", "tune.sched.low-latency",
    "tune.ssl.cachesize", "tune.ssl.capture-buffer-size", "tune.ssl.capture-cipherlist-size",
    "tune.ssl.default-dh-param", "tune.ssl.force-private-cache", "tune.ssl.hard-maxrecord",
    "tune.ssl.keylog", "tune.ssl.lifetime", "tune.ssl.maxrecord", "tune.ssl.ssl-ctx-cache-size",
    "tune.vars.check-max-size", "tune.vars.global-max-size", "tune.vars.proc-max-size",
    "tune.vars.reqres-max-size", "tune.vars.sess-max-size", "tune.vars.txn-max-size",
)

GLOBAL_COMMON = (
    "global", "daemon", "master-worker", "noepoll", "nokqueue", "noevports", "nopoll",
    "busy-polling", "set-dumpable", "insecure-fork-wanted", "insecure-setuid-wanted", "nosplice",
    "nogetaddrinfo", "noreuseport", "quiet", "zero-warning", "tune.runqueue-depth",
    "tune.maxpollevents", "tune.maxaccept", "tune.recv_enough", "tune.buffers.limit",
    "tune.buffers.reserve", "tune.bufsize", "tune.maxrewrite", "tune.idletimer",
    "tune.rcvbuf.client", "tune.rcvbuf.server", "tune.sndbuf.client", "tune.sndbuf.server",
    "tune.pipesize", "tune.http.cookielen", "tune.http.logurilen", "tune.http.maxhdr",
    "tune.comp.maxlevel", "tune.pattern.cache-size", "tune.fast-forward", "uid", "gid",
    "external-check", "user", "group", "nbproc", "maxconn", "ssl-server-verify", "maxconnrate",
    "maxsessrate", "maxsslrate", "maxcomprate", "maxpipes", "maxzlibmem", "maxcompcpuusage",
    "ulimit-n", "chroot", "description", "node", "pidfile", "unix-bind", "log",
    "log-send-hostname", "server-state-base", "server-state-file", "log-tag", "spread-checks",
    "max-spread-checks", "cpu-map", "setenv", "presetenv", "unsetenv", "resetenv",
    "strict-limits", "localpeer", "numa-cpu-mapping", "defaults", "listen", "frontend",
    "backend", "peers", "resolvers",
)

LISTEN_REGISTERED = (
    "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl", "clitimeout", "compression", "contimeout",
    "declare", "errorfile", "errorfiles", "errorloc", "errorloc302", "errorloc303",
    "external-check", "filter", "http-check", "http-error", "max-keep-alive-queue", "rate-limit",
    "retry-on", "srvtcpka-cnt", "srvtcpka-idle", "srvtcpka-intvl", "srvtimeout", "tcp-check",
    "tcp-request", "tcp-response", "timeout", "use-fcgi-app",
)

LISTEN_COMMON = (
    "listen", "frontend", "backend", "defaults", "server", "default-server", "server-template",
    "bind", "monitor-net", "monitor-uri", "mode", "id", "description", "disabled", "enabled",
    "acl", "dynamic-cookie-key", "cookie", "email-alert", "persist", "appsession",
    "load-server-state-from-file", "server-state-file-name", "max-session-srv-conns", "capture",
    "retries", "http-request", "http-response", "http-after-response", "http-send-name-header",
    "block", "redirect", "use_backend", "use-server", "force-persist", "ignore-persist",
    "force-persist", "stick-table", "stick", "stats", "option", "default_backend", "http-reuse",
    "monitor", "transparent", "maxconn", "backlog", "fullconn", "grace", "dispatch", "balance",
    "log-balance", "hash-type", "hash-balance-factor", "unique-id-format", "unique-id-header",
    "log-format", "log-format-sd", "log-tag", "log", "source", "usesrc", "error-log-format",
)

# `option` names: the simple flag tables (cfg_opts / cfg_opts2) with the side they apply to
# ("fe", "be" or "both") and whether they only make sense in HTTP mode, in HAProxy's order.
SIMPLE_OPTIONS: tuple[tuple[str, str, bool], ...] = (
    ("abortonclose", "be", False),
    ("allbackups", "be", False),
    ("checkcache", "be", True),
    ("clitcpka", "fe", False),
    ("contstats", "fe", False),
    ("dontlognull", "fe", False),
    ("http-buffer-request", "both", True),
    ("http-ignore-probes", "fe", True),
    ("prefer-last-server", "be", True),
    ("logasap", "fe", False),
    ("nolinger", "both", False),
    ("persist", "be", False),
    ("srvtcpka", "be", False),
    ("transparent", "be", False),
    ("splice-request", "both", False),
    ("splice-response", "both", False),
    ("splice-auto", "both", False),
    ("accept-invalid-http-request", "fe", True),
    ("accept-invalid-http-response", "be", True),
    ("dontlog-normal", "fe", False),
    ("log-separate-errors", "fe", False),
    ("log-health-checks", "be", False),
    ("socket-stats", "fe", False),
    ("tcp-smart-accept", "fe", False),
    ("tcp-smart-connect", "be", False),
    ("independent-streams", "both", False),
    ("http-use-proxy-header", "fe", True),
    ("http-pretend-keepalive", "be", True),
    ("http-no-delay", "both", True),
    ("h1-case-adjust-bogus-client", "fe", True),
    ("h1-case-adjust-bogus-server", "be", True),
    ("disable-h2-upgrade", "fe", True),
    ("idle-close-on-response", "fe", True),
)

COMMON_OPTIONS = (
    "httpclose", "http-server-close", "http-keep-alive", "redispatch", "httplog", "tcplog",
    "tcpka", "httpchk", "ssl-hello-chk", "smtpchk", "pgsql-check", "redis-check", "mysql-check",
    "ldap-check", "spop-check", "tcp-check", "external-check", "forwardfor", "originalto",
)

# server keywords and how many arguments each takes (-1: variable)
SERVER_KEYWORDS: dict[str, int] = {
    "addr": 1, "agent-addr": 1, "agent-check": 0, "agent-inter": 1, "agent-port": 1,
    "agent-send": 1, "allow-0rtt": 0, "alpn": 1, "backup": 0, "ca-file": 1, "check": 0,
    "check-alpn": 1, "check-proto": 1, "check-send-proxy": 0, "check-sni": 1, "check-ssl": 0,
    "check-via-socks4": 0, "ciphers": 1, "ciphersuites": 1, "cookie": 1, "crl-file": 1, "crt": 1,
    "disabled": 0, "downinter": 1, "enabled": 0, "error-limit": 1, "fall": 1, "fastinter": 1,
    "force-sslv3": 0, "force-tlsv10": 0, "force-tlsv11": 0, "force-tlsv12": 0, "force-tlsv13": 0,
    "id": 1, "init-addr": 1, "inter": 1, "log-proto": 1, "max-reuse": 1, "maxconn": 1,
    "maxqueue": 1, "minconn": 1, "namespace": 1, "no-agent-check": 0, "no-backup": 0,
    "no-check": 0, "no-check-send-proxy": 0, "no-check-ssl": 0, "no-send-proxy": 0,
    "no-send-proxy-v2": 0, "no-send-proxy-v2-ssl": 0, "no-send-proxy-v2-ssl-cn": 0, "no-ssl": 0,
    "no-ssl-reuse": 0, "no-sslv3": 0, "no-tfo": 0, "no-tls-tickets": 0, "no-tlsv10": 0,
    "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0, "non-stick": 0, "npn": 1, "observe": 1,
    "on-error": 1, "on-marked-down": 1, "on-marked-up": 1, "pool-low-conn": 1,
    "pool-max-conn": 1, "pool-purge-delay": 1, "port": 1, "proto": 1, "proxy-v2-options": 1,
    "redir": 1, "resolve-net": 1, "resolve-opts": 1, "resolve-prefer": 1, "resolvers": 1,
    "rise": 1, "send-proxy": 0, "send-proxy-v2": 0, "send-proxy-v2-ssl": 0,
    "send-proxy-v2-ssl-cn": 0, "slowstart": 1, "sni": 1, "socks4": 1, "source": -1, "ssl": 0,
    "ssl-max-ver": 1, "ssl-min-ver": 1, "ssl-reuse": 0, "stick": 0, "tcp-ut": 1, "tfo": 0,
    "tls-tickets": 0, "track": 1, "usesrc": 0, "verify": 1, "verifyhost": 1, "weight": 1,
    "ws": 1,
}

# bind keywords and how many arguments each takes
BIND_KEYWORDS: dict[str, int] = {
    "accept-netscaler-cip": 1, "accept-proxy": 0, "backlog": 1, "defer-accept": 0,
    "expose-fd": 1, "gid": 1, "group": 1, "id": 1, "interface": 1, "level": 1, "maxconn": 1,
    "mode": 1, "mss": 1, "name": 1, "namespace": 1, "nice": 1, "process": 1, "proto": 1,
    "severity-output": 1, "shards": 1, "tcp-ut": 1, "tfo": 0, "thread": 1, "transparent": 0,
    "uid": 1, "user": 1, "v4v6": 0, "v6only": 0, "ssl": 0, "allow-0rtt": 0, "alpn": 1,
    "ca-file": 1, "ca-ignore-err": 1, "ca-sign-file": 1, "ca-sign-pass": 1, "ca-verify-file": 1,
    "ciphers": 1, "ciphersuites": 1, "crl-file": 1, "crt": 1, "crt-ignore-err": 1, "crt-list": 1,
    "curves": 1, "ecdhe": 1, "force-sslv3": 0, "force-tlsv10": 0, "force-tlsv11": 0,
    "force-tlsv12": 0, "force-tlsv13": 0, "generate-certificates": 0, "no-ca-names": 0,
    "no-sslv3": 0, "no-tls-tickets": 0, "no-tlsv10": 0, "no-tlsv11": 0, "no-tlsv12": 0,
    "no-tlsv13": 0, "npn": 1, "prefer-client-ciphers": 0, "ssl-max-ver": 1, "ssl-min-ver": 1,
    "strict-sni": 0, "tls-ticket-keys": 1, "verify": 1,
}

# Sections HAProxy has and trio-lb refuses (with an alert, never silently).
UNSUPPORTED_SECTIONS = (
    "userlist", "peers", "resolvers", "cache", "ring", "program", "http-errors", "mailers",
    "log-forward", "fcgi-app",
)
