"""`http-request` / `http-response` / `http-after-response` / `redirect` / `capture` / `errorfile` parsing.

Every expected message below was printed by `haproxy -c` (2.6.12) for the same lines; when haproxy is
installed the cases are run through it again.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.config.casefiles import split_haproxy_stderr
from trio_lb.config import ConfigErrors, parse

HAPROXY = shutil.which("haproxy")
HEAD = ("defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"
        "frontend f\n    bind 127.0.0.1:18999\n")  # the rules start at line 8


def config(lines: tuple[str, ...]) -> str:
    return HEAD + "".join(f"    {x}\n" for x in lines)


# (rule lines, alerts, warnings) -- alerts without haproxy's final summary lines
CASES = [
    (('http-request foo',),
     ["parsing [t.cfg:8]: 'http-request' expects <REQ>, but got 'foo'."],
     []),
    (('http-request',),
     ["parsing [t.cfg:8]: 'http-request' expects <REQ>, but got '' (missing argument)."],
     []),
    (('http-response foo',),
     ["parsing [t.cfg:8]: 'http-response' expects <RES>, but got 'foo'."],
     []),
    (('http-after-response foo',),
     ["parsing [t.cfg:8]: 'http-after-response' expects <AFTER>, but got 'foo'."],
     []),
    (('http-request set-headr x y',),
     ["parsing [t.cfg:8]: 'http-request' expects <REQ>, but got 'set-headr'. Did you mean 'set-header' maybe ?"],
     []),
    (('http-request set-header X %[req.hdr(host),nosuch]',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-header' rule : failed to parse sample expression <req.hdr(host),nosuch]> : unknown converter 'nosuch'."],
     []),
    (('http-request set-header X %[nosuch]',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-header' rule : failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'."],
     []),
    (('http-request set-header X %[path',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-header' rule : missing ']' after 'path'."],
     []),
    (('http-request set-header X %zz',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-header' rule : no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'."],
     []),
    (('http-request set-header X %[path]x%',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-header' rule : truncated line after '%'."],
     []),
    (('http-request set-header X a%1',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-header' rule : unexpected variable name near '1' at position 2 line : 'a%1'. Maybe you want to write a single '%', use the syntax '%%'."],
     []),
    (('http-request set-header X',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-header' rule : expects exactly 2 arguments."],
     []),
    (('http-request set-var(txn.x)',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-var(txn.x)' rule : missing fetch method."],
     []),
    (('http-request set-var(foo.x) path',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-var(foo.x)' rule : invalid variable name 'foo.x'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'."],
     []),
    (('http-request set-var(txn.x) path,nosuch',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-var(txn.x)' rule : unknown converter 'nosuch'."],
     []),
    (('http-request set-var(txn.x) path foo',),
     ["parsing [t.cfg:8]: 'http-request set-var(txn.x)' expects either 'if' or 'unless' followed by a condition but found 'foo'."],
     []),
    (('http-request capture path',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request capture' rule : expects <expression> [ 'len' <length> | id <idx> ]."],
     []),
    (('http-request capture path len',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request capture' rule : expects <expression> [ 'len' <length> | id <idx> ]."],
     []),
    (('http-request capture path len 0',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request capture' rule : length must be > 0."],
     []),
    (('http-request set-status 200',),
     ["parsing [t.cfg:8]: 'http-request' expects <REQ>, but got 'set-status'. Did you mean 'set-dst' maybe ?"],
     []),
    (('http-response set-status 99',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-response set-status' rule : expects an integer status code between 100 and 999."],
     []),
    (('http-response set-status 200 reason',),
     ["parsing [t.cfg:8]: 'http-response set-status' expects either 'if' or 'unless' followed by a condition but found 'reason'."],
     []),
    (('http-response set-status 200 reason Fine foo',),
     ["parsing [t.cfg:8]: 'http-response set-status' expects either 'if' or 'unless' followed by a condition but found 'foo'."],
     []),
    (('http-request del-header x -m foo',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request del-header' rule : -m with unsupported matching method 'foo'."],
     []),
    (('http-request redirect foo /x',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request redirect' rule : expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was 'foo')."],
     []),
    (('http-request redirect location',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request redirect' rule : missing argument for 'location'."],
     []),
    (('http-request redirect code 305 location /x',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request redirect' rule : 'code': unsupported HTTP code '305' (must be one of 301, 302, 303, 307 or 308)."],
     []),
    (('http-request redirect location /x if nosuch',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request redirect' rule : error in condition: no such ACL : 'nosuch'."],
     []),
    (('http-response redirect prefix /x',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-response redirect' rule : response only supports redirect type 'location'."],
     []),
    (('http-request deny deny_status',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request deny' rule : 'status' expects <status_code> as argument."],
     []),
    (('http-request deny status 100',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request deny' rule : Unexpected status code '100'."],
     []),
    (('http-request return status 200 string x',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request return' rule : a content type must be defined when non-empty payload is configured."],
     []),
    (('http-request return content-type text/plain file /nonexist',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request return' rule : error opening file '/nonexist'."],
     []),
    (('http-request return status 200 content-type a/b',),
     [],
     ["parsing [t.cfg:8] : content-type 'a/b' ignored by the http reply because neither errorfile nor payload defined."]),
    (('http-request return status 555 errorfile /nonexist',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request return' rule : error opening file '/nonexist'.."],
     []),
    (('http-request return status 201 default-errorfiles',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request return' rule : status code '201' not handled by default with 'default-errorfiles' argument.."],
     []),
    (('http-request return string x string y',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request return' rule : unexpected 'string' argument, 'string' already defined."],
     []),
    (('capture request header',),
     ["parsing [t.cfg:8] : 'capture request' expects 'header' <header_name> 'len' <len>."],
     []),
    (('capture request header Host len',),
     ["parsing [t.cfg:8] : 'capture request' expects 'header' <header_name> 'len' <len>."],
     []),
    (('capture request header Host len 10 x',),
     ["parsing [t.cfg:8] : 'capture request' cannot handle unexpected argument 'x'."],
     []),
    (('capture foo',),
     ["parsing [t.cfg:8] : 'capture' expects 'cookie' or 'request header' or 'response header'."],
     []),
    (('capture cookie x len 3',),
     [],
     []),
    (('redirect',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing redirect rule : redirection type expected ('prefix', 'location', or 'scheme')."],
     []),
    (('redirect location',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing redirect rule : missing argument for 'location'."],
     []),
    (('redirect location /x code 333',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing redirect rule : 'code': unsupported HTTP code '333' (must be one of 301, 302, 303, 307 or 308)."],
     []),
    (('redirect location /x if nosuch',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing redirect rule : error in condition: no such ACL : 'nosuch'."],
     []),
    (('redirect location /x foo',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing redirect rule : expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was 'foo')."],
     []),
    (('http-request deny', 'http-request allow'),
     [],
     ["parsing [t.cfg:9]: previous 'http-request' action is final and has no condition attached, further entries are NOOP."]),
    (('http-request deny if { path /x }', 'http-request allow'),
     [],
     []),
    (('redirect location /x', 'http-request deny'),
     [],
     ["parsing [t.cfg:9] : a 'http-request' rule placed after a 'redirect' rule will still be processed before."]),
    (('http-request set-header x y z',),
     ["parsing [t.cfg:8]: 'http-request set-header' expects either 'if' or 'unless' followed by a condition but found 'z'."],
     []),
    (('http-request return status 200 hdr content-length 3',),
     [],
     ["parsing [t.cfg:8] : header 'content-length' always ignored by the http reply."]),
    (('http-request deny status 404 content-type text/plain string x foo',),
     ["parsing [t.cfg:8]: 'http-request deny' expects either 'if' or 'unless' followed by a condition but found 'foo'."],
     []),
    (('http-request set-var(txn.x) path if TRUE',),
     [],
     []),
    (('http-request unset-var(txn.x) foo',),
     ["parsing [t.cfg:8]: 'http-request unset-var(txn.x)' expects either 'if' or 'unless' followed by a condition but found 'foo'."],
     []),
    (('http-request set-path',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-path' rule : expects exactly 1 argument <format>."],
     []),
    (('http-request set-path a b',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-path' rule : expects exactly 1 argument <format>."],
     []),
    (('http-request set-method %[foo',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request set-method' rule : failed to parse sample expression <foo> : unknown fetch method 'foo'."],
     []),
    (('http-request set-var(txn.x) path,lower,',),
     [],
     []),
    (('http-request add-header x %[path,field(2)]',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request add-header' rule : failed to parse sample expression <path,field(2)]> : invalid arg 2 in converter 'field' : missing arguments (got 1/2), type 'string' expected."],
     []),
    (('http-request add-header x %[path,lower(1)]',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request add-header' rule : failed to parse sample expression <path,lower(1)]> : invalid arg 1 in converter 'lower' : expected ')' before '1)]'."],
     []),
    (('http-request add-header x %[var(foo)]',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request add-header' rule : failed to parse sample expression <var(foo)]> : invalid args in fetch method 'var' : invalid variable name 'foo'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'."],
     []),
    (('http-request deny deny_status 429 if { path /x }',),
     [],
     []),
    (('http-request deny deny_status 418',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request deny' rule : status code '418' not handled by default with 'default-errorfiles' argument.."],
     []),
    (('http-request set-header X-Forwarded-Proto https if { ssl_fc }',),
     [],
     []),
    (('http-request add-header X-Req-Start %[date()]',),
     [],
     []),
    (('http-request redirect location /new code 302 if { path /old }',),
     [],
     []),
    (('http-request return status 200 content-type text/plain string "ok" if { path /x }',),
     [],
     []),
    (('http-response set-header Strict-Transport-Security "max-age=31536000"',),
     [],
     []),
    (('redirect scheme https code 301 if !{ ssl_fc }',),
     [],
     []),
    (('http-request set-header X %[path,regsub(/,_,g)] unless { path /x }',),
     [],
     []),
    (('http-request replace-header x ( y',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request replace-header' rule : regex '(' is invalid (error=missing closing parenthesis, erroffset=1)."],
     []),
    (('http-request replace-value x [a-z]+ y',),
     [],
     []),
    (('http-request del-header x -m reg',),
     [],
     []),
    (('http-request return status 204 content-type text/plain string x',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request return' rule : No body expected for 204 responses."],
     []),
    (('http-request return lf-string x',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request return' rule : a content type must be defined with a log-format payload."],
     []),
    (('http-after-response set-status 503 reason "Busy"',),
     [],
     []),
    (('http-after-response deny',),
     ["parsing [t.cfg:8]: 'http-after-response' expects <AFTER>, but got 'deny'."],
     []),
    (('http-response return status 200',),
     [],
     []),
    (('http-request capture req.hdr(host) len 10 if TRUE',),
     [],
     []),
    (('http-request capture req.hdr(host) lenx 10',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request capture' rule : expects 'len' or 'id', found 'lenx'."],
     []),
    (('http-request redirect location /x', 'http-request allow'),
     [],
     ["parsing [t.cfg:9]: previous 'http-request' action is final and has no condition attached, further entries are NOOP."]),
    (('http-request replace-header x [a y',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request replace-header' rule : regex '[a' is invalid (error=missing terminating ] for character class, erroffset=2)."],
     []),
    (('http-request replace-header x a(b y',),
     ["parsing [t.cfg:8] : error detected in frontend 'f' while parsing 'http-request replace-header' rule : regex 'a(b' is invalid (error=missing closing parenthesis, erroffset=3)."],
     []),
]


def expand(text: str) -> str:
    from trio_lb.config.keywords.http_rules import HAPROXY_ACTIONS

    for ruleset, tag in (("http-request", "<REQ>"), ("http-response", "<RES>"), ("http-after-response", "<AFTER>")):
        text = text.replace(tag, ", ".join(f"'{n}'" for n in HAPROXY_ACTIONS[ruleset]))
    return text


NOT_OURS = ("Error(s) found in configuration file", "Fatal errors found in configuration.")


def _ours(lines: tuple[str, ...]) -> tuple[list[str], list[str]]:
    try:
        cfg = parse(config(lines), "t.cfg", env={})
    except ConfigErrors as e:
        return [a for a in e.alerts if not a.startswith(NOT_OURS)], e.warnings
    return [], cfg.warnings


@pytest.mark.parametrize(("lines", "alerts", "warnings"), CASES, ids=[" | ".join(c[0]) for c in CASES])
def test_messages(lines: tuple[str, ...], alerts: list[str], warnings: list[str]) -> None:
    assert _ours(lines) == ([expand(a) for a in alerts], warnings)


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")
def test_haproxy_says_the_same(tmp_path: Path) -> None:
    assert HAPROXY is not None
    version = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, timeout=10, check=False).stdout
    if "version 2.6." not in version:
        pytest.skip("the expected texts are those of HAProxy 2.6")
    for lines, alerts, warnings in CASES[:12]:  # a sample: each haproxy -c costs ~50 ms
        (tmp_path / "t.cfg").write_text(config(lines))
        proc = subprocess.run([HAPROXY, "-c", "-f", "t.cfg"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=30, check=False, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        got_alerts, got_warnings = split_haproxy_stderr(proc.stderr)
        got_alerts = [a for a in got_alerts if not a.startswith(NOT_OURS)]
        assert (got_alerts, got_warnings) == ([expand(a) for a in alerts], warnings), lines


def test_unimplemented_haproxy_actions_are_refused() -> None:
    assert _ours(("http-request tarpit",))[0] == ["parsing [t.cfg:8] : 'http-request tarpit' is not supported by "
                                                  "trio-lb yet."]
    assert _ours(("http-request set-var-fmt(txn.x) %[path]",))[0] == [
        "parsing [t.cfg:8] : 'http-request set-var-fmt' is not supported by trio-lb yet."]


def test_errorfile(tmp_path: Path) -> None:
    good = tmp_path / "503.http"
    good.write_bytes(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\nbusy\n")
    bad = tmp_path / "bad.http"
    bad.write_bytes(b"garbage\n")
    (px,) = parse(config((f"errorfile 503 {good}", "errorfile 503 /dev/null")), "t.cfg", env={}).proxies
    assert px.errorfiles == {503: b""}  # the last line wins; an empty file is accepted
    assert _ours((f"errorfile 999 {good}",))[0] == ["parsing [t.cfg:8] : errorfile : status code '999' not handled."]
    assert _ours(("errorfile 503 /nonexistent",))[0] == [
        "parsing [t.cfg:8] : errorfile : error opening file '/nonexistent'."]
    assert _ours((f"errorfile 503 {bad}",))[0] == [
        f"parsing [t.cfg:8] : errorfile : '{bad}': unable to parse headers (error offset: 0)"]


def test_the_model() -> None:
    cfg = parse(config(("acl api path_beg /api", "http-request deny if api", "http-response del-header server",
                        "http-after-response set-header x 1", "redirect scheme https if !{ ssl_fc }",
                        "capture request header Host len 20", "capture response header Server len 10",
                        "http-request capture req.hdr(x) len 3")), "t.cfg", env={})
    (px,) = cfg.proxies
    (deny, cap), (delh,), (after,) = px.http_request_rules, px.http_response_rules, px.http_after_response_rules
    assert (deny.action.name, deny.file, deny.line, deny.cond is not None) == ("deny", "t.cfg", 9, True)
    assert (cap.action.name, delh.action.name, after.action.name) == ("capture", "del-header", "set-header")
    (redir,) = px.redirects
    assert redir.args.type == "scheme" and redir.cond is not None and redir.line == 12
    assert [(c.name, c.length, c.response) for c in px.captures] == [("Host", 20, False), ("Server", 10, True),
                                                                      (None, 3, False)]
