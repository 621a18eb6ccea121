"""`http-request use-service prometheus-exporter [if|unless <cond>]`, and every other
`http-request` action still refused.

Each case's expected messages are those of `haproxy -c` (2.6.12); cases marked `same` are run
through a real haproxy too when one is installed. The trio-lb-only texts ("not supported by
trio-lb yet") are marked `ours`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.config.casefiles import split_haproxy_stderr
from trio_lb.config import ConfigErrors, parse
from trio_lb.config.model import UseService
from trio_lb.rules.cond import eval_condition
from trio_lb.rules.sample import RequestView

HAPROXY = shutil.which("haproxy")

HEAD = """defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
"""  # lines 1-5; a case's first line is line 6


def fe(*lines: str) -> str:
    return HEAD + "frontend f\n    bind 127.0.0.1:18999\n" + "".join(f"    {x}\n" for x in lines)  # rules from line 8


def _loc(line: int, tight: bool = False) -> str:
    return f"parsing [t.cfg:{line}]{'' if tight else ' '}: "


ABORT = ["Error(s) found in configuration file : t.cfg"]
FATAL = ABORT + ["Fatal errors found in configuration."]

# (id, config, alerts or None when valid, warnings, checked against haproxy -c)
CASES = [
    ("if", fe("http-request use-service prometheus-exporter if { path /metrics }"), None, [], True),
    ("always", fe("http-request use-service prometheus-exporter"), None, [], True),
    ("unless", fe("http-request use-service prometheus-exporter unless { path /x }"), None, [], True),
    ("named-acl", fe("acl m path /metrics", "http-request use-service prometheus-exporter if m"), None, [], True),
    ("backend", HEAD + "frontend f\n    bind 127.0.0.1:18999\n    default_backend b\nbackend b\n"
     "    http-request use-service prometheus-exporter if { path /metrics }\n", None, [], True),
    ("listen", HEAD + "listen l\n    bind 127.0.0.1:18999\n"
     "    http-request use-service prometheus-exporter if { path /metrics }\n", None, [], True),
    ("named-defaults", HEAD.replace("defaults", "defaults d1") + "    http-request use-service prometheus-exporter\n"
     "frontend f from d1\n    bind 127.0.0.1:18999\n", None, [], True),
    ("after-use_backend", fe("use_backend b if { path /x }", "http-request use-service prometheus-exporter",
                             "default_backend b") + "backend b\n",
     None, [_loc(9) + "a 'http-request' rule placed after a 'use_backend' rule will still be processed before."], True),
    ("unknown-service", fe("http-request use-service foo if { path /metrics }"),
     [_loc(8) + "error detected in frontend 'f' while parsing 'http-request use-service' rule : "
      "'foo' unknown service name.."] + ABORT, [], True),
    ("service-case", HEAD + "listen l\n    bind 127.0.0.1:18999\n    http-request use-service Prometheus-Exporter\n",
     [_loc(8) + "error detected in proxy 'l' while parsing 'http-request use-service' rule : "
      "'Prometheus-Exporter' unknown service name.."] + ABORT, [], True),
    ("no-service", fe("http-request use-service"),
     [_loc(8) + "error detected in frontend 'f' while parsing 'http-request use-service' rule : "
      "'use-service' expects a service name.."] + ABORT, [], True),
    ("garbage", fe("http-request use-service prometheus-exporter foo"),
     [_loc(8, tight=True) + "'http-request use-service' expects either 'if' or 'unless' followed by a condition "
      "but found 'foo'."] + ABORT, [], True),
    ("bad-cond", fe("http-request use-service prometheus-exporter if nosuchacl"),
     [_loc(8) + "error detected while parsing an 'http-request use-service' condition : no such ACL : "
      "'nosuchacl'."] + ABORT, [], True),
    ("abort-stops-parsing", fe("http-request use-service foo", "bogus-keyword"),
     [_loc(8) + "error detected in frontend 'f' while parsing 'http-request use-service' rule : "
      "'foo' unknown service name.."] + ABORT, [], True),
    ("anonymous-defaults", HEAD + "    http-request use-service prometheus-exporter\n"
     "frontend f\n    bind 127.0.0.1:18999\n",
     [_loc(6) + "'http-request' not allowed in anonymous 'defaults' section."] + FATAL, [], True),
    ("other-action", fe("http-request deny if { path /x }"), None, [], True),
    ("unsupported-action", fe("http-request tarpit"),
     [_loc(8) + "'http-request tarpit' is not supported by trio-lb yet."] + FATAL, [], False),
]


def _run(text: str) -> tuple[list[str] | None, list[str]]:
    try:
        config = parse(text, "t.cfg", env={})
    except ConfigErrors as e:
        return e.alerts, e.warnings
    return None, config.warnings


@pytest.mark.parametrize(("text", "alerts", "warnings"), [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_messages(text: str, alerts: list[str] | None, warnings: list[str]) -> None:
    assert _run(text) == (alerts, warnings)


SAME = [c for c in CASES if c[4]]


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")
@pytest.mark.parametrize(("text", "alerts", "warnings"), [c[1:4] for c in SAME], ids=[c[0] for c in SAME])
def test_haproxy_says_the_same(tmp_path: Path, text: str, alerts: list[str] | None, warnings: list[str]) -> None:
    assert HAPROXY is not None
    version = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    if "version 2.6." not in version:
        pytest.skip("the expected texts are those of HAProxy 2.6")
    (tmp_path / "t.cfg").write_text(text)
    proc = subprocess.run([HAPROXY, "-c", "-f", "t.cfg"], cwd=tmp_path, capture_output=True, text=True, timeout=30,
                          check=False, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    got_alerts, got_warnings = split_haproxy_stderr(proc.stderr)
    assert (got_alerts or None, got_warnings) == (alerts, warnings)
    assert (proc.returncode == 0) == (alerts is None)


def _view(path: str) -> RequestView:
    return RequestView("127.0.0.1", 40000, "127.0.0.1", 18999, method="GET", target=path,
                       headers=[(b"host", b"lb")])


def test_the_model_holds_the_rule_and_its_condition() -> None:
    config = parse(fe("http-request use-service prometheus-exporter if { path /metrics }",
                      "http-request use-service prometheus-exporter unless { path_beg /app }"), "t.cfg", env={})
    (px,) = config.proxies
    first, second = px.http_services
    assert isinstance(first, UseService)
    assert (first.name, first.file, first.line, second.line) == ("prometheus-exporter", "t.cfg", 8, 9)
    assert eval_condition(first.cond, _view("/metrics")) and not eval_condition(first.cond, _view("/"))
    assert eval_condition(second.cond, _view("/x")) and not eval_condition(second.cond, _view("/app/1"))


def test_without_condition_the_rule_always_applies() -> None:
    (px,) = parse(fe("http-request use-service prometheus-exporter"), "t.cfg", env={}).proxies
    (svc,) = px.http_services
    assert svc.cond is None and eval_condition(svc.cond, _view("/anything"))


def test_named_defaults_rules_come_first() -> None:
    text = (HEAD.replace("defaults", "defaults d1") + "    http-request use-service prometheus-exporter if { path /a }\n"
            "frontend f from d1\n    bind 127.0.0.1:18999\n"
            "    http-request use-service prometheus-exporter if { path /b }\n")
    (px,) = parse(text, "t.cfg", env={}).proxies
    assert [s.line for s in px.http_services] == [6, 9]


def test_a_tcp_proxy_drops_the_rule_with_haproxys_warning() -> None:
    """haproxy -c warns "'http-request' rules ignored for proxy 'l' as they require HTTP mode."
    from its post-parse checks (config/validate.py), and the rule is gone from the model."""
    text = HEAD + "listen l\n    mode tcp\n    bind 127.0.0.1:18999\n    http-request use-service prometheus-exporter\n"
    config = parse(text, "t.cfg", env={})
    (px,) = config.proxies
    assert px.mode == "tcp" and px.http_services == []
    assert any("'http-request' rules ignored for proxy 'l' as they require HTTP mode." in w for w in config.warnings)
