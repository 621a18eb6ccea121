"""`show info`: the field table against HAProxy 2.6.12's, and the values trio-lb computes."""

from __future__ import annotations

import re

from tests.stats.helpers import DEFAULTS, GOLDEN, runtime_from
from trio_lb.stats import INFO_FIELDS, VERSION, ProcessInfo, render_info
from trio_lb.stats.columns import NATURES, ORIGINS, SCOPES

T0 = 5000.0
TEXT = """
global
    maxconn 800
    node edge-1
    stats socket /tmp/never-bound.sock level admin
""" + DEFAULTS + """
frontend fe
    bind 127.0.0.1:1
    bind 127.0.0.1:2
    default_backend be
backend be
    server s1 127.0.0.1:3
"""

TYPED_INFO = re.compile(r'^(\d+)\.([^.]+)\.1:(\w{3}):(\w+):(.*?):"(.*)"$')


def fields(text: str) -> list[tuple[str, str]]:
    assert text.endswith("\n\n")
    return [tuple(line.split(": ", 1)) for line in text[:-2].split("\n")]  # type: ignore[misc]


def test_table_matches_haproxy_typed_desc():
    seen = 0
    for line in (GOLDEN / "show_info_typed_desc.txt").read_text().splitlines():
        m = TYPED_INFO.match(line)
        if not m:
            continue
        pos, name, tags, typ, _value, desc = m.groups()
        f = INFO_FIELDS[int(pos)]
        assert (f.pos, f.name, f.tags, f.type, f.desc) == (int(pos), name, tags, typ, desc)
        seen += 1
    assert seen == 69 and len(INFO_FIELDS) == 72
    for f in INFO_FIELDS:
        assert f.tags[0] in ORIGINS and f.tags[1] in NATURES and f.tags[2] in SCOPES


def test_same_lines_as_haproxy_in_the_same_order():
    golden = [line.split(": ", 1)[0] for line in (GOLDEN / "show_info.txt").read_text().splitlines() if line]
    ours = [name for name, _ in fields(render_info(runtime_from(TEXT, T0), T0, ProcessInfo(epoch=1.7e9)))]
    assert ours == golden


def test_values():
    rt = runtime_from(TEXT, T0)
    rt.actconn, rt.cum_conns, rt.cum_reqs = 2, 40, 22
    rt.conn_rate.hit(T0 + 90061.5)
    rt.frontends["fe"].counters.bout = 1000
    rt.backends["be"].counters.bin = 234
    proc = ProcessInfo(epoch=1_795_000_000.5, ulimit_n=4096, tasks=12, idle_pct=97, cli_sessions=1)
    info = dict(fields(render_info(rt, T0 + 90061.5, proc)))
    assert (info["Name"], info["Version"], info["Build info"]) == ("HAProxy", VERSION, VERSION)
    assert re.fullmatch(r"2\.6\.\d+-trio-lb-\S+", VERSION)
    assert re.fullmatch(r"\d{4}/\d\d/\d\d", info["Release_date"])
    assert (info["Uptime"], info["Uptime_sec"]) == ("1d 1h01m01s", "90061")
    assert info["Start_time_sec"] == str(int(1_795_000_000.5 - 90061.5))
    assert (info["Ulimit-n"], info["Maxsock"], info["Maxconn"], info["Hard_maxconn"]) == ("4096", "4096", "800", "800")
    assert (info["CurrConns"], info["CumConns"], info["CumReq"]) == ("2", "40", "22")
    assert (info["ConnRate"], info["MaxConnRate"], info["SessRate"]) == ("1", "1", "1")
    assert (info["Listeners"], info["Jobs"], info["Tasks"], info["Idle_pct"]) == ("3", "6", "12", "97")
    assert (info["node"], info["Stopping"], info["TotalBytesOut"], info["Pid"]) == ("edge-1", "0", "1234", str(rt.pid))
    assert "description" not in info and "ZlibMemUsage" not in info


def test_description_and_stopping():
    rt = runtime_from(TEXT.replace("node edge-1", "node edge-1\n    description front tier"), T0)
    rt.stopping = True
    text = render_info(rt, T0)
    assert "\nnode: edge-1\ndescription: front tier\nStopping: 1\n" in text
    assert "Start_time_sec" not in text  # no wall clock given
    assert render_info(rt, T0, block=False).endswith("Tainted: 0\n")
