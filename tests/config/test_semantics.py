"""What the parser puts in the model (config/model.py) for each kind of line."""

from __future__ import annotations

import pytest

from trio_lb.config import ConfigErrors, parse
from trio_lb.config.keywords.logging import HTTP_LOG_FORMAT, TCP_LOG_FORMAT
from trio_lb.config.model import Config, HttpExpect, LogTarget, Proxy, TcpCheckRule

TIMEOUTS = "    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n"


def cfg(text: str, env: dict[str, str] | None = None) -> Config:
    return parse(text, "t.cfg", env=env or {}, model_only=True)


def px(config: Config, name: str) -> Proxy:
    found = [p for p in config.proxies if p.name == name]
    assert len(found) == 1
    return found[0]


def test_proxy_and_server_ids_follow_haproxy_numbering() -> None:
    config = cfg(
        "defaults\n" + TIMEOUTS
        + "frontend f1\n    bind :80\n    default_backend b1\n"
        "backend b1\n    id 3\n"
        "    server s1 127.0.0.1:1 id 5\n    server s2 127.0.0.1:1\n    server s3 127.0.0.1:1\n"
        "    server s4 127.0.0.1:1 id 2\n    server s5 127.0.0.1:1\n"
        "backend b2\n    server s1 127.0.0.1:1\n"
        "listen l1\n    bind :81\n    id 1\n    server s1 127.0.0.1:1\n"
        "backend b3\n    server s1 127.0.0.1:1\n"
    )
    # observed on HAProxy 2.6.12 with `show stat` (iid, sid)
    assert [(p.name, p.id) for p in config.proxies] == [("f1", 2), ("b1", 3), ("b2", 4), ("l1", 1), ("b3", 6)]
    assert [(s.name, s.id) for s in px(config, "b1").servers] == [
        ("s1", 5), ("s2", 3), ("s3", 4), ("s4", 2), ("s5", 6)]
    assert [s.id for s in px(config, "b2").servers] == [1]


def test_listen_is_one_proxy_with_both_sides() -> None:
    config = cfg("listen l\n    bind :80\n" + TIMEOUTS + "    server s 1.1.1.1:80\n")
    (p,) = config.proxies
    assert p.kind == "listen" and p.has_frontend and p.has_backend
    assert config.frontends == [p] and config.backends == [p] and config.backend("l") is p


def test_proxies_inherit_the_last_defaults_or_the_named_one() -> None:
    config = cfg(
        "defaults base\n    mode http\n    timeout client 7s\n    retries 5\n    option redispatch\n"
        "    maxconn 100\n    default-server inter 3s rise 4\n"
        "defaults\n    mode tcp\n    timeout connect 2s\n"
        "frontend f from base\n    bind :80\n    default_backend c\n"
        "backend b\n    server s1 1.1.1.1:80\n"
        "backend c from base\n    server s1 1.1.1.1:80\n"
    )
    f, b, c = px(config, "f"), px(config, "b"), px(config, "c")
    assert (f.mode, f.timeouts.client, f.maxconn) == ("http", 7.0, 100)
    assert (b.mode, b.timeouts.client, b.timeouts.connect, b.retries, b.redispatch) == ("tcp", None, 2.0, 3, False)
    assert (c.mode, c.retries, c.redispatch, c.maxconn) == ("http", 5, True, 0)  # maxconn is a frontend setting
    assert (c.servers[0].inter, c.servers[0].rise) == (3.0, 4)
    assert (b.servers[0].inter, b.servers[0].rise) == (2.0, 2)


def test_timeouts_are_seconds_and_default_to_milliseconds() -> None:
    config = cfg(
        "defaults\n    timeout client 1500\n    timeout server 2m\n    timeout connect 100ms\n"
        "    timeout queue 1h\n    timeout http-request 500us\n    timeout check 0\n    timeout tunnel 1d\n"
        "    timeout http-keep-alive 3s\n    timeout client-fin 1s\n    timeout server-fin 2s\n"
        "    timeout tarpit 4s\n"
        "listen l\n    bind :80\n    server s 1.1.1.1:80\n"
    )
    t = px(config, "l").timeouts
    assert (t.client, t.server, t.connect, t.queue) == (1.5, 120.0, 0.1, 3600.0)
    assert t.http_request == 0.001  # rounded up to the millisecond, as HAProxy does
    assert t.check is None  # 0 = unset
    assert (t.tunnel, t.http_keep_alive, t.client_fin, t.server_fin, t.tarpit) == (86400.0, 3.0, 1.0, 2.0, 4.0)


