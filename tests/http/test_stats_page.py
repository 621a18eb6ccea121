"""The HTML stats page, its URL options, Basic auth and the admin form (HAProxy 2.6 behaviour)."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser

import pytest

import trio_lb.config as config_pkg
from trio_lb.http.stats_html import human_time, server_class, u2h
from trio_lb.http.stats_page import StatsApplet, apply_post, parse_options
from trio_lb.state.proxies import Runtime
from trio_lb.state.servers import DRAIN, MAINT, READY
from trio_lb.stats import render_csv, render_stat_json

CFG = """
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s

frontend www
    bind 127.0.0.1:0
    default_backend web

backend web
    description Shop <b>&</b> co\\"
    server web1 127.0.0.1:8081 check
    server web2 127.0.0.1:8082 check
    server web3 127.0.0.1:8083
    server spare 127.0.0.1:8084 backup

backend api
    server api1 127.0.0.1:8091

listen stats
    bind 127.0.0.1:0
    stats enable
    stats uri /stats
    stats refresh 10s
    stats auth admin:s3cret
    stats admin if { src 127.0.0.1 }
"""

GOOD = {"authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}
BAD = {"authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()}


class Page(HTMLParser):
    """Collects the rows (class, anchor names), forms and the text of a stats page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.anchors: list[str] = []
        self.checkboxes: list[str] = []
        self.hidden: list[str] = []
        self.text: list[str] = []
        self.forms = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "tr":
            self.rows.append({"class": a.get("class", ""), "names": []})
        elif tag == "a" and "name" in a:
            self.anchors.append(a["name"])
            if self.rows:
                self.rows[-1]["names"].append(a["name"])
        elif tag == "input" and a.get("name") == "s":
            self.checkboxes.append(a["value"])
        elif tag == "input" and a.get("name") == "b":
            self.hidden.append(a["value"])
        elif tag == "form" and a.get("method") == "post":
            self.forms += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def row_class(self, name: str) -> str:
        return next(r["class"] for r in self.rows if name in r["names"])


def parse(body: bytes) -> Page:
    page = Page()
    page.feed(body.decode("latin-1"))
    return page


@pytest.fixture
def setup():
    cfg = config_pkg.parse(CFG, "stats.cfg")
    runtime = Runtime(cfg, 0.0)
    proxy = next(p for p in cfg.proxies if p.name == "stats")
    return StatsApplet(proxy, cfg.global_), runtime


def get(applet, runtime, target="/stats", headers=GOOD, now=50.0, method="GET", body=b""):
    logs: list = []
    h = dict(headers)
    reply = applet.respond(method, target, h, body, runtime, now, None, lambda lvl, msg: logs.append((lvl, msg)))
    return reply, logs


def from_localhost(applet, runtime, target, body, headers=GOOD):
    from trio_lb.rules.sample import RequestView

    pairs = [(k.encode(), v.encode()) for k, v in headers.items()]
    view = RequestView("127.0.0.1", 40000, "127.0.0.1", 8404, method="POST", target=target, headers=pairs)
    logs: list = []
    reply = applet.respond("POST", target, view, body, runtime, 60.0, None, lambda lvl, m: logs.append((lvl, m)))
    return reply, logs


def server(runtime, backend, name):
    return next(s for s in runtime.backends[backend].servers if s.name == name)


# --- the page ------------------------------------------------------------------------------

def test_every_proxy_and_server_appears_with_its_status_class(setup):
    applet, rt = setup
    rt.backends["web"].servers[1].admin = MAINT  # web2 in maintenance
    rt.backends["web"].servers[1].refresh(0.0)
    (status, headers, body), _ = get(applet, rt)
    assert status == 200
    assert (b"content-type", b"text/html") in headers
    assert (b"refresh", b"10") in headers
    page = parse(body)
    for px in ("www", "web", "api", "stats"):
        assert px in page.anchors
    assert page.row_class("www/Frontend") == "frontend"
    assert page.row_class("web/Backend") == "backend"
    # a checked server starts at health = rise ("UP 1/3" until its checks pass), as in HAProxy
    assert page.row_class("web/web1") == "active_going_down"
    assert page.row_class("web/web2") == "maintain"
    assert page.row_class("web/web3") == "active_no_check"
    assert page.row_class("web/spare") == "backup_no_check"
    assert page.row_class("api/api1") == "active_no_check"
    text = "".join(page.text)
    assert "Statistics Report for pid" in text and "current conns = " in text
    assert page.forms == 0 and page.checkboxes == []  # no admin rights for this (unknown) client


