"""The reference configurations (copies of /work/shared/reference/samples/*.cfg).

Both use keywords of later issues, which trio-lb refuses with "not supported by trio-lb yet."
alerts: the exact list is pinned here. Without those lines they load, and the model holds what
the files say.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trio_lb.config import ConfigErrors, parse
from trio_lb.config.keywords.logging import HTTP_LOG_FORMAT, TCP_LOG_FORMAT
from trio_lb.config.model import Config, HttpExpect, Proxy, TcpCheckRule

DATA = Path(__file__).resolve().parent.parent / "data" / "configs"
BLOCKED_LIST = DATA / "lab-blocked.lst"
HOSTS_MAP = DATA / "lab-hosts.map"


def _text(name: str) -> str:
    # the lab's ACL reads /tmp/lab/blocked.lst and its use_backend /tmp/lab/hosts.map: use copies
    return (DATA / name).read_text().replace("/tmp/lab/blocked.lst", str(BLOCKED_LIST)).replace(
        "/tmp/lab/hosts.map", str(HOSTS_MAP))


def _later(kw: str, name: str, line: int) -> str:
    return f"parsing [{name}:{line}] : '{kw}' is not supported by trio-lb yet."


PROD_REFUSED = [
    ("balance url_param ... check_post", 115), ("balance rdp-cookie", 151),
]
_AFTER_REDIRECT = "a 'http-request' rule placed after a 'redirect' rule will still be processed before."
_AFTER_HTTP = "a 'tcp-request' rule placed after an 'http-request' rule will still be processed before."
PROD_WARNINGS = [  # the rule placement warnings are haproxy -c's too
    "parsing [prod-like.cfg:7] : 'chroot' is accepted but ignored by trio-lb (it never changes its "
    "privileges or root directory; run it as the intended user instead).",
    *(f"parsing [prod-like.cfg:{n}] : {_AFTER_REDIRECT}" for n in range(55, 63)),
    *(f"parsing [prod-like.cfg:{n}] : {_AFTER_HTTP}" for n in (64, 65)),
    "parsing [prod-like.cfg:77]: 'option httpchk' : hiding headers or body at the end of the version "
    "string is deprecated. Please, consider to use 'http-check send' directive instead.",
]


def test_the_lab_config_runs_as_is() -> None:
    """Every line of the lab config is implemented now (rules, stick table, cookie, a map-driven
    use_backend); the warnings are haproxy -c's."""
    config = parse(_text("lab-haproxy.cfg"), "lab-haproxy.cfg", env={})
    assert config.warnings == [
        "log format ignored for frontend 'fe_http' since it has no log address.",
        "log format ignored for proxy 'stats' since it has no log address.",
        "parsing [lab-haproxy.cfg:14] : 'option httplog' not usable with proxy 'tcp_svc' (needs 'mode http'). "
        "Falling back to 'option tcplog'.",
        "log format ignored for proxy 'tcp_svc' since it has no log address.",
    ]


@pytest.mark.parametrize(("name", "refused", "warnings"), [("prod-like.cfg", PROD_REFUSED, PROD_WARNINGS)])
def test_exact_alerts(name: str, refused: list[tuple[str, int]], warnings: list[str]) -> None:
    with pytest.raises(ConfigErrors) as info:
        parse(_text(name), name, env={})
    assert info.value.alerts == [_later(kw, name, line) for kw, line in refused] + [
        f"Error(s) found in configuration file : {name}",
        "Fatal errors found in configuration.",
    ]
    assert info.value.warnings == warnings


def _without_refused(name: str, refused: list[tuple[str, int]]) -> Config:
    lines = _text(name).split("\n")
    for _kw, line in refused:
        lines[line - 1] = "    # " + lines[line - 1].strip()  # keep the numbering
    return parse("\n".join(lines), name, env={}, model_only=True)


def _px(config: Config, name: str) -> Proxy:
    (p,) = [p for p in config.proxies if p.name == name]
    return p


