"""`stick-table`, `stick ...` and `tcp-request ...`: parsing and haproxy -c's messages
(every expected text below was printed by haproxy 2.6.12 -c for the same line)."""

from __future__ import annotations

import pytest

import trio_lb.config as config_pkg
from trio_lb.config import ConfigErrors
from trio_lb.config.keywords.stick import (
    check_references,
    content_warnings,
    stick_request,
    stick_store,
)
from trio_lb.rules.context import RuleContext
from trio_lb.rules.sample import RequestView
from trio_lb.state.sticktables import build_tables

HEAD = "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n"
BE = "backend b2\n"
FE = ("backend b1\n  stick-table type ip size 100 expire 30s store conn_rate(10s),gpc0\n"
      "  server s 127.0.0.1:80\nfrontend f\n  bind :8080\n  default_backend b1\n")  # rule at line 12


def parse(body: str, section: str = BE):
    return config_pkg.parse(HEAD + section + body, "t.cfg")


def errors_text(body: str, section: str = BE) -> str:
    with pytest.raises(ConfigErrors) as info:
        parse(body, section)
    return str(info.value)


def test_table_spec() -> None:
    cfg = parse("  stick-table type string len 8 size 100k expire 30s nopurge store gpc(2),http_req_rate(10s)\n"
                "  server s 127.0.0.1:80\n")
    spec = cfg.proxies[0].stick_table
    assert (spec.type, spec.key_size, spec.size, spec.expire, spec.nopurge) == ("string", 9, 102400, 30000, True)
    assert spec.store["gpc"].nbelem == 2 and spec.store["http_req_rate"].period == 10000


@pytest.mark.parametrize("line,message", [
    ("stick-table type ip", "parsing [t.cfg:7] : stick-table: missing size."),
    ("stick-table size 10", "parsing [t.cfg:7] : stick-table: missing type."),
    ("stick-table type foo size 1", "parsing [t.cfg:7] : stick-table: unknown type 'foo'."),
    ("stick-table type ip size 1x", "parsing [t.cfg:7] : stick-table: unexpected character 'x' in argument of 'size'."),
    ("stick-table type ip size 10 expire 5q",
     "parsing [t.cfg:7] : stick-table: unexpected character 'q' in argument of 'expire'."),
    ("stick-table type ip size 10 expire", "parsing [t.cfg:7] : stick-table: missing argument after 'expire'."),
    ("stick-table type ip size 10 store foo", "parsing [t.cfg:7] : stick-table: unknown store option 'foo'."),
    ("stick-table type ip size 10 store conn_rate",
     "parsing [t.cfg:7] : stick-table: missing argument to store option 'conn_rate'."),
    ("stick-table type ip size 10 store gpc0(3)",
     "parsing [t.cfg:7] : stick-table: unexpected argument to store option 'gpc0'."),
    ("stick-table type ip size 10 store conn_rate(10s",
     "parsing [t.cfg:7] : stick-table: missing closing parenthesis after store option 'conn_rate'."),
    ("stick-table type ip size 10 store gpc(0)",
     "parsing [t.cfg:7] : stick-table: array size is out of allowed range (1-100) for store option 'gpc'."),
    ("stick-table type ip size 10 bogus", "parsing [t.cfg:7] : stick-table: unknown argument 'bogus'."),
    ("stick-table type ip size 10 store gpc(2),gpc0",
     "parsing [t.cfg:7] : stick-table: simultaneous usage of 'gpc' and 'gpc[0/1]' in a same table is not "
     "permitted as 'gpc' overrides 'gpc[0/1]'."),
    ("stick-table type string len 0 size 10", "parsing [t.cfg:7] : stick-table: unknown type '0'."),
    ("stick-table type ip size 10 srvkey foo", "parsing [t.cfg:7] : stick-table : unknown server key type 'foo'."),
])
def test_stick_table_errors(line: str, message: str) -> None:
    assert message in errors_text(f"  {line}\n  server s 127.0.0.1:80\n")


def test_stick_table_duplicate_and_repeated_store() -> None:
    assert ("parsing [t.cfg:9] : stick-table name 'b2' conflicts with table declared in backend 'b2' at t.cfg:7."
            in errors_text("  stick-table type ip size 10\n  server s 127.0.0.1:80\n  stick-table type ip size 10\n"))
    cfg = parse("  stick-table type ip size 10 store gpc0,gpc0\n  server s 127.0.0.1:80\n")
    assert "parsing [t.cfg:7]: stick-table: store option 'gpc0' already enabled, ignored." in cfg.warnings


@pytest.mark.parametrize("line,message", [
    ("stick on foo", "parsing [t.cfg:12] : 'stick': unknown fetch method 'foo'"),
    ("stick on src,bar", "parsing [t.cfg:12] : 'stick': unknown converter 'bar'"),
    ("stick on hdr(x", "parsing [t.cfg:12] : 'stick': fetch method 'hdr' : expected ')'"),
    ("stick on", "parsing [t.cfg:12] : 'stick' expects a fetch method."),
    ("stick foo src", "parsing [t.cfg:12] : 'stick' expects 'on', 'match', or 'store'."),
    ("stick on src junk", "parsing [t.cfg:12] : 'stick': unknown keyword 'junk'."),
    ("stick on src if nope",
     "parsing [t.cfg:12] : 'stick': error detected while parsing sticking condition : no such ACL : 'nope'."),
    ("stick on res.hdr(x)", "parsing [t.cfg:12] : 'stick': fetch method 'res.hdr' extracts information from "
                            "'HTTP response headers', none of which is available during request."),
])
def test_stick_rule_errors(line: str, message: str) -> None:
    body = "  server s 127.0.0.1:80\n" + f"  {line}\n"
    section = FE.replace("frontend f\n  bind :8080\n  default_backend b1\n", "backend b2\n  server t 127.0.0.1:81\n")
    assert message in errors_text(body, section)


