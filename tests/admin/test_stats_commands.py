"""`show stat`, `show info` and `show schema json` through a CLI Session (no event loop): the
argument words, the formats they select, the socket level, and the reply framing. The formats
themselves are checked against HAProxy 2.6.12 in tests/stats/test_typed_json.py."""

from __future__ import annotations

import json

import pytest

import trio_lb.config as config_pkg
from tests.admin.support import GOLDEN, help_rows
from trio_lb.admin.commands.stats import InfoRequest, parse_show_info
from trio_lb.admin.registry import default_registry
from trio_lb.admin.session import Session
from trio_lb.state.proxies import build_runtime
from trio_lb.stats import ProcessInfo, render_schema_json

CFG = """
global
    description edge, \\"one\\"
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:18990
    default_backend be
backend be
    server s1 127.0.0.1:18991 weight 10
    server s2 127.0.0.1:18992 check inter 1h
"""
T0 = 100.0


class Ctx:
    def __init__(self) -> None:
        self.runtime = build_runtime(config_pkg.parse(CFG, "t.cfg"), T0)
        self.t = T0 + 7.25

    def now(self) -> float:
        return self.t

    def process_info(self) -> ProcessInfo:
        return ProcessInfo(epoch=1_800_000_000.5, ulimit_n=1024, tasks=5)


@pytest.fixture
def ctx() -> Ctx:
    return Ctx()


def cli(ctx: Ctx, line: str, level: str = "admin") -> str:
    session = Session(default_registry(), ctx, level)
    return (session.feed(line.encode() + b"\n") + session.eof()).decode()


# --- show stat --------------------------------------------------------------------------------

def test_show_stat_csv_unchanged(ctx):
    out = cli(ctx, "show stat")
    assert out.startswith("# pxname,svname,") and out.endswith(",\n\n")
    assert cli(ctx, "show stat desc") == out  # `desc` does not change CSV


def test_show_stat_typed(ctx):
    out = cli(ctx, "show stat typed")
    lines = out[:-2].split("\n")
    assert out.endswith("\n\n") and lines[0] == "F.2.0.0.pxname.1:KNS:str:fe"
    assert "S.3.2.73.addr.1:CGS:str:127.0.0.1:18992" in lines
    assert "S.3.2.36.check_status.1:MOP:str:INI" in lines
    assert all(":\"" not in line for line in lines)
    described = cli(ctx, "show stat typed desc")[:-2].split("\n")
    assert described[0] == 'F.2.0.0.pxname.1:KNS:str:fe:"Proxy name"' and len(described) == len(lines)


def test_show_stat_json(ctx):
    out = cli(ctx, "show stat json")
    assert out.endswith("]]\n\n") and out.count("\n") == 2
    objects = json.loads(out)
    assert [(o[0]["objType"], o[1]["value"]["value"]) for o in objects] == [
        ("Frontend", "FRONTEND"), ("Server", "s1"), ("Server", "s2"), ("Backend", "BACKEND")]
    assert cli(ctx, "show stat json desc") == out  # `desc` is ignored by JSON


def test_last_format_word_wins(ctx):
    assert cli(ctx, "show stat typed json") == cli(ctx, "show stat json")
    assert cli(ctx, "show stat json typed") == cli(ctx, "show stat typed")


def test_filter_and_up_with_formats(ctx):
    servers = cli(ctx, "show stat be 4 -1 typed")[:-2].split("\n")
    assert {line[:6] for line in servers} == {"S.3.1.", "S.3.2."}
    assert len(json.loads(cli(ctx, "show stat 3 2 -1 json"))) == 1
    assert cli(ctx, "show stat 99 -1 -1 json") == "[]\n\n"
    assert cli(ctx, "show stat 99 -1 -1 typed") == "\n"
    assert "B.3.0.17.status.1:SGP:str:UP (2/2)" in cli(ctx, "show stat -1 -1 -1 up typed")
    assert cli(ctx, "show stat nope 1 1 json") == "No such proxy.\n\n"


