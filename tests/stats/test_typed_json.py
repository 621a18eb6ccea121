"""`show stat` / `show info` in typed and JSON forms, `desc`, `float`, and `show schema json`.

Three kinds of checks: unit tests of the formats on a small runtime; the captures of HAProxy
2.6.12 in tests/data/golden (show_stat_typed.txt, show_stat_json.head.txt, show_info_typed.txt,
show_info_json.txt, show_schema_json.txt), with the traffic-fed values compared for presence
only as in test_samples; and a live HAProxy 2.6 running the oracle configuration of
test_haproxy_oracle (plus a `description` holding a comma and quotes), compared byte for byte
with the time-dependent values masked.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from tests.stats.helpers import DEFAULTS, GOLDEN, runtime_from
from tests.stats.test_haproxy_oracle import CONFIG, HAPROXY, T0, apply_to_runtime, cli
from tests.stats.test_samples import NOW, TRAFFIC, lab_runtime
from trio_lb.stats import (JSON_SCHEMA, ProcessInfo, info_fields, parse_show_stat, render_info,
                           render_info_json, render_info_text, render_info_typed, render_schema_json,
                           render_stat_json, render_stat_typed, stat_fields)
from trio_lb.stats.columns import NATURES, ORIGINS, SCOPES
from trio_lb.stats.rows import iter_rows
from trio_lb.stats.typed import flt_text

SMALL = DEFAULTS + """
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    server s1 127.0.0.1:3 check inter 1h
listen tl
    mode tcp
    bind 127.0.0.1:4
    server t1 127.0.0.1:5