def test_bind_lines() -> None:
    config = cfg(
        "frontend f\n" + TIMEOUTS
        + "    bind 10.0.0.1:80,:81-83 name web maxconn 50\n"
        "    bind :::8443 v4v6 ssl crt /a.pem crt /b.pem alpn h2,http/1.1 accept-proxy\n"
        "    bind ipv6@:90 v6only\n    bind [::1]:91 id 7\n    bind ipv4@*:92\n"
        "    bind /run/lb.sock mode 600\n    bind unix@rel.sock\n"
    )
    binds = px(config, "f").binds
    assert [(b.host, b.port, b.family) for b in binds] == [
        ("10.0.0.1", 80, "ipv4"), ("", 81, "ipv4"), ("", 82, "ipv4"), ("", 83, "ipv4"),
        ("::", 8443, "ipv6"), ("::", 90, "ipv6"), ("::1", 91, "ipv6"), ("", 92, "ipv4"),
        ("/run/lb.sock", 0, "unix"), ("rel.sock", 0, "unix"),
    ]
    assert {(b.name, b.maxconn) for b in binds[:4]} == {("web", 50)}
    assert binds[4].options == {"v4v6": True, "ssl": True, "crt": ["/a.pem", "/b.pem"],
                                "alpn": "h2,http/1.1", "accept-proxy": True}
    assert binds[5].options == {"v6only": True}
    assert binds[6].options == {"id": 7}
    assert binds[8].options == {"mode": "600"}
    assert (binds[0].file, binds[0].line) == ("t.cfg", 5)


def test_server_lines_and_default_server() -> None:
    config = cfg(
        "backend b\n" + TIMEOUTS
        + "    default-server inter 2s fastinter 500ms downinter 5s rise 3 fall 4 slowstart 30s maxconn 500\n"
        "    server a1 10.0.0.1:8080 check cookie a1 weight 100 maxqueue 10 minconn 5\n"
        "    server a2 10.0.0.2 check port 9000 addr 10.0.0.22 backup disabled send-proxy\n"
        "    server a3 [::1]:8443 ssl verify none sni str(x) check-ssl agent-check agent-port 9999\n"
        "    server a4 ipv6@::2:80 no-check\n"
        "    server a5 10.0.0.5:+1000\n"
        "    server a6 backend.example.com:80 observe layer7 on-error mark-down error-limit 5\n"
    )
    a1, a2, a3, a4, a5, a6 = px(config, "b").servers
    assert (a1.host, a1.port, a1.check, a1.cookie, a1.weight, a1.maxqueue, a1.minconn) == (
        "10.0.0.1", 8080, True, "a1", 100, 10, 5)
    assert (a1.inter, a1.fastinter, a1.downinter, a1.rise, a1.fall, a1.slowstart, a1.maxconn) == (
        2.0, 0.5, 5.0, 3, 4, 30.0, 500)
    assert (a2.port, a2.check_port, a2.check_addr, a2.backup, a2.disabled, a2.send_proxy) == (
        None, 9000, "10.0.0.22", True, True, True)
    assert (a3.host, a3.port) == ("::1", 8443)
    assert a3.options == {"ssl": True, "verify": "none", "sni": "str(x)", "check-ssl": True,
                          "agent-check": True, "agent-port": "9999"}
    assert (a4.host, a4.port, a4.check) == ("::2", 80, False)
    assert (a5.port, a5.options) == (None, {"port_offset": 1000})
    assert (a6.host, a6.options) == ("backend.example.com", {"observe": "layer7", "on-error": "mark-down",
                                                              "error-limit": "5"})
    assert (a1.file, a1.line) == ("t.cfg", 6)


def test_balance_and_hash_type() -> None:
    def bal(line: str):  # noqa: ANN202
        return px(cfg(f"backend b\n    mode http\n    {line}\n"), "b").balance

    assert bal("balance static-rr").algo == "static-rr"
    b = bal("balance uri len 10 depth 2 path-only")
    assert (b.algo, b.uri_len, b.uri_depth, b.uri_path_only, b.uri_whole) == ("uri", 10, 2, True, False)
    assert (bal("balance url_param userid").algo, bal("balance url_param userid").param) == ("url_param", "userid")
    b = bal("balance hdr(Host) use_domain_only")
    assert (b.algo, b.param, b.use_domain_only) == ("hdr", "Host", True)
    assert (bal("balance random").random_draws, bal("balance random(5)").random_draws) == (2, 5)
    assert bal("balance first").algo == "first"
    b = px(cfg("backend b\n    hash-type consistent\n    balance source\n"), "b").balance
    assert (b.algo, b.hash_type, b.hash_function, b.hash_avalanche) == ("source", "consistent", "sdbm", True)
    b = bal("hash-type map-based djb2 avalanche")
    assert (b.hash_type, b.hash_function, b.hash_avalanche) == ("map-based", "djb2", True)