def test_names_and_descriptions_are_escaped(setup):
    applet, rt = setup
    (_, _, body), _ = get(applet, rt)
    assert b'Shop &lt;b&gt;&amp;&lt;/b&gt; co&quot;' in body
    assert b"<b>&</b>" not in body


def test_status_classes_follow_haproxy_rules():
    base = {"check_rise": 2, "check_fall": 3, "weight": 1, "bck": 0, "chkfail": 0}
    cases = [
        ({"status": "UP", "check_health": 4}, "active_up"),
        ({"status": "UP 1/3", "check_health": 2}, "active_going_down"),
        ({"status": "DOWN", "check_health": 0}, "active_down"),
        ({"status": "DOWN 1/2", "check_health": 1}, "active_going_up"),
        ({"status": "DRAIN", "check_health": 4}, "active_draining"),
        ({"status": "NOLB", "check_health": 4}, "active_nolb"),
        ({"status": "NOLB 2/3", "check_health": 3}, "active_going_down"),
        ({"status": "MAINT", "check_health": 0}, "maintain"),
        ({"status": "no check", "chkfail": ""}, "active_no_check"),
        ({"status": "UP", "check_health": 4, "bck": 1}, "backup_up"),
        ({"status": "UP", "check_health": 4, "weight": 0}, "active_draining"),
    ]
    for fields, expected in cases:
        assert server_class({**base, **fields}) == expected, fields


def test_helpers_format_like_haproxy():
    assert u2h(0) == "0"
    assert u2h(999) == "999"
    assert u2h(26648) == '2<span class="rls">6</span>648'
    assert u2h(1234567) == '<span class="rls">1</span>23<span class="rls">4</span>567'
    assert human_time(0) == "0s"
    assert human_time(20) == "20s"
    assert human_time(3600) == "1h"
    assert human_time(3725) == "1h2m"
    assert human_time(90061) == "1d1h"
    assert human_time(-1) == "?"


def test_options_are_found_anywhere_after_the_prefix():
    o = parse_options(";up;norefresh;st=DONE?scope=web", refresh=True)
    assert (o.hide_down, o.no_refresh, o.st, o.scope, o.fmt) == (True, True, "DONE", "web", "html")
    assert parse_options(";norefresh", refresh=False).no_refresh is False  # only with `stats refresh`
    assert parse_options(";st=XYZW", refresh=False).st == "UNKN"
    assert parse_options(";st=DO", refresh=False).st is None
    assert parse_options(";json-schema", refresh=False).fmt == "json-schema"
    assert parse_options("?scope=a<b", refresh=False).scope == ""


def test_norefresh_and_up_and_scope(setup):
    applet, rt = setup
    (_, headers, body), _ = get(applet, rt, "/stats;norefresh")
    assert not any(n == b"refresh" for n, _ in headers)
    from trio_lb.admin.commands.server import apply_health
    from trio_lb.http.stats_page import _PageCtx
    be = rt.backends["api"]
    apply_health(_PageCtx(rt, None), be, be.servers[0], "down", 1.0)
    (_, _, body), _ = get(applet, rt, "/stats;up")
    page = parse(body)
    assert "api/api1" not in page.anchors and "web/web3" in page.anchors
    (_, _, body), _ = get(applet, rt, "/stats?scope=WE")
    page = parse(body)
    assert "web" in page.anchors and "api" not in page.anchors and "www" not in page.anchors


def test_stats_scope_limits_every_format():
    cfg = config_pkg.parse(CFG.replace("stats enable", "stats enable\n    stats scope api\n    stats scope ."),
                           "s.cfg")
    rt = Runtime(cfg, 0.0)
    applet = StatsApplet(next(p for p in cfg.proxies if p.name == "stats"))
    (_, _, body), _ = get(applet, rt)
    anchors = parse(body).anchors
    assert "api" in anchors and "stats" in anchors and "web" not in anchors
    (_, _, csv), _ = get(applet, rt, "/stats;csv")
    assert {line.split(",")[0] for line in csv.decode().splitlines()[1:]} == {"api", "stats"}