def test_user_level_socket_hides_legends(ctx):
    assert ".addr." not in cli(ctx, "show stat typed", level="user")
    assert '"name":"algo"' not in cli(ctx, "show stat json", level="user")
    assert '"name":"algo"' in cli(ctx, "show stat json", level="operator")


def test_resolvers_domain(ctx):
    assert cli(ctx, "show stat domain resolvers").startswith("# id,pid,sent,")
    assert cli(ctx, "show stat domain resolvers typed") == "\n"
    assert cli(ctx, "show stat domain resolvers json") == "[]\n\n"
    assert cli(ctx, "show stat domain dns json") == "Invalid statistics domain.\n\n"


# --- show info --------------------------------------------------------------------------------

@pytest.mark.parametrize("words, expected", [
    ("", InfoRequest()), ("typed", InfoRequest("typed")), ("json typed", InfoRequest("typed")),
    ("typed json desc", InfoRequest("json", True)), ("float junk desc", InfoRequest("text", True, True)),
])
def test_parse_show_info(words, expected):
    assert parse_show_info(words.split()) == expected


def test_show_info_text_desc_float(ctx):
    plain = cli(ctx, "show info")
    assert "Uptime_sec: 7\n" in plain and 'description: "edge, ""one"""\n' in plain
    assert "Start_time_sec: 1799999993\n" in plain
    assert "Uptime_sec: 7.25\n" in cli(ctx, "show info float")
    assert "Start_time_sec: 1799999993.25\n" in cli(ctx, "show info float")
    described = cli(ctx, "show info desc").split("\n")
    assert described[0] == 'Name: HAProxy:"Product name"'
    assert 'Tasks: 5:"Total number of tasks in the current worker process (active + sleeping)"' in described


def test_show_info_typed(ctx):
    out = cli(ctx, "show info typed")
    assert out.startswith("0.Name.1:POS:str:HAProxy\n") and out.endswith("\n\n")
    assert "8.Uptime_sec.1:MDP:u32:7\n" in out and '51.description.1:COS:str:edge, "one"\n' in out
    assert "8.Uptime_sec.1:MDP:flt:7.25\n" in cli(ctx, "show info typed float")
    assert "\n47.Tasks.1:MGP:u32:5:\"Total number" in cli(ctx, "show info desc typed")


def test_show_info_json(ctx):
    out = cli(ctx, "show info json")
    assert out.endswith("}]\n\n") and out.count("\n") == 2
    items = json.loads(out)
    assert items[0] == {"field": {"pos": 0, "name": "Name"}, "processNum": 1,
                        "tags": {"origin": "Product", "nature": "Output", "scope": "Service"},
                        "value": {"type": "str", "value": "HAProxy"}}
    by_name = {i["field"]["name"]: i["value"] for i in items}
    assert by_name["description"] == {"type": "str", "value": 'edge, "one"'}
    assert by_name["Uptime_sec"] == {"type": "u32", "value": 7}
    floats = {i["field"]["name"]: i["value"] for i in json.loads(cli(ctx, "show info json float"))}
    assert floats["Uptime_sec"] == {"type": "flt", "value": 7.25}
    assert cli(ctx, "show info json desc") == out


# --- show schema json -------------------------------------------------------------------------

def test_show_schema_json(ctx):
    for level in ("user", "operator", "admin"):
        assert cli(ctx, "show schema json", level=level) == render_schema_json()
    assert cli(ctx, "show schema json", level="user") == (GOLDEN / "show_schema_json.txt").read_text()


def test_show_schema_alone_is_an_unknown_command(ctx):
    out = cli(ctx, "show schema")
    assert out.startswith("Unknown command, but maybe one of the following ones is a better match:\n")
    assert "  show schema json  " in out


def test_help_lines_are_haproxys():
    ours = {cmd.usage for cmd in default_registry() if cmd.handler.__module__ == "trio_lb.admin.commands.stats"}
    haproxys = set(help_rows((GOLDEN / "admin_help.txt").read_text()))
    assert len(ours) == 3 and ours <= haproxys
