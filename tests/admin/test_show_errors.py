"""`show errors` through a CLI Session: levels, proxy and direction filters, HAProxy's errors."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

import trio_lb.config as config_pkg
from trio_lb.admin.registry import default_registry
from trio_lb.admin.session import Session
from trio_lb.http.errcapture import ErrorLog, format_date
from trio_lb.state.proxies import build_runtime

CFG = """
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe_http
    bind 127.0.0.1:18990
    default_backend be_app
backend be_app
    server app1 127.0.0.1:18991
listen both
    bind 127.0.0.1:18992
    server s9 127.0.0.1:18993
"""
WALL = time.mktime((2026, 11, 21, 23, 42, 31, 0, 0, -1)) + 0.465


class Ctx:
    def __init__(self, with_log: bool = True) -> None:
        self.runtime = build_runtime(config_pkg.parse(CFG, "t.cfg"), 100.0)
        if with_log:
            self.runtime.error_log = ErrorLog()
        self.ids = {p.name: p.id for p in self.runtime.config.proxies if p.kind != "defaults"}

    def now(self) -> float:
        return 100.0

    def process_info(self):
        return SimpleNamespace(epoch=WALL)


@pytest.fixture
def ctx() -> Ctx:
    c = Ctx()
    log = c.runtime.error_log
    fe, be, both = (("fe_http", c.ids["fe_http"]), ("be_app", c.ids["be_app"]), ("both", c.ids["both"]))
    log.record(direction="request", when=WALL - 1, frontend=fe, backend=None, server=None,
               src="127.0.0.1:40000", data=b"GET /a b\x01c HTTP/1.1\r\nHost: x\r\n\r\n")
    log.record(direction="response", when=WALL - 1, frontend=fe, backend=be, server=("app1", 1),
               src="127.0.0.1:40001", data=b"HTTP/1.1 2x0 OK\r\n\r\n")
    log.record(direction="request", when=WALL - 1, frontend=both, backend=both, server=None,
               src="127.0.0.1:40002", data=b"GET / HTTP/1.1\r\nBad\r\n\r\n")
    return c


def cli(ctx: Ctx, line: str, level: str = "operator") -> str:
    session = Session(default_registry(), ctx, level)
    return (session.feed(line.encode() + b"\n") + session.eof()).decode()


def events(out: str) -> list[str]:
    return [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("[")]


def test_all_snapshots_in_proxy_order(ctx):
    out = cli(ctx, "show errors")
    assert out.startswith(f"Total events captured on {format_date(WALL)} : 3\n \n[")
    assert out.endswith("\n\n") and "\n\n" not in out[:-2]
    assert events(out) == [f"frontend fe_http (#{ctx.ids['fe_http']}): invalid request",
                           f"backend be_app (#{ctx.ids['be_app']}): invalid response",
                           f"frontend both (#{ctx.ids['both']}): invalid request"]
    assert "error at position 7\n" in out and "H1 msg state MSG_RPCODE(12)" in out
    assert f"  backend both (#{ctx.ids['both']}), server <NONE> (#-1), event #2, src 127.0.0.1:40002\n" in out


def test_level_operator_required(ctx):
    assert cli(ctx, "show errors", "user") == "Permission denied\n\n"
    assert cli(ctx, "show errors", "admin") == cli(ctx, "show errors", "operator")


@pytest.mark.parametrize("by_id", [False, True])
def test_filter_by_name_or_number(ctx, by_id):
    word = str(ctx.ids["fe_http"]) if by_id else "fe_http"
    # the frontend's own request error, and the backend's response error whose other end it is
    assert len(events(cli(ctx, f"show errors {word}"))) == 2


def test_filter_by_backend_name_and_direction(ctx):
    assert events(cli(ctx, "show errors be_app")) == [f"backend be_app (#{ctx.ids['be_app']}): invalid response"]
    assert events(cli(ctx, "show errors be_app request")) == []
    assert len(events(cli(ctx, "show errors fe_http request"))) == 1
    assert len(events(cli(ctx, "show errors fe_http response"))) == 1
    assert len(events(cli(ctx, "show errors -1 request"))) == 2  # negative id: every proxy
    assert len(events(cli(ctx, "show errors -1 other"))) == 3  # an unknown direction shows both


def test_unknown_proxy(ctx):
    assert cli(ctx, "show errors nosuch") == "No such proxy.\n\n"
    assert cli(ctx, "show errors #1") == "No such proxy.\n\n"  # atoi("#1") is 0
    assert events(cli(ctx, "show errors 99")) == []  # a number is not checked
    assert cli(ctx, "show errors 99").startswith("Total events captured on")


def test_without_any_capture():
    out = cli(Ctx(with_log=False), "show errors")
    assert out == f"Total events captured on {format_date(WALL)} : 0\n\n"


def test_help_line():
    usage = [c.usage for c in default_registry() if c.words == ("show", "errors")]
    assert usage == ["show errors [<px>] [request|response]   : report last request and/or response errors for each proxy"]