def test_csv_equals_show_stat(setup):
    applet, rt = setup
    (status, headers, body), _ = get(applet, rt, "/stats;csv", now=42.0)
    assert status == 200 and (b"content-type", b"text/plain") in headers
    assert body.decode() == render_csv(rt, 42.0, legends=False, block=False)
    (_, _, up), _ = get(applet, rt, "/stats;csv;up", now=42.0)
    assert "UP (" in up.decode()  # the counted backend status of `show stat up`


def test_json_equals_show_stat_json(setup):
    applet, rt = setup
    (_status, headers, body), _ = get(applet, rt, "/stats;json", now=42.0)
    assert (b"content-type", b"application/json") in headers
    assert body.decode() == render_stat_json(rt, 42.0, legends=False, block=False)
    assert isinstance(json.loads(body), list)
    (_, _, schema), _ = get(applet, rt, "/stats;json-schema")
    assert json.loads(schema)["$schema"]


def test_head_has_headers_only(setup):
    applet, rt = setup
    (status, headers, body), _ = get(applet, rt, method="HEAD")
    assert status == 200 and body == b"" and (b"content-type", b"text/html") in headers


def test_matches_prefix_and_methods(setup):
    applet, _ = setup
    assert applet.matches("/stats") and applet.matches("/stats;csv") and applet.matches("http://h/stats;up")
    assert not applet.matches("/stat") and not applet.matches("/other")
    assert applet.matches("/stats", "POST") and not applet.matches("/stats", "PUT")


# --- auth --------------------------------------------------------------------------------

def test_401_without_or_with_bad_credentials(setup):
    applet, rt = setup
    for headers in ({}, BAD, {"authorization": "Basic !!!"}, {"authorization": "Bearer x"}):
        (status, hdrs, body), _ = get(applet, rt, headers=headers)
        assert status == 401
        assert (b"www-authenticate", b'Basic realm="HAProxy Statistics"') in hdrs
        assert b"401 Unauthorized" in body and b"Statistics Report" not in body


def test_bad_password_never_changes_state(setup):
    applet, rt = setup
    (reply, logs) = from_localhost(applet, rt, "/stats", b"s=web3&action=maint&b=web", headers=BAD)
    assert reply[0] == 401 and logs == []
    assert server(rt, "web", "web3").admin == READY


# --- admin form ----------------------------------------------------------------------------

def test_admin_client_sees_the_forms(setup):
    applet, rt = setup
    from trio_lb.rules.sample import RequestView

    view = RequestView("127.0.0.1", 1, "127.0.0.1", 2, method="GET", target="/stats",
                       headers=[(b"authorization", GOOD["authorization"].encode())])
    _status, _, body = applet.respond("GET", "/stats", view, b"", rt, 5.0, None, None)
    page = parse(body)
    assert page.forms == 2  # web and api; the stats listen section has no server, hence no form
    assert {"web1", "web2", "web3", "spare", "api1"} == set(page.checkboxes)
    ids = {p.name: p.id for p in rt.config.proxies}
    assert f"#{ids['web']}" in page.hidden and f"#{ids['api']}" in page.hidden
    assert page.forms == len(page.hidden)


@pytest.mark.parametrize("action,expected", [("drain", DRAIN), ("maint", MAINT)])
def test_post_changes_state_and_redirects(setup, action, expected):
    applet, rt = setup
    (status, headers, body), logs = from_localhost(applet, rt, "/stats", f"s=web3&s=api1&action={action}&b=web".encode())
    assert server(rt, "web", "web3").admin == expected
    assert server(rt, "api", "api1").admin == READY  # not in backend web: counts as unknown
    assert status == 303 and body == b""
    assert dict(headers)[b"location"] == b"/stats;st=PART"
    assert dict(headers)[b"content-length"] == b"0"
    assert logs and "web/web3" in logs[0][1]


def test_post_done_ready_keeps_up_norefresh_and_scope(setup):
    applet, rt = setup
    ident = next(p.id for p in rt.config.proxies if p.name == "web")
    from_localhost(applet, rt, "/stats", b"s=web3&action=maint&b=web")
    (_status, headers, _), _ = from_localhost(applet, rt, "/stats;up;norefresh?scope=we",
                                             f"s=web3&action=ready&b=%23{ident}".encode())
    assert dict(headers)[b"location"] == b"/stats;st=DONE;up;norefresh?scope=we"
    assert server(rt, "web", "web3").admin == READY