@pytest.mark.parametrize("line,message", [
    ("tcp-request connection track-sc0 foo", "parsing [t.cfg:12] : 'tcp-request connection track-sc0' : unknown fetch method 'foo'"),
    ("tcp-request connection track-sc3 src", "parsing [t.cfg:12] : 'tcp-request connection track-sc3' : 3 track-sc "
                                             "number exceeding 2 (MAX_SESS_STKCTR-1) value"),
    ("tcp-request connection track-sc0 hdr(host)", "parsing [t.cfg:12] : 'tcp-request connection track-sc0' : fetch "
     "method 'hdr(host)' extracts information from 'HTTP request headers,HTTP response headers', none of which is "
     "available here"),
    ("tcp-request content track-sc1 src table b1 junk", "parsing [t.cfg:12] : 'tcp-request content track-sc1' only "
                                                        "accepts 'if' or 'unless', in frontend 'f' (got 'junk')"),
    ("tcp-request connection reject junk", "parsing [t.cfg:12] : 'tcp-request connection reject' only accepts 'if' "
                                           "or 'unless', in frontend 'f' (got 'junk')"),
    ("tcp-request content reject if nope", "parsing [t.cfg:12] : 'tcp-request content reject' : error detected in "
                                           "frontend 'f' while parsing 'if' condition : no such ACL : 'nope'"),
    ("tcp-request frob", "parsing [t.cfg:12] : 'tcp-request' expects 'inspect-delay', 'connection', or 'content' "
                         "in frontend 'f' (got 'frob')"),
    ("tcp-request", "parsing [t.cfg:12] : missing argument for 'tcp-request' in frontend 'f'"),
    ("tcp-request inspect-delay", "parsing [t.cfg:12] : 'tcp-request inspect-delay' expects a positive delay in "
                                  "milliseconds, in frontend 'f'"),
    ("tcp-request inspect-delay 10x", "parsing [t.cfg:12] : 'tcp-request inspect-delay' expects a positive delay in "
                                      "milliseconds, in frontend 'f' (unexpected character 'x')"),
    ("tcp-request connection frob", "parsing [t.cfg:12] : 'tcp-request connection' expects 'accept', 'reject', "
     "'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', 'sc-inc-gpc(*)', "
     "'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'set-var-fmt(*)', 'set-var(*)', "
     "'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', 'silent-drop' "
     "in frontend 'f' (got 'frob').\n"),
    ("tcp-request connection silent-drop", "parsing [t.cfg:12] : 'tcp-request' is not supported by trio-lb yet."),
])
def test_tcp_request_errors(line: str, message: str) -> None:
    assert message in errors_text(f"  {line}\n", FE)


def test_post_parse_checks() -> None:
    body = ("  tcp-request connection track-sc0 src table nope\n  tcp-request content track-sc1 src\n"
            "  tcp-request content track-sc2 req.hdr(host) table b1\n")
    with pytest.raises(ConfigErrors) as info:  # the missing tables are fatal, as in haproxy -c
        parse(body, FE)
    assert info.value.alerts == [
        "Proxy 'f': unable to find table 'nope' referenced by track-sc0.",
        "Proxy 'f': unable to find table 'f' referenced by track-sc1.",
        "Fatal errors found in configuration.",
    ]
    assert info.value.warnings[-2:] == [
        "frontend 'f' : a 'tcp-request content track-sc*' rule not depending on request contents for an HTTP "
        "frontend should be executed at the session level, using a 'tcp-request session' rule (mandatory to track "
        "invalid HTTP requests).",
        "frontend 'f' : a 'tcp-request content track-sc*' rule explicitly depending on request contents without any "
        "'tcp-request inspect-delay' setting. This means that this rule will randomly find its contents. This can "
        "be fixed by setting the tcp-request inspect-delay.",
    ]


def test_stick_on_match_then_store() -> None:
    cfg = parse("  stick-table type ip size 10 expire 30m\n  stick on src\n  stick store-response hdr(x)\n"
                "  server s 127.0.0.1:80\n")
    be = cfg.proxies[0]
    tables = build_tables(cfg)
    assert tables["b2"].has("server_id") and tables["b2"].has("server_key")
    view = RequestView("10.0.0.7", 1234, "127.0.0.1", 80)
    view.ctx = RuleContext(tables=tables)
    first = stick_request(be.stick_rules, view, tables, 1.0)
    assert first.server_id is None and len(first.pending) == 1
    assert stick_store(be.stick_rules, view, tables, 2, 1.5, pending=first.pending, server_name="s") == 1
    again = stick_request(be.stick_rules, view, tables, 2.0)
    assert again.server_id == 2
    # the caller refuses the stored server (e.g. DOWN without option persist): no assignment
    assert stick_request(be.stick_rules, view, tables, 2.0, usable=lambda name, sid: None).server_id is None
    assert check_references(cfg) == []
