"""HTTP rule actions applied to messages (rules/http_actions.py).

The reply bytes are those a real haproxy 2.6.12 sent for the same rules (socat transcripts)."""

from __future__ import annotations

from pathlib import Path

from trio_lb.config import parse
from trio_lb.rules.actions import run_rules
from trio_lb.rules.context import HttpMessage, RuleContext
from trio_lb.rules.http_actions import capture_headers, reply_bytes
from trio_lb.rules.sample import RequestView

HEAD = ("defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"
        "frontend f\n    bind 127.0.0.1:18999\n")


def proxy(*lines: str):  # noqa: ANN201
    (px,) = parse(HEAD + "".join(f"    {x}\n" for x in lines), "t.cfg", env={}).proxies
    return px


def request(target: str = "/", headers: list[tuple[bytes, bytes]] | None = None, px=None):  # noqa: ANN001, ANN201
    hdrs = headers if headers is not None else [(b"host", b"example.com"), (b"user-agent", b"curl/8")]
    msg = HttpMessage(headers=list(hdrs), method="GET", target=target)
    view = RequestView("127.0.0.1", 40000, "127.0.0.1", 18999, method="GET", target=target, headers=msg.headers)
    view.ctx = RuleContext(frontend=px)
    return msg, view


def run_req(px, target: str = "/", headers=None):  # noqa: ANN001, ANN201
    msg, view = request(target, headers, px)
    return run_rules(px.http_request_rules, msg, view), msg, view


def test_header_rewrites() -> None:
    px = proxy("http-request set-header X-Path %[path]", "http-request add-header X-Path second",
               "http-request del-header user-agent", "http-request replace-header host (.*)\\.com \\1.org",
               "http-request add-header x-list \"a1, b2,c3\"", "http-request replace-value x-list ^b(.*) B\\1")
    outcome, msg, _ = run_req(px, "/p?q=1")
    assert outcome is None
    assert msg.headers == [(b"host", b"example.org"), (b"x-path", b"/p"), (b"x-path", b"second"),
                           (b"x-list", b"a1, B2,c3")]


def test_set_header_replaces_every_occurrence_and_later_rules_see_it() -> None:
    px = proxy("http-request set-header x-a new", "http-request deny if { req.hdr(x-a) -m str new }")
    outcome, msg, _ = run_req(px, headers=[(b"x-a", b"1"), (b"X-A", b"2")])
    assert [h for h in msg.headers if h[0].lower() == b"x-a"] == [(b"x-a", b"new")]
    assert outcome is not None and outcome.status == 403


def test_del_header_match_methods() -> None:
    px = proxy("http-request del-header x-dbg -m beg", "http-request del-header TOKEN -m sub",
               "http-request del-header ^z[0-9]$ -m reg")
    _, msg, _ = run_req(px, headers=[(b"x-dbg-1", b"a"), (b"x-debug", b"b"), (b"my-token-x", b"c"), (b"z1", b"d"),
                                     (b"z12", b"e")])
    assert msg.headers == [(b"x-debug", b"b"), (b"z12", b"e")]


def test_request_line_rewrites() -> None:
    px = proxy("http-request set-path /new%[path]", "http-request set-query a=%[url_param(b)]",
               "http-request set-method POST")
    _, msg, view = run_req(px, "/old?b=2")
    assert (msg.method, msg.target) == ("POST", "/new/old?a=2")
    assert (view.path, view.query, view.method) == ("/new/old", "a=2", "POST")
    _, msg, _ = run_req(proxy("http-request set-uri http://h%[path]x"), "/a?b")
    assert msg.target == "http://h/ax"
    _, msg, _ = run_req(proxy("http-request set-query %[url_param(zz)]"), "/a")
    assert msg.target == "/a"


