"""`cookie`, `force-persist`, `ignore-persist`: parsing and haproxy -c's messages (checked against 2.6.12)."""

from __future__ import annotations

import pytest

import trio_lb.config as config_pkg
from trio_lb.config import ConfigErrors
from trio_lb.config.keywords.persist import (
    CookieSpec,
    PersistRule,
    mode_warnings,
    server_warnings,
)

HEAD = "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n"


def parse(body: str, section: str = "backend b\n"):
    return config_pkg.parse(HEAD + section + body, "e.cfg")


def errors(body: str, section: str = "backend b\n") -> ConfigErrors:
    with pytest.raises(ConfigErrors) as info:
        parse(body, section)
    return info.value


def test_full_cookie_line():
    cfg = parse('  cookie SRV insert indirect nocache postonly preserve httponly secure domain .a.com '
                'domain .b.com maxidle 30m maxlife 2d dynamic attr "SameSite=None" attr X\n')
    assert cfg.proxies[0].cookie == CookieSpec(
        name="SRV", insert=True, indirect=True, nocache=True, postonly=True, preserve=True, httponly=True,
        secure=True, dynamic=True, domain=".a.com; domain=.b.com", maxidle=1800, maxlife=172800,
        attrs="SameSite=None; X")


@pytest.mark.parametrize("words,mode", [
    ("", None), ("rewrite", "rewrite"), ("insert", "insert"), ("prefix", "prefix"), ("indirect", None),
])
def test_modes(words, mode):
    spec = parse(f"  cookie C {words}\n").proxies[0].cookie
    assert [m for m in ("rewrite", "insert", "prefix") if getattr(spec, m)] == ([mode] if mode else [])
    assert spec.any_mode == bool(words)


def test_defaults_inherited_and_new_line_resets_all_but_attrs():
    # HAProxy 2.6.12 answers "set-cookie: S=c1; path=/; A; B" for this configuration
    cfg = config_pkg.parse(HEAD + "  cookie D insert attr A domain x.com maxidle 10\nbackend a\nbackend b\n"
                           "  cookie S insert attr B\n", "e.cfg")
    a, b = cfg.proxies
    assert a.cookie == CookieSpec(name="D", insert=True, attrs="A", domain="x.com", maxidle=10)
    assert b.cookie == CookieSpec(name="S", insert=True, attrs="A; B")


def test_persist_rules_in_order():
    cfg = parse("  acl a hdr(x) -m found\n  force-persist if a\n  ignore-persist unless a\n")
    rules = cfg.proxies[0].persist_rules
    assert [(r.kind, r.cond.unless, r.line) for r in rules] == [("force", False, 8), ("ignore", True, 9)]
    assert all(isinstance(r, PersistRule) for r in rules)