def test_prod_like_model() -> None:
    config = _without_refused("prod-like.cfg", PROD_REFUSED)
    g = config.global_
    assert (g.daemon, g.maxconn, g.nbthread, g.pidfile) == (True, 50000, 4, "/tmp/lab3/haproxy.pid")
    assert [(t.kind, t.address, t.facility, t.level) for t in g.logs] == [
        ("udp", ("127.0.0.1", 514), "local0", "info"), ("stdout", "", "local1", "notice")]
    (sock,) = g.stats_sockets
    assert (sock.address, sock.mode, sock.level, sock.expose_fd) == ("/tmp/lab3/admin.sock", 0o660, "admin", True)
    assert (g.stats_timeout, g.tune_bufsize, g.tune_maxhdr, g.hard_stop_after) == (30.0, 32768, 128, 30.0)
    assert g.settings["ssl-default-bind-ciphers"].startswith("ECDHE-RSA-AES128-GCM-SHA256")
    assert g.settings["chroot"] == "/tmp/lab3"

    assert [(p.name, p.kind, p.id) for p in config.proxies] == [
        ("www", "frontend", 2), ("per_ip", "backend", 3), ("app", "backend", 4), ("api", "backend", 5),
        ("static", "backend", 6), ("sticky", "backend", 7), ("b_urlp", "backend", 8), ("b_hdr", "backend", 9),
        ("b_rand", "backend", 10), ("b_first", "backend", 11), ("b_srr", "backend", 12),
        ("tcp_db", "listen", 13), ("tls_pass", "listen", 14), ("stats", "listen", 15),
    ]
    www = _px(config, "www")
    assert (www.mode, www.maxconn, www.http_conn_mode, www.default_backend) == ("http", 3000, "keep-alive", "app")
    assert [(b.port, b.options) for b in www.binds] == [
        (80, {}), (443, {"ssl": True, "crt": ["/tmp/lab3/site.pem"], "alpn": "h2,http/1.1"}),
        (8443, {"ssl": True, "crt": ["/tmp/lab3/certs/"], "accept-proxy": True})]
    assert sorted(www.acls) == ["bad_src", "exact_path", "has_token", "host_beg", "is_admin", "is_api",
                                "is_post", "is_static", "re_path"]
    assert [(u.backend, u.cond.text if u.cond else None) for u in www.use_backends] == [
        ("api", "if is_api"), ("static", "unless !is_static")]
    assert www.log_format is not None and www.log_format.startswith("%ci:%cp [%tr] %ft")
    assert www.forwardfor is not None and www.forwardfor.except_net == "127.0.0.0/8"
    t = www.timeouts
    assert (t.connect, t.client, t.server, t.queue, t.http_request, t.http_keep_alive, t.check, t.tunnel) == (
        5.0, 30.0, 30.0, 30.0, 10.0, 2.0, 3.0, 3600.0)

    app = _px(config, "app")
    assert (app.check.kind, app.check.method, app.check.uri, app.check.version) == ("http", "GET", "/health", "HTTP/1.1")
    assert app.check.headers == [("Host", "www.example.com")]
    assert app.check.expects == [HttpExpect("status", "200")]
    a1, a2, a3, a4, a5, a6 = app.servers
    assert (a1.cookie, a1.weight, a1.inter, a1.fastinter, a1.downinter, a1.slowstart, a1.maxconn, a1.maxqueue) == (
        "a1", 100, 2.0, 0.5, 5.0, 30.0, 500, 100)
    assert (a2.check_port, a2.check_addr) == (9000, "10.0.0.22")
    assert a3.options == {"check-ssl": True, "ssl": True, "verify": "none"} and a3.send_proxy
    assert (a4.backup, a5.disabled, a5.check) == (True, True, False)
    assert a6.options == {"agent-check": True, "agent-port": "9999", "agent-inter": "5s"}

    api = _px(config, "api")
    assert (api.balance.algo, api.balance.hash_type) == ("leastconn", "consistent")
    assert (api.check.method, api.check.uri, api.check.version, api.check.headers) == (
        "GET", "/status", "HTTP/1.1", [("Host", "api.example.com")])
    assert api.check.expects == [HttpExpect("rstatus", "^2")]
    static = _px(config, "static")
    assert (static.balance.algo, static.balance.uri_whole, static.check.kind) == ("uri", True, "http")
    assert static.check.expects == [HttpExpect("string", "OK")]
    assert _px(config, "b_hdr").balance.param == "host" and _px(config, "b_hdr").balance.use_domain_only
    assert _px(config, "b_rand").balance.random_draws == 2
    assert _px(config, "b_first").servers[0].maxconn == 10

    db = _px(config, "tcp_db")
    assert (db.mode, db.log_format, db.check.kind) == ("tcp", TCP_LOG_FORMAT, "tcp-check")
    assert db.check.tcp_rules == [
        TcpCheckRule("connect", port=3306), TcpCheckRule("send", data=b"PING\r\n"),
        TcpCheckRule("send-binary", data=b"\n\x0b"), TcpCheckRule("expect", data=b"+PONG", match="string"),
        TcpCheckRule("expect", data=b"\n\x0b", match="binary")]
    assert db.forwardfor is None  # HTTP only: dropped with a warning
    assert _px(config, "tls_pass").check.kind == "ssl-hello"
    stats = _px(config, "stats")
    assert stats.stats["uri"] == "/haproxy?stats" and stats.stats["realm"] == "Haproxy Statistics"
    assert stats.stats["auth"] == ["admin:secret"] and len(stats.stats["admin"]) == 1
    assert stats.log_format == HTTP_LOG_FORMAT
    assert any("'option forwardfor' ignored for proxy 'tcp_db'" in w for w in config.warnings)


