"""lbctl.render on HAProxy 2.6.12's own replies (tests/data/samples, captured with socat)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lbctl.render import (TABLE_COMMANDS, health_summary, names, parse_stat, render, render_json,
                          render_servers, server_rows, status_color)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def reply(name: str) -> str:
    """A sample is `printf '<cmd>\\n' | socat ...` output: drop the terminating empty line."""
    text = (SAMPLES / name).read_text()
    assert text.endswith("\n\n")
    return text[:-1]


def lines_of(table: str) -> list[list[str]]:
    return [line.split() for line in table.splitlines()]


def column(table: str, name: str) -> list[str]:
    """The cells of one column, cut at the header's character positions."""
    head, rule, *rows = table.splitlines()
    spans = [m.span() for m in re.finditer(r"-+", rule)]
    index = head.split().index(name)
    start, end = spans[index]
    return [row[start:end].strip() for row in rows]


def test_table_commands():
    assert TABLE_COMMANDS == ("show stat", "show servers state", "show info", "show table", "show sess",
                              "show backend")


# -- show stat -----------------------------------------------------------------------------------

def test_parse_stat_sample():
    rows = parse_stat(reply("show_stat.csv"))
    assert len(rows) == 17
    assert rows[0]["pxname"] == "fe_http" and rows[0]["svname"] == "FRONTEND" and rows[0]["status"] == "OPEN"
    app3 = next(r for r in rows if r["svname"] == "app3")
    assert (app3["status"], app3["check_status"], app3["addr"]) == ("DOWN", "L4CON", "127.0.0.1:18089")
    assert "" not in rows[0]  # the trailing comma is not a column
    assert all(len(r) == len(rows[0]) for r in rows)
    assert rows[0]["h1_spliced_bytes_out"] == "0"  # module columns after `-` are kept


def test_show_stat_table_useful_columns():
    table = render("show stat", reply("show_stat.csv"))
    header = table.splitlines()[0].split()
    assert header[:4] == ["pxname", "svname", "status", "weight"]
    assert "scur" in header and "qcur" in header and "check_status" in header
    assert "h2_headers_rcvd" not in header and "cookie" not in header
    assert len(table.splitlines()) == 2 + 17
    assert column(table, "svname")[3:8] == ["app1", "app2", "app3", "app4", "app5"]
    assert column(table, "status")[3:8] == ["UP", "UP", "DOWN", "MAINT", "no check"]


def test_show_stat_numbers_right_aligned_text_left():
    table = render("show stat", reply("show_stat.csv"))
    head, rule, *rows = table.splitlines()
    spans = [m.span() for m in re.finditer(r"-+", rule)]
    names_ = head.split()
    weight = spans[names_.index("weight")]
    app1 = rows[3]
    assert app1[weight[0]:weight[1]].endswith("10")  # right-aligned
    assert app1[weight[0]:weight[1]].strip() == "10"
    px = spans[names_.index("pxname")]
    assert app1[px[0]:px[1]].startswith("be_app")  # left-aligned


def test_show_stat_all_columns():
    table = render("show stat", reply("show_stat.csv"), all_columns=True)
    header = table.splitlines()[0].split()
    assert header[0] == "pxname" and "h1_spliced_bytes_out" in header and "cookie" in header
    assert len(header) == len(parse_stat(reply("show_stat.csv"))[0])


def test_show_stat_status_colours():
    table = render("show stat", reply("show_stat.csv"), color=True)
    assert "\x1b[32mUP\x1b[0m" in table
    assert "\x1b[31mDOWN\x1b[0m" in table
    assert "\x1b[34mMAINT\x1b[0m" in table
    plain = render("show stat", reply("show_stat.csv"))
    assert "\x1b[" not in plain
    # colour codes do not break the alignment: same layout once stripped
    assert ANSI.sub("", table) == plain


@pytest.mark.parametrize("status, colour", [
    ("UP", "green"), ("OPEN", "green"), ("DOWN", "red"), ("STOP", "red"), ("MAINT", "blue"),
    ("MAINT (via b/s)", "blue"), ("DRAIN", "yellow"), ("NOLB", "yellow"), ("UP 1/3", "yellow"),
    ("DOWN 1/2", "yellow"), ("UP (3/5)", "green"), ("no check", "cyan"), ("", None),
])
def test_status_colour(status, colour):
    assert status_color(status) == colour