def test_http_checks() -> None:
    config = cfg(
        "backend a\n    option httpchk\n"
        "backend b\n    option httpchk /ping\n"
        "backend c\n    option httpchk HEAD /ping HTTP/1.1\n"
        "backend d\n    option httpchk GET /health HTTP/1.1\\r\\nHost:\\ www.example.com\n"
        "    http-check send hdr X-Check yes\n"
        "    http-check expect ! status 500-599\n    http-check expect rstring ^OK\n"
        "backend e\n    http-check expect string OK\n    option httpchk\n"
        "    http-check send meth POST uri /c ver HTTP/1.1 hdr Host h body hello\n"
    )
    a, b, c, d, e = (px(config, n).check for n in "abcde")
    assert (a.kind, a.method, a.uri, a.version) == ("http", "OPTIONS", "/", "HTTP/1.0")
    assert (b.method, b.uri, b.version) == ("OPTIONS", "/ping", "HTTP/1.0")
    assert (c.method, c.uri, c.version) == ("HEAD", "/ping", "HTTP/1.1")
    assert (d.method, d.uri, d.version) == ("GET", "/health", "HTTP/1.1")
    assert d.headers == [("Host", "www.example.com"), ("X-Check", "yes")]
    assert d.expects == [HttpExpect("status", "500-599", negate=True), HttpExpect("rstring", "^OK")]
    assert (e.kind, e.method, e.uri, e.version, e.body) == ("http", "POST", "/c", "HTTP/1.1", b"hello")
    assert e.headers == [("Host", "h")] and e.expects == [HttpExpect("string", "OK")]
    assert "deprecated" in config.warnings[0]


def test_tcp_checks() -> None:
    config = cfg(
        "backend b\n    option tcp-check\n    tcp-check comment greeting\n"
        "    tcp-check connect port 6379 addr 10.0.0.9\n"
        "    tcp-check send PING\\r\\n\n    tcp-check send-binary 50494e47\n"
        "    tcp-check expect ! string -ERR\n    tcp-check expect rstring ^\\+PONG\n"
        "    tcp-check expect binary 0a0b comment bin\n    tcp-check expect rbinary 0a.*\n"
    )
    check = px(config, "b").check
    assert check.kind == "tcp-check"
    assert check.tcp_rules == [
        TcpCheckRule("connect", port=6379, addr="10.0.0.9", comment="greeting"),
        TcpCheckRule("send", data=b"PING\r\n"),
        TcpCheckRule("send-binary", data=b"PING"),
        TcpCheckRule("expect", data=b"-ERR", match="string", negate=True),
        TcpCheckRule("expect", data=b"^\\+PONG", match="rstring"),
        TcpCheckRule("expect", data=b"\n\x0b", match="binary", comment="bin"),
        TcpCheckRule("expect", data=b"0a.*", match="rbinary"),
    ]


def test_options() -> None:
    config = cfg(
        "defaults\n    mode http\n    option http-server-close\n    option abortonclose\n    option dontlognull\n"
        + TIMEOUTS
        + "frontend f\n    bind :80\n    option forwardfor except 10.0.0.0/8 header X-Real-IP if-none\n"
        "    no option dontlognull\n    option httplog clf\n    option socket-stats\n    default_backend b\n"
        "backend b\n    option httpclose\n    no option abortonclose\n    option allbackups\n"
        "    option redispatch 2\n    option http-buffer-request\n    option log-health-checks\n"
        "    http-reuse always\n    server s 1.1.1.1:80\n"
        "backend c\n    no option http-server-close\n    option http-keep-alive\n    no option redispatch\n"
    )
    f, b, c = px(config, "f"), px(config, "b"), px(config, "c")
    assert f.forwardfor is not None
    assert (f.forwardfor.except_net, f.forwardfor.header, f.forwardfor.if_none) == ("10.0.0.0/8", "X-Real-IP", True)
    assert (f.dontlognull, f.http_conn_mode, f.log_format is not None) == (False, "server-close", True)
    assert f.options == {"abortonclose", "socket-stats"}
    assert (b.http_conn_mode, b.allbackups, b.redispatch, b.dontlognull) == ("close", True, True, True)
    assert b.options == {"redispatch 2", "http-buffer-request", "log-health-checks", "http-reuse always"}
    assert (c.http_conn_mode, c.redispatch) == ("keep-alive", False)