# Every line below gave exactly this body under haproxy -c (2.6.12); note the missing space before
# the colon in the option-level messages, as in HAProxy.
@pytest.mark.parametrize("line,message", [
    ("cookie", "parsing [e.cfg:7] : 'cookie' expects <cookie_name> as argument."),
    ("cookie S rewrite indirect", "parsing [e.cfg:7] : cookie 'rewrite' and 'indirect' modes are incompatible."),
    ("cookie S insert prefix", "parsing [e.cfg:7] : cookie 'rewrite', 'insert' and 'prefix' modes are incompatible."),
    ("cookie S preserve", "parsing [e.cfg:7] : cookie 'preserve' requires at least 'insert' or 'indirect'."),
    ("cookie S insert foo",
     ("parsing [e.cfg:7] : 'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', "
      "'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.")),
    ("cookie S insert domain", "parsing [e.cfg:7]: 'domain' expects <domain> as argument."),
    ("cookie S insert domain a/b.c", "parsing [e.cfg:7]: character '/' is not permitted in domain name 'a/b.c'."),
    ("cookie S insert maxidle", "parsing [e.cfg:7]: 'maxidle' expects <idletime> in seconds as argument."),
    ("cookie S insert maxlife", "parsing [e.cfg:7]: 'maxlife' expects <lifetime> in seconds as argument."),
    ("cookie S insert maxidle 1x", "parsing [e.cfg:7]: unexpected character 'x' in argument to <maxidle>."),
    ("cookie S insert maxlife 99999999999",
     ("parsing [e.cfg:7]: timer overflow in argument <99999999999> to <maxlife>, maximum value is 2147483647 s "
      "(~68 years).")),
    ("cookie S insert attr", "parsing [e.cfg:7]: 'attr' expects <value> as argument."),
    ('cookie S insert attr "a;b"', "parsing [e.cfg:7]: character '%x3B' is not permitted in attribute value."),
    ("force-persist", "parsing [e.cfg:7] : 'force-persist' requires either 'if' or 'unless' followed by a condition."),
    ("ignore-persist foo",
     "parsing [e.cfg:7] : 'ignore-persist' requires either 'if' or 'unless' followed by a condition."),
    ("force-persist if nosuch",
     "parsing [e.cfg:7] : error detected while parsing a 'force-persist' rule : no such ACL : 'nosuch'."),
    ("ignore-persist unless TRUE foo",
     "parsing [e.cfg:7] : error detected while parsing a 'ignore-persist' rule : no such ACL : 'foo'."),
])
def test_errors_match_haproxy(line, message):
    err = errors(f"  {line}\n")
    assert err.alerts[0] == message
    assert err.alerts[-1] == "Fatal errors found in configuration."


def test_both_mode_alerts_on_one_line():
    err = errors("  cookie S rewrite insert prefix indirect\n")
    assert err.alerts[:2] == [
        "parsing [e.cfg:7] : cookie 'rewrite' and 'indirect' modes are incompatible.",
        "parsing [e.cfg:7] : cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.",
    ]


def test_warnings_match_haproxy():
    cfg = parse("  bind 127.0.0.1:0\n  cookie S insert dynamic domain localhost maxidle 10sx\n"
                "  force-persist if TRUE\n", "frontend f\n")
    assert cfg.warnings[:5] == [
        "parsing [e.cfg:8] : 'cookie' ignored because frontend 'f' has no backend capability.",
        "parsing [e.cfg:8] : 'dynamic' ignored because frontend 'f' has no backend capability.",
        ("parsing [e.cfg:8]: domain 'localhost' contains no embedded dot, this configuration may not work properly "
         "(see RFC6265#5.2.3)."),
        ("unexpected character 'x' after the timer value '10sx', only (us=microseconds,ms=milliseconds,s=seconds,"
         "m=minutes,h=hours,d=days) are supported. This will be reported as an error in next versions."),
        "parsing [e.cfg:9] : 'force-persist' ignored because frontend 'f' has no backend capability.",
    ]


def test_persist_rules_refused_in_defaults():
    with pytest.raises(ConfigErrors) as info:
        config_pkg.parse("defaults\n  force-persist if TRUE\n", "d.cfg")
    assert info.value.alerts[0] == "parsing [d.cfg:2] : 'force-persist' not allowed in 'defaults' section."


def test_post_parse_warnings_in_tcp_mode():
    # haproxy -c: "cookie will be ignored for backend 'b1' (needs 'mode http')." then, after the
    # other proxy checks, "backend 'b1' : ignoring cookie for server 's1' as HTTP mode is disabled."
    cfg = config_pkg.parse("defaults\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n"
                           "backend b1\n  mode tcp\n  cookie S insert\n  server s1 127.0.0.1:80 cookie a\n"
                           "  server s2 127.0.0.1:81\nlisten l\n  mode http\n  bind :0\n  cookie S insert\n"
                           "  server s1 127.0.0.1:80 cookie a\n", "t.cfg")
    b1, lst = cfg.proxies
    assert mode_warnings(b1) == ["cookie will be ignored for backend 'b1' (needs 'mode http')."]
    assert server_warnings(b1) == ["backend 'b1' : ignoring cookie for server 's1' as HTTP mode is disabled."]
    assert mode_warnings(lst) == [] and server_warnings(lst) == []
    b1.cookie = None
    assert mode_warnings(b1) == []