def test_show_stat_variants():
    up = render("show stat up", reply("show_stat_up.csv"))
    assert "UP (3/5)" in up
    filtered = render("show stat be_app 4 -1", reply("show_stat_filter_be_app_servers.csv"))
    assert column(filtered, "svname") == ["app1", "app2", "app3", "app4", "app5"]
    user = render("show stat", reply("show_stat_user_level.csv"), all_columns=True)
    assert "addr" in user.splitlines()[0]
    assert render("show stat json", '[[{"objType":"Frontend"}]]\n') is None
    assert render("show stat typed", "F.2.0.0.pxname.1:KNSV:str:fe_http\n") is None
    assert render("show stat", "No such proxy.\n") is None
    assert render("show stat 99 -1 -1", reply("show_stat.csv").splitlines(True)[0]) is not None  # header only


def test_show_stat_json():
    rows = json.loads(render_json("show stat", reply("show_stat.csv")))
    assert rows == parse_stat(reply("show_stat.csv"))
    assert rows[3]["svname"] == "app1" and rows[3]["weight"] == "10"


def test_health_summary_and_names():
    rows = parse_stat(reply("show_stat.csv"))
    # app1 app2 UP, app5 api1 no check, api2 t1 UP; app3 DOWN; app4 MAINT; the listener is not a server
    assert health_summary(rows) == {"up": 6, "down": 1, "maint": 1, "drain": 0}
    frontends, backends, servers = names(rows)
    assert frontends == ["fe_http", "stats", "tcp_svc"]
    assert backends == ["st_src", "be_app", "be_api", "stats", "tcp_svc"]
    assert servers["be_app"] == ["app1", "app2", "app3", "app4", "app5"]
    assert servers["be_api"] == ["api1", "api2"] and servers["st_src"] == []


def test_health_summary_drain_and_transitions():
    rows = [{"pxname": "b", "svname": f"s{i}", "type": "2", "status": s}
            for i, s in enumerate(["DRAIN", "NOLB", "UP 1/3", "DOWN 1/2", "MAINT (via b/x)", "no check"])]
    rows.append({"pxname": "b", "svname": "BACKEND", "type": "1", "status": "UP"})
    assert health_summary(rows) == {"up": 2, "down": 1, "maint": 1, "drain": 2}


def test_servers_view():
    rows = server_rows(parse_stat(reply("show_stat.csv")), "be_app")
    assert [r["server"] for r in rows] == ["app1", "app2", "app3", "app4", "app5"]
    assert rows[0] == {"backend": "be_app", "server": "app1", "status": "UP", "weight": "10", "scur": "0",
                       "qcur": "0", "check": "L7OK"}
    table = render_servers(rows)
    assert table.splitlines()[0].split() == ["backend", "server", "status", "weight", "scur", "qcur", "check"]
    assert len(server_rows(parse_stat(reply("show_stat.csv")))) == 8


# -- other table commands ------------------------------------------------------------------------

def test_show_servers_state():
    table = render("show servers state", reply("show_servers_state.txt"))
    assert column(table, "srv_name") == ["app1", "app2", "app3", "app4", "app5", "api1", "api2", "t1"]
    assert column(table, "srv_op_state")[:3] == ["RUNNING", "RUNNING", "STOPPED"]
    assert column(table, "srv_admin_state")[3] == "FMAINT|CMAINT"  # `disabled` in the config: 5
    assert column(table, "srv_check_status")[:3] == ["L7OK", "L7OK", "L4CON"]
    assert column(table, "srv_addr")[6] == "::1"
    raw = render("show servers state", reply("show_servers_state.txt"), all_columns=True)
    assert column(raw, "srv_admin_state")[3] == "5" and "srv_agent_port" in raw
    rows = json.loads(render_json("show servers state be_app", reply("show_servers_state.txt")))
    assert rows[0]["srv_name"] == "app1" and rows[0]["srv_op_state"] == "2" and len(rows[0]) == 25
    assert render("show servers state zz", "Can't find backend.\n") is None
    assert render("show servers conn", reply("show_servers_state.txt")) is None