def test_deny_default_page_bytes_and_termination() -> None:
    outcome, _, _ = run_req(proxy("http-request deny"))
    assert outcome is not None and (outcome.kind, outcome.status, outcome.termination) == ("reply", 403, "PR")
    assert reply_bytes(outcome) == (
        b"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
        b"\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n")
    outcome, _, _ = run_req(proxy("http-request deny deny_status 429"))
    assert outcome is not None and reply_bytes(outcome).startswith(
        b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\n")


def test_deny_with_a_payload() -> None:
    outcome, _, _ = run_req(proxy('http-request deny status 404 content-type text/plain string "nope" '
                                  'hdr X-A "%[path]"'), "/denystr")
    assert outcome is not None and reply_bytes(outcome) == (
        b"HTTP/1.1 404 Not Found\r\nx-a: /denystr\r\ncontent-length: 4\r\ncontent-type: text/plain\r\n\r\nnope")


def test_errorfile_is_sent_as_haproxy_sends_it(tmp_path: Path) -> None:
    page = tmp_path / "403.http"
    page.write_bytes(b"HTTP/1.0 403 Forbidden\r\nCache-Control: no-cache\r\nConnection: close\r\n"
                     b"Content-Type: text/html\r\nX-Custom: Yes\r\n\r\n<html>custom 403</html>\n")
    px = proxy(f"errorfile 403 {page}", "http-request deny")
    assert px.errorfiles[403] == page.read_bytes()
    outcome, _, _ = run_req(px)
    assert outcome is not None and reply_bytes(outcome) == (
        b"HTTP/1.0 403 Forbidden\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nx-custom: Yes\r\n\r\n"
        b"<html>custom 403</html>\n")


def test_return_replies() -> None:
    outcome, _, _ = run_req(proxy("http-request return"))
    assert outcome is not None and outcome.termination == "LR"
    assert reply_bytes(outcome) == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    outcome, _, _ = run_req(proxy('http-request return status 201 content-type text/plain string "ok" hdr X-B '
                                  '%[method]'))
    assert outcome is not None and reply_bytes(outcome) == (
        b"HTTP/1.1 201 Created\r\nx-b: GET\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")
    outcome, _, _ = run_req(proxy('http-request return status 200 content-type text/plain lf-string '
                                  '"p=%[path] q=%[query]"'), "/retlf?a=1")
    assert outcome is not None and reply_bytes(outcome) == (
        b"HTTP/1.1 200 OK\r\ncontent-length: 14\r\ncontent-type: text/plain\r\n\r\np=/retlf q=a=1")


def test_redirects_match_haproxy() -> None:
    cases = [
        ("http-request redirect location /new code 301", "/old",
         b"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /new\r\n\r\n"),
        ("http-request redirect prefix /pre", "/p/x?y=1",
         b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /pre/p/x?y=1\r\ncache-control: no-cache\r\n\r\n"),
        ("http-request redirect prefix /pre2 drop-query append-slash set-cookie A=B", "/q/x?y=1",
         b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /pre2/q/x/\r\ncache-control: no-cache\r\n"
         b"set-cookie: A=B; path=/;\r\n\r\n"),
        ("http-request redirect scheme https", "/s/x?z",
         b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://example.com/s/x?z\r\n"
         b"cache-control: no-cache\r\n\r\n"),
    ]
    for line, target, wire in cases:
        outcome, _, _ = run_req(proxy(line), target)
        assert outcome is not None and outcome.termination == "LR"
        assert reply_bytes(outcome) == wire, line


def test_legacy_redirect_keyword_and_its_condition() -> None:
    px = proxy("redirect location /legacy if { path /leg }")
    (rule,) = px.redirects
    msg, view = request("/leg")
    outcome = run_rules(px.redirects, msg, view)
    assert outcome is not None and dict(outcome.headers)[b"location"] == b"/legacy"
    msg, view = request("/other")
    assert run_rules(px.redirects, msg, view) is None


def test_allow_stops_the_rules() -> None:
    outcome, _, _ = run_req(proxy("http-request allow if { path /ok }", "http-request deny"), "/ok")
    assert outcome is not None and outcome.kind == "allow"
    outcome, _, _ = run_req(proxy("http-request allow if { path /ok }", "http-request deny"), "/no")
    assert outcome is not None and outcome.status == 403


def test_set_var_and_conditions_on_it() -> None:
    px = proxy("http-request set-var(txn.p) path,lower", "http-request deny if { var(txn.p) -m str /admin }")
    outcome, _, view = run_req(px, "/ADMIN")
    assert view.ctx.vars["txn.p"] == ("str", "/admin")
    assert outcome is not None and outcome.status == 403
    px = proxy("http-request set-var(txn.p) path", "http-request unset-var(txn.p)")
    _, _, view = run_req(px, "/x")
    assert "txn.p" not in view.ctx.vars


def test_captures_share_the_slots_in_declaration_order() -> None:
    px = proxy("capture request header Host len 20", "capture request header User-Agent len 5",
               "capture response header Server len 10", "http-request capture req.hdr(x-cap) len 3")
    msg, view = request("/", [(b"host", b"example.com"), (b"user-agent", b"curl/8"), (b"x-cap", b"abcdef")], px)
    run_rules(px.http_request_rules, msg, view)
    caps = capture_headers(px.captures, msg.headers, False, view.ctx.captures)
    assert caps == ["example.com", "curl/", "abc"]  # haproxy logged {example.com|curl/|abc}
    assert capture_headers(px.captures, [(b"server", b"nginx/1.25.0")], True) == ["nginx/1.25"]


def test_response_rules() -> None:
    px = proxy("http-response set-header X-Srv yes", "http-response set-status 299 reason Fine if { status 200 }",
               "http-response deny if { status 404 }")
    _, view = request("/")
    res = HttpMessage(headers=[(b"content-length", b"0")], status=200, reason="OK", is_response=True)
    view.ctx.response = res
    assert run_rules(px.http_response_rules, res, view) is None
    assert (res.status, res.reason, res.headers[-1]) == (299, "Fine", (b"x-srv", b"yes"))
    res = HttpMessage(headers=[], status=404, is_response=True)
    view.ctx.response = res
    outcome = run_rules(px.http_response_rules, res, view)
    assert outcome is not None and (outcome.status, outcome.termination) == (502, "PH")
    assert reply_bytes(outcome).startswith(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\n")


def test_after_response_rules() -> None:
    px = proxy("http-after-response set-header X-Always 1", "http-after-response set-status 503")
    _, view = request("/")
    res = HttpMessage(headers=[], status=200, is_response=True)
    view.ctx.response = res
    assert run_rules(px.http_after_response_rules, res, view) is None
    assert (res.status, res.reason, res.headers) == (503, "Service Unavailable", [(b"x-always", b"1")])