def test_post_result_codes(setup):
    applet, rt = setup
    cases = [
        (b"s=web3&action=drain&b=nosuch", "ERRP"),
        (b"s=web3&action=explode&b=web", "ERRP"),
        (b"action=drain&b=web", "NONE"),
        (b"s=web3&b=web", "NONE"),
        (b"s=ghost&action=drain&b=web", "ERRP"),
        (b"s=web3&action=dhlth&b=web", "NONE"),  # no check on web3: a known server not altered is not counted
        (b"s=web1&action=dhlth&b=web", "DONE"),
        (b"s=web1&action=dagent&b=web", "NONE"),  # no agent
        (b"s=web1&s=ghost&action=ehlth&b=web", "PART"),
        (b"b=web&action=drain&s=web2", "DONE"),  # order does not matter
        (b"s=web1&action=%zz&b=web", "NONE"),  # bad escape stops the parsing
    ]
    for body, code in cases:
        (_, headers, _), _ = from_localhost(applet, rt, "/stats", body)
        assert dict(headers)[b"location"] == f"/stats;st={code}".encode(), body


def test_health_actions_use_runtime_api(setup):
    applet, rt = setup
    (_, _headers, _), logs = from_localhost(applet, rt, "/stats", b"s=web1&action=hdown&b=web")
    assert server(rt, "web", "web1").status_text() == "DOWN"
    assert any("web/web1" in m and "changed from Web interface" in m for _, m in logs)
    (_, _, body), _ = get(applet, rt)
    assert parse(body).row_class("web/web1") == "active_down"
    from_localhost(applet, rt, "/stats", b"s=web1&action=hrunn&b=web")
    assert server(rt, "web", "web1").status_text() == "UP"
    (_, _, body), _ = get(applet, rt)
    assert parse(body).row_class("web/web1") == "active_up"


def test_shutdown_kills_server_streams(setup):
    applet, rt = setup
    killed = []
    rt.streams.kill_on_server = lambda s: killed.append(s.name) or 0
    (_, headers, _), _ = from_localhost(applet, rt, "/stats", b"s=web2&action=shutdown&b=web")
    assert killed == ["web2"] and dict(headers)[b"location"] == b"/stats;st=DONE"


def test_post_without_admin_rights_is_denied(setup):
    applet, rt = setup
    (reply, logs) = get(applet, rt, method="POST", body=b"s=web3&action=maint&b=web")  # src 0.0.0.0
    assert reply[0] == 303 and dict(reply[1])[b"location"] == b"/stats;st=DENY"
    assert server(rt, "web", "web3").admin == READY and logs == []


def test_post_too_large_is_excd(setup):
    applet, rt = setup
    body = b"s=web3&" * 3000 + b"action=maint&b=web"
    (_, headers, _), _ = from_localhost(applet, rt, "/stats", body)
    assert dict(headers)[b"location"] == b"/stats;st=EXCD"
    assert server(rt, "web", "web3").admin == READY


@pytest.mark.parametrize("code,text", [("DONE", "Action processed successfully."), ("NONE", "Nothing has changed."),
                                       ("DENY", "Action denied."), ("ERRP", "invalid parameters"),
                                       ("XXXX", "Unexpected result.")])
def test_result_banner(setup, code, text):
    applet, rt = setup
    (_, _, body), _ = get(applet, rt, f"/stats;st={code}")
    assert text in "".join(parse(body).text)


def test_apply_post_direct(setup):
    _, rt = setup
    from trio_lb.http.stats_page import _PageCtx

    assert apply_post(b"s=web1&s=web2&action=maint&b=web", rt, 1.0, _PageCtx(rt, None)) == "DONE"
    assert server(rt, "web", "web1").admin == MAINT and server(rt, "web", "web2").admin == MAINT
    assert apply_post(b"s=web1&action=enable&b=web", rt, 2.0, _PageCtx(rt, None)) == "DONE"
    assert apply_post(b"s=web1&action=enable&b=web", rt, 2.0, _PageCtx(rt, None)) == "NONE"  # not in MAINT
