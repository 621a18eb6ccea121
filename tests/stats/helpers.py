"""Shared helpers for the stats tests: build a runtime from config text, read CSV back, and
feed check results the way net/health_tasks.apply_result does (without an event loop)."""

from __future__ import annotations

import re
from pathlib import Path

import trio_lb.config as config_pkg
from trio_lb.state.health import CheckResult
from trio_lb.state.proxies import Runtime, build_runtime

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"

DEFAULTS = """
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
"""


def runtime_from(text: str, now: float = 1000.0) -> Runtime:
    return build_runtime(config_pkg.parse(text, "stats-test.cfg"), now)


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header names and rows as dicts; asserts the framing HAProxy guarantees."""
    assert text.endswith("\n\n"), "a CLI reply block ends with an empty line"
    lines = text[:-1].splitlines()
    assert lines[0].startswith("# ") and lines[0].endswith(",")
    names = lines[0][2:-1].split(",")
    rows = []
    for line in lines[1:]:
        assert line.endswith(","), line
        fields = split_fields(line[:-1])
        assert len(fields) == len(names), (len(fields), len(names), line)
        rows.append(dict(zip(names, fields)))
    return names, rows


def split_fields(line: str) -> list[str]:
    """CSV fields, honouring HAProxy's "..." quoting (the tests' own reader)."""
    out, i, n = [], 0, len(line)
    while True:
        if i < n and line[i] == '"':
            j, buf = i + 1, []
            while True:
                k = line.index('"', j)
                buf.append(line[j:k])
                if line[k + 1:k + 2] == '"':
                    buf.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            out.append("".join(buf))
        else:
            k = line.find(",", i)
            out.append(line[i:] if k < 0 else line[i:k])
            i = n if k < 0 else k
        if i >= n:
            return out
        assert line[i] == ","
        i += 1


def row(rows: list[dict[str, str]], px: str, sv: str) -> dict[str, str]:
    matches = [r for r in rows if r["pxname"] == px and r["svname"] == sv]
    assert len(matches) == 1, (px, sv, [(r["pxname"], r["svname"]) for r in rows])
    return matches[0]


def feed_check(runtime: Runtime, backend: str, server: str, result: CheckResult, now: float) -> None:
    """One finished check, applied as net/health_tasks.apply_result applies it."""
    be = runtime.backends[backend]
    srv = be.server(server)
    assert srv is not None and srv.health is not None
    if not result.ok:
        srv.counters.chkfail += 1
    transition = srv.health.on_result(result)
    if transition is not None:
        srv.on_health_transition(transition, now)
        be.server_changed(srv, now)


TYPED_LINE = re.compile(r'^([FBSL])\.(\d+)\.(\d+)\.(\d+)\.([^.]+)\.1:(\w{3}):(\w+):(.*?)(?::"(.*)")?$')


def typed_fields(path: Path) -> list[tuple[str, int, str, str, str, str | None]]:
    """(kind, pos, name, tags, type, desc) of each line of a `show stat typed [desc]` capture."""
    out = []
    for line in path.read_text().splitlines():
        m = TYPED_LINE.match(line)
        if m:
            kind, _, _, pos, name, tags, typ, _value, desc = m.groups()
            out.append((kind, int(pos), name, tags, typ, desc))
    return out