"""
TYPED_STAT = re.compile(r'^([FBSL])\.(\d+)\.(\d+)\.(\d+)\.([^.:]+)\.1:(\w{3}):(\w+):(.*?)(?::"(.*)")?$')


# --- the formats ------------------------------------------------------------------------------------

def test_typed_lines_follow_the_fields():
    rt = runtime_from(SMALL, T0)
    text = render_stat_typed(rt, T0)
    assert text.endswith("\n\n") and "\n\n" not in text[:-1]
    lines = text[:-2].split("\n")
    expected = [(row.kind, row.iid, row.sid, f) for row in iter_rows(rt, T0) for f in stat_fields(row)]
    assert len(lines) == len(expected)
    for line, (kind, iid, sid, f) in zip(lines, expected):
        assert line == f"{kind}.{iid}.{sid}.{f.pos}.{f.name}.1:{f.tags}:{f.type}:{f.value}"
    assert "S.3.1.36.check_status.1:MOP:str:INI" in lines
    assert "S.3.1.56.last_chk.1:MOP:str:" in lines  # a present empty string is printed
    assert "F.2.0.17.status.1:SGP:str:OPEN" in lines and "B.3.0.19.act.1:MGP:u32:1" in lines
    assert "S.3.1.19.act.1:SGP:u32:1" in lines  # per-kind tags
    assert not any(".2.qcur." in line for line in lines if line.startswith("F."))  # empty: no line


def test_typed_desc_and_module_positions():
    rt = runtime_from(SMALL, T0)
    lines = render_stat_typed(rt, T0, desc=True, block=False).splitlines()
    assert lines[0] == 'F.2.0.0.pxname.1:KNS:str:fe:"Proxy name"'
    assert 'F.2.0.126.h1_spliced_bytes_out.1:MCP:u64:0:"Total number of bytes sendusing kernel splicing"' in lines
    assert not any(".102.agg_check_status." in line for line in lines if line.startswith("F."))
    without = render_stat_typed(rt, T0, modules=False, block=False).splitlines()
    assert max(int(TYPED_STAT.match(line).group(4)) for line in without) <= 102


def test_json_is_valid_and_mirrors_typed():
    rt = runtime_from(SMALL, T0)
    text = render_stat_json(rt, T0)
    assert text.endswith("]]\n\n") and text.count("\n") == 2 and ": " not in text
    objects = json.loads(text)
    typed = [TYPED_STAT.match(line).groups() for line in render_stat_typed(rt, T0, block=False).splitlines()]
    flat = [field for obj in objects for field in obj]
    assert len(flat) == len(typed)
    objtypes = {"F": "Frontend", "B": "Backend", "S": "Server", "L": "Listener"}
    for field, (kind, iid, sid, pos, name, tags, typ, value, _desc) in zip(flat, typed):
        assert field["objType"] == objtypes[kind] and field["proxyId"] == int(iid) and field["id"] == int(sid)
        assert field["field"] == {"pos": int(pos), "name": name} and field["processNum"] == 1
        assert field["tags"] == {"origin": ORIGINS[tags[0]], "nature": NATURES[tags[1]], "scope": SCOPES[tags[2]]}
        assert field["value"] == {"type": typ, "value": value if typ == "str" else int(value)}
    assert [obj[1]["value"]["value"] for obj in objects] == ["FRONTEND", "s1", "BACKEND", "FRONTEND", "t1",
                                                            "BACKEND"]


def test_filters_apply_to_every_format():
    rt = runtime_from(SMALL, T0)
    req = parse_show_stat(["be", "4", "-1"], rt)
    typed = render_stat_typed(rt, T0, filter=req.filter, block=False).splitlines()
    assert {line.split(".1:")[0].rsplit(".", 2)[0] for line in typed} == {"S.3.1"}
    assert len(json.loads(render_stat_json(rt, T0, filter=req.filter))) == 1
    none = parse_show_stat(["99", "-1", "-1"], rt)
    assert render_stat_json(rt, T0, filter=none.filter) == "[]\n\n"
    assert render_stat_typed(rt, T0, filter=none.filter) == "\n"


def test_user_level_hides_legends_in_typed_and_json():
    rt = runtime_from(SMALL, T0)
    assert ".73.addr.1:CGS:str:127.0.0.1:3" in render_stat_typed(rt, T0)
    assert ".addr." not in render_stat_typed(rt, T0, legends=False)
    assert '"addr"' not in render_stat_json(rt, T0, legends=False)


def test_json_strings_are_escaped():
    rt = runtime_from('global\n    description a\\"b\\\\c, d\n' + SMALL, T0)
    items = json.loads(render_info_json(rt, T0))
    assert [i["value"]["value"] for i in items if i["field"]["name"] == "description"] == ['a"b\\c, d']
    assert '"value":"a\\"b\\\\c, d"' in render_info_json(rt, T0)
    assert '51.description.1:COS:str:a"b\\c, d\n' in render_info_typed(rt, T0)
    assert 'description: "a""b\\c, d"\n' in render_info_text(rt, T0)


def test_flt_text_trims_like_flt_trim():
    assert [flt_text(v) for v in (0.0, 6.50562, 21.155911, 1795314826.1224511, 3.0, 0.5)] == [
        "0", "6.50562", "21.155911", "1795314826.122451", "3", "0.5"]


def test_info_float_switches_the_same_fields_as_haproxy():
    rt = runtime_from(SMALL, T0)
    proc = ProcessInfo(epoch=1_795_000_000.25)
    plain = {f.name: f for f in info_fields(rt, T0 + 6.5, proc)}
    floats = {f.name: f for f in info_fields(rt, T0 + 6.5, proc, use_float=True)}
    changed = {n for n in plain if (plain[n].tags, plain[n].type) != (floats[n].tags, floats[n].type)}
    assert changed == {"Uptime_sec", "ConnRate", "SessRate", "SslRate", "SslFrontendKeyRate",
                       "SslFrontendSessionReuse_pct", "SslBackendKeyRate", "CompressBpsIn", "CompressBpsOut",
                       "Start_time_sec"}
    assert floats["SslFrontendKeyRate"].tags == "MRP" and floats["Uptime_sec"].value == 6.5
    assert "8.Uptime_sec.1:MDP:flt:6.5\n" in render_info_typed(rt, T0 + 6.5, proc, use_float=True)
    assert "Start_time_sec: 1794999993.75\n" in render_info_text(rt, T0 + 6.5, proc, use_float=True)
    assert '"name":"Uptime_sec"},"processNum":1,"tags":{"origin":"Metric","nature":"Duration","scope":"Process"},' \
           '"value":{"type":"flt","value":6.5}}' in render_info_json(rt, T0 + 6.5, proc, use_float=True)


def test_info_text_without_options_is_show_info():
    rt = runtime_from(SMALL, T0)
    proc = ProcessInfo(epoch=1.7e9, ulimit_n=1024)
    assert render_info_text(rt, T0 + 3, proc) == render_info(rt, T0 + 3, proc)
    described = render_info_text(rt, T0 + 3, proc, desc=True).splitlines()
    assert described[0] == 'Name: HAProxy:"Product name"'
    assert described[8] == 'Uptime_sec: 3:"How long ago this worker process was started (seconds)"'


# --- the captures of HAProxy 2.6.12 --------------------------------------------------------------

def _masked_typed(text: str) -> list[tuple[str, ...]]:
    out = []
    for line in text.splitlines():
        m = TYPED_STAT.match(line)
        if m:
            kind, iid, sid, pos, name, tags, typ, value, _ = m.groups()
            out.append((kind, iid, sid, pos, name, tags, typ, "*" if name in TRAFFIC else value))
    return out


def test_stat_typed_matches_the_capture():
    ours = _masked_typed(render_stat_typed(lab_runtime(), NOW))
    theirs = _masked_typed((GOLDEN / "show_stat_typed.txt").read_text())
    assert ("B", "cookie") in {(k, n) for k, _, _, _, n, *_ in theirs}  # cookie SRV: not in our config
    theirs = [t for t in theirs if not (t[0] == "B" and t[4] == "cookie")]
    assert ours == theirs


def test_stat_json_head_matches_the_capture():
    head = (GOLDEN / "show_stat_json.head.txt").read_text()
    ours = render_stat_json(lab_runtime(), NOW)
    fields = re.compile(r'\{"objType":.*?"value":\{"type":"\w+","value":(?:"[^"]*"|-?\d+)\}\}')
    want = fields.findall(head)
    got = fields.findall(ours)[: len(want)]
    assert len(want) > 10 and head.startswith("[[")

    def mask(item: str) -> str:
        name = json.loads(item)["field"]["name"]
        return re.sub(r'"value":(-?\d+)\}\}$', '"value":*}}', item) if name in TRAFFIC else item
    assert [mask(g) for g in got] == [mask(w) for w in want]


@pytest.mark.parametrize("golden, render", [
    ("show_info_typed.txt", render_info_typed), ("show_info_json.txt", render_info_json)])
def test_info_forms_list_the_captured_fields(golden, render):
    """Same fields, positions, tags and types as the capture (values are the process's own)."""
    rt = lab_runtime()
    text = render(rt, NOW, ProcessInfo(epoch=time.time()))
    shape = re.compile(r'(\d+)\.([^.:]+)\.1:(\w{3}):(\w+):' if "typed" in golden else
                       r'"pos":(\d+),"name":"([^"]+)"\},"processNum":1,"tags":\{"origin":"(\w+)",'
                       r'"nature":"\w+","scope":"\w+"\},"value":\{"type":"(\w+)"')
    assert shape.findall(text) == shape.findall((GOLDEN / golden).read_text())
    assert text.endswith("\n\n")


def test_schema_matches_the_capture():
    assert render_schema_json() == (GOLDEN / "show_schema_json.txt").read_text()
    tags = JSON_SCHEMA["definitions"]["tags"]
    assert tags["nature"]["enum"] == list(NATURES.values()) + ["Unknown"]
    json.loads(render_schema_json())


# --- a live HAProxy 2.6 ---------------------------------------------------------------------------

DESCRIPTION = 'global\n    description lab, \\"one\\"\n'
VOLATILE = {"lastchg", "downtime"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    if HAPROXY is None:
        pytest.skip("haproxy is not installed")
    d = tmp_path_factory.mktemp("hap11")
    text = CONFIG.format(d=d).replace("global\n", DESCRIPTION, 1)
    (d / "lab.cfg").write_text(text)
    subprocess.run([HAPROXY, "-D", "-p", str(d / "pid"), "-f", str(d / "lab.cfg")],
                   check=True, timeout=10, capture_output=True)
    pid = int((d / "pid").read_text().split()[0])
    try:
        for command in ("set server be_web/w2 state drain", "set server be_web/w4 state maint",
                        "set weight be_web/w1 4", "disable frontend fe_other"):
            assert cli(d / "admin.sock", command) == "\n"
        rt = runtime_from(text, T0)
        apply_to_runtime(rt)
        yield d, rt
    finally:
        os.kill(pid, signal.SIGTERM)


def mask_stat(text: str) -> str:
    names = "|".join(VOLATILE)
    text = re.sub(rf"^(\w\.\d+\.\d+\.\d+\.(?:{names})\.1:\w+:\w+:)\d+", r"\1*", text, flags=re.M)
    return re.sub(rf'("name":"(?:{names})"\}},[^}}]*\}},"value":\{{"type":"\w+","value":)\d+', r"\1*", text)


@pytest.mark.parametrize("args", ["typed", "typed desc", "json", "json desc", "be_web 4 -1 typed",
                                  "-1 2 -1 up typed desc", "no-maint json", "2 8 2 typed", "99 -1 -1 json",
                                  "99 -1 -1 typed", "typed json", "-1 -1 -1 json typed desc"])
def test_show_stat_forms_against_haproxy(live, args):
    d, rt = live
    req = parse_show_stat(args.split(), rt)
    render = {"typed": lambda: render_stat_typed(rt, T0, filter=req.filter, desc=req.desc),
              "json": lambda: render_stat_json(rt, T0, filter=req.filter)}[req.format]
    assert mask_stat(render()) == mask_stat(cli(d / "admin.sock", f"show stat {args}"))


def test_show_stat_typed_user_level_against_haproxy(live):
    d, rt = live
    ours = render_stat_typed(rt, T0, legends=False)
    assert mask_stat(ours) == mask_stat(cli(d / "user.sock", "show stat typed"))


SAME_INFO = {"Name", "Nbproc", "Process_num", "Maxconn", "Hard_maxconn", "CurrConns", "Stopping", "Jobs",
             "Unstoppable Jobs", "Listeners", "ActivePeers", "SslRate", "CompressBpsIn", "Tainted", "PipesUsed",
             "description", "ConnRateLimit", "Memmax_MB", "Memmax_bytes"}


def _info_lines(text: str) -> list[tuple[str, str, str, str, str]]:
    """(pos, name, tags, type, value or '*' when the value is the process's own) per typed line."""
    out = []
    for line in text.splitlines():
        m = re.match(r'^(\d+)\.([^.]+)\.1:(\w{3}):(\w+):(.*)$', line)
        if m:
            pos, name, tags, typ, rest = m.groups()
            out.append((pos, name, tags, typ, rest if name in SAME_INFO else "*" + rest[rest.rfind(':"'):]
                        if ':"' in rest else "*"))
    return out


@pytest.mark.parametrize("args", ["typed", "typed desc", "typed float", "typed desc float"])
def test_show_info_typed_against_haproxy(live, args):
    d, rt = live
    words = args.split()
    ours = render_info_typed(rt, T0, ProcessInfo(epoch=time.time()), desc="desc" in words,
                             use_float="float" in words)
    theirs = cli(d / "admin.sock", f"show info {args}")
    assert _info_lines(ours) == _info_lines(theirs)
    assert '51.description.1:COS:str:lab, "one"' in theirs


def test_show_info_text_desc_against_haproxy(live):
    d, rt = live
    ours = render_info_text(rt, T0, ProcessInfo(epoch=time.time()), desc=True)
    theirs = cli(d / "admin.sock", "show info desc")

    def shape(text: str) -> list[tuple[str, str]]:
        pairs = [line.split(": ", 1) for line in text.splitlines() if line]
        return [(name, rest if name in SAME_INFO else rest[rest.rfind(':"'):]) for name, rest in pairs]
    assert shape(ours) == shape(theirs)
    assert 'description: "lab, ""one""":"Node description (global.description)"\n' in theirs


def test_show_info_json_against_haproxy(live):
    """Byte-equal once the process's own values are masked, except for the one string holding
    quotes, which HAProxy 2.6 leaves unescaped (invalid JSON) and trio-lb escapes."""
    d, rt = live
    ours = render_info_json(rt, T0, ProcessInfo(epoch=time.time()), use_float=True)
    theirs = cli(d / "admin.sock", "show info json float")
    assert '"value":"lab, "one""' in theirs
    theirs = theirs.replace('"value":"lab, "one""', '"value":"lab, \\"one\\""')

    def mask(text: str) -> str:
        items = re.findall(r'\{"field":.*?"value":(?:"(?:[^"\\]|\\.)*"|[-\d.]+)\}\}', text)
        assert ",".join(items) == text[1:-3]
        return [i if json.loads(i)["field"]["name"] in SAME_INFO else re.sub(r',"value":[^:]*\}\}$', "", i)
                for i in items]
    assert mask(ours) == mask(theirs)
    assert theirs.endswith("}]\n\n")


def test_show_schema_json_against_haproxy(live):
    d, _ = live
    assert render_schema_json() == cli(d / "admin.sock", "show schema json")