def test_show_info():
    table = render("show info", reply("show_info.txt"))
    fields = [line.split()[0] for line in table.splitlines()[2:]]
    assert fields[:3] == ["Name", "Version", "Release_date"]
    assert "CurrConns" in fields and "PoolAlloc_bytes" not in fields
    assert "2.6.12-1+deb12u4" in table
    everything = render("show info", reply("show_info.txt"), all_columns=True)
    assert "Tainted" in everything and "Unstoppable Jobs" in everything
    info = json.loads(render_json("show info", reply("show_info.txt")))
    assert info["Version"] == "2.6.12-1+deb12u4" and info["Unstoppable Jobs"] == "0"
    assert len(info) == len(reply("show_info.txt").splitlines())
    assert render("show info json", '[{"field":{"pos":0}}]\n') is None
    assert render("show info typed", "0.Name.1:POS:str:HAProxy\n") is None


def test_show_table_list_and_contents():
    text = (SAMPLES / "show_table.txt").read_text()
    assert text.startswith("\n#")  # `set table` printed nothing: its block is the empty line
    listing, contents = (b + "\n" for b in text[1:-2].split("\n\n"))
    table = render("show table", listing)
    assert lines_of(table)[2] == ["st_src", "ip", "102400", "2"]
    dump = render("show table st_src", contents)
    assert dump.splitlines()[0] == "table: st_src  type: ip  size: 102400  used: 2"
    header = dump.splitlines()[1].split()
    assert header == ["id", "key", "use", "exp", "gpc0", "conn_rate(10000)", "conn_cur", "http_req_rate(10000)"]
    assert lines_of(dump)[3][1:5] == ["10.1.1.1", "0", "30000", "5"]
    entries = json.loads(render_json("show table st_src", contents))
    assert entries[1]["key"] == "127.0.0.1" and entries[1]["conn_rate(10000)"] == "20"
    assert json.loads(render_json("show table", listing)) == [
        {"table": "st_src", "type": "ip", "size": "102400", "used": "2"}]
    assert render("show table", "") is not None  # no tables: an empty table
    assert render("show table nosuch", "No such table\n") is None


SESS = ("0x5575f8e59e20: proto=tcpv4 src=127.0.0.1:52358 fe=tcp_svc be=tcp_svc srv=t1 ts=00 epoch=0x2 age=0s "
        "calls=2 rate=0 cpu=0 lat=0 rq[f=848000h,i=0,an=00h,rx=29s,wx=,ax=] rp[f=80008000h,i=0,an=00h,rx=,wx=,ax=] "
        "scf=[8,0h,fd=17] scb=[8,1h,fd=18] exp=4s rc=0 c_exp=\n"
        "0x55b4cc7ee810: proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0 age=0s calls=2 "
        "rate=1 cpu=0 lat=0 rq[f=c0c020h,i=0,an=00h,rx=,wx=,ax=] rp[f=80008000h,i=0,an=00h,rx=,wx=,ax=] "
        "scf=[8,0h,fd=13] scb=[8,1h,fd=-1] exp=10s rc=0 c_exp=\n")


def test_show_sess():
    table = render("show sess", SESS)
    assert table.splitlines()[0].split() == ["id", "proto", "src", "fe", "be", "srv", "age", "calls", "rate",
                                            "cpu", "lat", "exp"]
    assert lines_of(table)[2][:6] == ["0x5575f8e59e20", "tcpv4", "127.0.0.1:52358", "tcp_svc", "tcp_svc", "t1"]
    rows = json.loads(render_json("show sess", SESS))
    assert rows[0]["rq"] == "f=848000h,i=0,an=00h,rx=29s,wx=,ax=" and rows[1]["fe"] == "GLOBAL"
    assert render("show sess 0x5575f8e59e20", SESS) is None  # the detailed dump stays raw
    assert render("show sess", "Permission denied\n") is None


def test_show_backend():
    table = render("show backend", reply("show_backend.txt"))
    assert lines_of(table) == [["name"], ["-------"], ["st_src"], ["be_app"], ["be_api"], ["stats"], ["tcp_svc"]]
    assert json.loads(render_json("show backend", reply("show_backend.txt")))[1] == {"name": "be_app"}


@pytest.mark.parametrize("command", ["show version", "help", "show errors", "get weight be/s", "show stats",
                                     "show servers conn", "show map"])
def test_other_commands_are_not_rendered(command):
    assert render(command, "whatever\n") is None
    assert render_json(command, "whatever\n") is None