def test_lab_model() -> None:
    config = _without_refused("lab-haproxy.cfg", [])
    g = config.global_
    assert [(s.address, s.level) for s in g.stats_sockets] == [
        ("/tmp/lab/admin.sock", "admin"), ("/tmp/lab/oper.sock", "operator"), ("/tmp/lab/user.sock", "user")]
    assert (g.stats_timeout, g.env) == (120.0, {"FOO": "bar"})
    # ids as in samples/show_stat.csv: fe_http 2, st_src 3, be_app 4, be_api 5, stats 6, tcp_svc 7
    assert [(p.name, p.id) for p in config.proxies] == [
        ("fe_http", 2), ("st_src", 3), ("be_app", 4), ("be_api", 5), ("stats", 6), ("tcp_svc", 7)]
    be_app = _px(config, "be_app")
    assert [(s.name, s.id, s.port, s.check, s.disabled, s.backup, s.cookie, s.weight) for s in be_app.servers] == [
        ("app1", 1, 18081, True, False, False, "a1", 10), ("app2", 2, 18082, True, False, False, "a2", 1),
        ("app3", 3, 18089, True, False, False, "a3", 1), ("app4", 4, 18083, False, True, False, None, 1),
        ("app5", 5, 18083, False, False, True, None, 1)]
    assert (be_app.servers[0].inter, be_app.servers[1].maxconn, be_app.servers[1].maxqueue) == (1.0, 50, 10)
    assert (be_app.check.method, be_app.check.uri) == ("GET", "/")
    api2 = _px(config, "be_api").servers[1]
    assert (api2.host, api2.port) == ("::1", 18082)
    fe = _px(config, "fe_http")
    assert "socket-stats" in fe.options and fe.use_backends[0].backend.startswith("%[req.hdr(host)")
    assert [(b.host, b.port) for b in fe.binds] == [("127.0.0.1", 18080)]
    assert _px(config, "tcp_svc").balance.algo == "source"
    stats = _px(config, "stats")
    assert stats.stats["uri"] == "/stats" and stats.stats["refresh"] == 10.0
    # same as `haproxy -c` on this file (once its map file exists)
    assert config.warnings == [
        "log format ignored for frontend 'fe_http' since it has no log address.",
        "log format ignored for proxy 'stats' since it has no log address.",
        "parsing [lab-haproxy.cfg:14] : 'option httplog' not usable with proxy 'tcp_svc' (needs 'mode http'). "
        "Falling back to 'option tcplog'.",
        "log format ignored for proxy 'tcp_svc' since it has no log address.",
    ]