def test_logs_and_log_formats() -> None:
    config = cfg(
        "global\n    log 127.0.0.1:514 local0 info\n    log stdout format raw local1 notice err\n"
        "    log /dev/log len 4096 format rfc5424 daemon\n    log-tag lb\n    log-send-hostname\n"
        "defaults\n    log global\n    option tcplog\n" + TIMEOUTS
        + "frontend f\n    bind :80\n    default_backend b\n"
        "frontend g\n    bind :81\n    no log\n    log [::1]:1514 local2\n    log-format \"%ci %b\"\n"
        "    default_backend b\n"
        "backend b\n    server s 1.1.1.1:80\n"
    )
    glogs = config.global_.logs
    assert glogs == [
        LogTarget("udp", ("127.0.0.1", 514), facility="local0", level="info"),
        LogTarget("stdout", "", format="raw", facility="local1", level="notice", min_level="err"),
        LogTarget("unix", "/dev/log", format="rfc5424", facility="daemon", length=4096),
    ]
    f, g = px(config, "f"), px(config, "g")
    assert f.logs == glogs and f.log_format == TCP_LOG_FORMAT
    assert g.logs == [LogTarget("udp", ("::1", 1514), facility="local2")] and g.log_format == "%ci %b"
    assert config.global_.settings["log-tag"] == "lb" and config.global_.settings["log-send-hostname"] is True


def test_httplog_in_tcp_mode_falls_back_to_tcplog() -> None:
    config = cfg("listen l\n    mode tcp\n    bind :80\n    log 127.0.0.1 local0\n    option httplog\n" + TIMEOUTS)
    assert px(config, "l").log_format == TCP_LOG_FORMAT
    config = cfg("listen l\n    mode http\n    bind :80\n    log 127.0.0.1 local0\n    option httplog\n" + TIMEOUTS)
    assert px(config, "l").log_format == HTTP_LOG_FORMAT


def test_global_settings() -> None:
    config = cfg(
        "global\n    daemon\n    maxconn 5000\n    nbthread 4\n    pidfile /run/lb.pid\n    node lb-1\n"
        "    stats socket ipv4@127.0.0.1:9999 level user\n    stats socket [::1]:9998\n"
        "    stats timeout 2m\n    stats maxconn 20\n    hard-stop-after 30s\n    tune.bufsize 32768\n"
        "    tune.http.maxhdr 128\n    tune.maxrewrite 1024\n    ulimit-n 10000\n    maxconnrate 100\n"
        "    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n    ca-base /etc/ssl\n"
        "    tune.ssl.default-dh-param 2048\n    spread-checks 5\n"
    )
    g = config.global_
    assert (g.daemon, g.maxconn, g.nbthread, g.pidfile, g.node) == (True, 5000, 4, "/run/lb.pid", "lb-1")
    s1, s2 = g.stats_sockets
    assert (s1.kind, s1.address, s1.level, s1.mode) == ("ipv4", ("127.0.0.1", 9999), "user", None)
    assert (s2.kind, s2.address, s2.level) == ("ipv6", ("::1", 9998), "operator")
    assert (g.stats_timeout, g.stats_maxconn, g.hard_stop_after) == (120.0, 20, 30.0)
    assert (g.tune_bufsize, g.tune_maxhdr) == (32768, 128)
    assert g.settings == {
        "tune.maxrewrite": 1024, "ulimit-n": 10000, "maxconnrate": 100,
        "ssl-default-bind-options": ["ssl-min-ver", "TLSv1.2", "no-tls-tickets"], "ca-base": "/etc/ssl",
        "tune.ssl.default-dh-param": 2048, "spread-checks": 5,
    }


def test_setenv_affects_later_lines_only_and_env_is_not_mutated() -> None:
    env = {"KEEP": "1", "DROP": "2", "PORT": "1"}
    config = cfg(
        'frontend early\n    bind ":${PORT}"\n' + TIMEOUTS
        + 'global\n    setenv PORT 8080\n    presetenv PORT 9090\n    presetenv NEW 7\n    unsetenv DROP\n'
        'frontend f\n    bind ":${PORT}"\n    bind ":${NEW}${DROP-0}"\n' + TIMEOUTS
        + 'global\n    resetenv KEEP\nfrontend g\n    bind ":${PORT-1234}"\n' + TIMEOUTS,
        env=env,
    )
    assert [b.port for b in px(config, "early").binds] == [1]
    assert [b.port for b in px(config, "f").binds] == [8080, 70]
    assert [b.port for b in px(config, "g").binds] == [1234]
    assert env == {"KEEP": "1", "DROP": "2", "PORT": "1"}
    assert config.global_.env == {}  # resetenv kept only KEEP, which was not set by the config


