"""monitor-uri / monitor fail answers, byte-compared with HAProxy 2.6.12's (captured with socat)."""

from __future__ import annotations

import trio_lb.config as config_pkg
from trio_lb.http.monitor import is_monitor_request, monitor_bytes, monitor_reply
from trio_lb.rules.sample import RequestView

HAPROXY_200 = (b"HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
               b"<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n")
HAPROXY_503 = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\n"
               b"content-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\n"
               b"No server is available to handle this request.\n</body></html>\n")

CFG = """
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:0
    monitor-uri /health
    acl draining hdr(x-drain) -m found
    monitor fail if draining
    monitor fail unless { src 127.0.0.0/8 }
    default_backend be
frontend plain
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:1
"""


def proxies():
    cfg = config_pkg.parse(CFG, "m.cfg")
    return {p.name: p for p in cfg.proxies}


def view(target, src="127.0.0.1", headers=()):
    return RequestView(src, 1234, "127.0.0.1", 80, method="GET", target=target, headers=list(headers))


def test_200_is_haproxys_bytes():
    reply = monitor_reply(proxies()["fe"], view("/health"))
    assert reply is not None and reply[0] == 200
    assert monitor_bytes(reply) == HAPROXY_200


def test_monitor_fail_if_gives_503():
    reply = monitor_reply(proxies()["fe"], view("/health", headers=[(b"x-drain", b"1")]))
    assert monitor_bytes(reply) == HAPROXY_503


def test_monitor_fail_unless_gives_503():
    reply = monitor_reply(proxies()["fe"], view("/health", src="10.1.2.3"))
    assert reply[0] == 503


def test_only_the_exact_uri_matches():
    fe = proxies()["fe"]
    for target in ("/health?x", "/health/", "/HEALTH", "/healthz", "/"):
        assert monitor_reply(fe, view(target)) is None, target
    assert monitor_reply(fe, view("http://lb.example/health"))[0] == 200  # absolute form: its path
    assert monitor_reply(proxies()["plain"], view("/health")) is None


def test_uri_without_slash_compares_the_whole_uri():
    assert is_monitor_request("*", "*")
    assert not is_monitor_request("http://x/h", "/h")
    assert is_monitor_request("http://x/h", "http://x/h")
