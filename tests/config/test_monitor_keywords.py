"""`monitor-uri` and `monitor fail`: parsing and haproxy -c's messages (checked against 2.6.12)."""

from __future__ import annotations

import pytest

import trio_lb.config as config_pkg
from trio_lb.config import ConfigErrors

HEAD = "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n"


def parse(body: str, section: str = "frontend f\n  bind 127.0.0.1:0\n"):
    return config_pkg.parse(HEAD + section + body, "e.cfg")


def errors_text(body: str, section: str = "frontend f\n  bind 127.0.0.1:0\n") -> str:
    with pytest.raises(ConfigErrors) as info:
        parse(body, section)
    return str(info.value)


def test_monitor_uri_and_conditions_are_stored():
    cfg = parse("  acl bad hdr(x) -m found\n  monitor-uri /alive\n  monitor fail if bad\n  monitor fail unless TRUE\n")
    fe = cfg.proxies[0]
    assert fe.monitor_uri == "/alive"
    assert [c.unless for c in fe.monitor_fail] == [False, True]
    assert fe.monitor_fail[0].text == "if bad"


def test_monitor_uri_is_inherited_from_defaults_and_replaced():
    cfg = config_pkg.parse(HEAD + "  monitor-uri /d\nfrontend a\n  bind 127.0.0.1:0\nfrontend b\n"
                           "  bind 127.0.0.1:0\n  monitor-uri /b\n", "e.cfg")
    assert [p.monitor_uri for p in cfg.proxies] == ["/d", "/b"]


@pytest.mark.parametrize("line,message", [
    ("monitor-uri", "parsing [e.cfg:8] : 'monitor-uri' expects an URI."),
    ("monitor-uri /a /b", "parsing [e.cfg:8] : 'monitor-uri' cannot handle unexpected argument '/b'."),
    ("monitor", "parsing [e.cfg:8] : 'monitor' only supports 'fail'."),
    ("monitor foo", "parsing [e.cfg:8] : 'monitor' only supports 'fail'."),
    ("monitor fail", "parsing [e.cfg:8] : 'monitor fail' requires either 'if' or 'unless' followed by a condition."),
    ("monitor fail if nosuch",
     "parsing [e.cfg:8] : error detected while parsing a 'monitor fail' condition : no such ACL : 'nosuch'."),
    ("monitor fail if { hdr(x) -m bogus }",
     ("parsing [e.cfg:8] : error detected while parsing a 'monitor fail' condition : unknown matching method "
     "'bogus' when parsing ACL expression.")),
])
def test_errors_match_haproxy(line, message):
    assert message in errors_text(f"  {line}\n")


def test_monitor_not_allowed_in_defaults():
    with pytest.raises(ConfigErrors) as info:
        config_pkg.parse("defaults\n  mode http\n  monitor fail if TRUE\n", "e3.cfg")
    assert "parsing [e3.cfg:3] : 'monitor' not allowed in 'defaults' section." in str(info.value)


def test_backend_only_warns():
    cfg = parse("  monitor-uri /x\n  monitor fail if TRUE\n  server s 127.0.0.1:1\n", "backend b\n")
    assert "parsing [e.cfg:7] : 'monitor-uri' ignored because backend 'b' has no frontend capability." in cfg.warnings
    assert "parsing [e.cfg:8] : 'monitor' ignored because backend 'b' has no frontend capability." in cfg.warnings