def test_stats_lines() -> None:
    config = cfg(
        "defaults\n    mode http\n    stats enable\n    stats uri /inherited\n" + TIMEOUTS
        + "listen stats\n    bind :8404\n    stats uri /stats\n    stats refresh 10s\n"
        "    stats realm Haproxy\\ Statistics\n    stats auth admin:secret\n    stats auth ro:pw\n"
        "    stats admin if TRUE\n    stats show-legends\n    stats hide-version\n    stats scope .\n"
        "listen other\n    bind :8405\n"
    )
    s = px(config, "stats").stats
    assert s["uri"] == "/stats" and s["refresh"] == 10.0 and s["realm"] == "Haproxy Statistics"
    assert s["auth"] == ["admin:secret", "ro:pw"] and s["scope"] == ["."]
    assert s["show-legends"] is True and s["hide-version"] is True and s["enable"] is True
    assert "inherited" not in str(s)  # own stats lines start from scratch
    assert [c.text for c in s["admin"]] == ["if TRUE"]
    assert px(config, "other").stats == {"enable": True, "uri": "/inherited"}


def test_acls_and_use_backend_conditions() -> None:
    config = cfg(
        "frontend f\n    bind :80\n    mode http\n" + TIMEOUTS
        + "    acl api path_beg /api\n    acl api hdr(host) -i api.example.com\n"
        "    use_backend b if api !{ src 10.0.0.0/8 } || TRUE\n"
        "    use_backend %[req.hdr(host),lower]\n    default_backend b\n"
        "backend b\n    mode http\n"
    )
    f = px(config, "f")
    assert list(f.acls) == ["api"] and len(f.acls["api"]) == 2
    rule, dynamic = f.use_backends
    assert rule.backend == "b" and rule.cond is not None and not rule.cond.unless
    assert [[neg for neg, _ in suite] for suite in rule.cond.terms] == [[False, True], [False]]
    assert (dynamic.backend, dynamic.cond, dynamic.line) == ("%[req.hdr(host),lower]", None, 10)


def test_disabled_proxies_and_servers() -> None:
    config = cfg(
        "defaults\n    disabled\n" + TIMEOUTS
        + "frontend f\n    bind :80\n    default_backend nosuch\n"  # not checked: disabled
        "backend b\n    enabled\n    server s 1.1.1.1:80 disabled\n"
    )
    assert px(config, "f").disabled is True
    b = px(config, "b")
    assert b.disabled is False and b.servers[0].disabled is True


def test_non_fatal_alerts_are_kept_on_the_config() -> None:
    config = cfg("global\n    pidfile /a\n    pidfile /b\n")
    assert config.global_.pidfile == "/a"
    assert config.alerts == ["parsing [t.cfg:3] : 'pidfile' already specified. Continuing."]  # type: ignore[attr-defined]


def test_conditional_blocks_select_lines() -> None:
    config = cfg(
        ".if defined(A)\nglobal\n    maxconn 1\n.elif defined(B)\nglobal\n    maxconn 2\n"
        ".else\nglobal\n    maxconn 3\n.endif\n"
        ".if 0\n.if 1\nglobal\n    nbthread 4\n.endif\n.endif\n",
        env={"B": ""},
    )
    assert config.global_.maxconn == 2 and config.global_.nbthread == 1


@pytest.mark.parametrize("text", ["global\n    maxconn 5\n", "", "# nothing\n\n"])
def test_minimal_configurations(text: str) -> None:
    config = cfg(text)
    assert config.proxies == [] and config.files == ["t.cfg"]


def test_errors_report_every_line_then_the_trailers() -> None:
    with pytest.raises(ConfigErrors) as info:
        cfg("global\n    foo\n    bar\n")
    assert info.value.alerts == [
        "parsing [t.cfg:2] : unknown keyword 'foo' in 'global' section",
        "parsing [t.cfg:3] : unknown keyword 'bar' in 'global' section",
        "Error(s) found in configuration file : t.cfg",
        "Fatal errors found in configuration.",
    ]
    assert str(info.value).startswith("parsing [t.cfg:2]")
