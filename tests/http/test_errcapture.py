"""trio_lb.http.errcapture against HAProxy 2.6.12 itself: positions, states, flags and whole
`show errors` dumps recorded by tests/data/record_errcapture_oracle.py (no haproxy needed here)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from trio_lb.http.errcapture import (
    H1_STATES,
    ErrorLog,
    analyze,
    dump_text,
    dump_text_line,
    find_request_error,
    find_response_error,
    format_date,
)

DATA = Path(__file__).resolve().parent.parent / "data"
ORACLE = json.loads((DATA / "errcapture_oracle.json").read_text())
CASES = ORACLE["cases"]
DATE = re.compile(r"\[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d)\.(\d{3})\]")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def epoch(date: str) -> float:
    """The unix time that prints as `date` ([dd/Mon/yyyy:HH:MM:SS.mmm], local time)."""
    d, mon, y, hh, mm, ss, ms = DATE.fullmatch(date).groups()
    sec = time.mktime((int(y), MONTHS.index(mon) + 1, int(d), int(hh), int(mm), int(ss), 0, 0, -1))
    return sec + int(ms) / 1000


def case_bytes(case: dict) -> bytes:
    return case["data"].encode("latin-1")[: case["len"]]  # what fitted in HAProxy's buffer


def test_corpus_is_big_enough():
    assert sum(c["direction"] == "request" for c in CASES) >= 25
    assert sum(c["direction"] == "response" for c in CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_position_and_state_match_haproxy(case):
    find = find_request_error if case["direction"] == "request" else find_response_error
    assert find(case_bytes(case)) == (case["pos"], case["state"])
    assert H1_STATES[case["state"]] == case["state_num"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_message_flags_and_lengths_match_haproxy(case):
    res = analyze(case_bytes(case), response=case["direction"] == "response")
    assert res.error
    assert (res.flags, res.curr_len, res.body_len) == (case["m_flags"], case["clen"], case["blen"])


@pytest.mark.parametrize("case", ORACLE["accepted"], ids=[c["name"] for c in ORACLE["accepted"]])
def test_what_haproxy_accepts_is_not_an_error(case):
    res = analyze(case["data"].encode("latin-1"), response=case["direction"] == "response")
    assert not res.error


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_snapshot_dump_matches_haproxy(case):
    """The whole `show errors <px> <dir>` text, rebuilt from the case's bytes and metadata."""
    dump = case["dump"]
    header, _, body = dump.partition("\n")
    log = ErrorLog(events=case["ev"])
    event_date = DATE.search(body).group(0)
    if case["direction"] == "request":
        log.record(direction="request", when=epoch(event_date), frontend=("fe_http", 2), backend=None,
                   server=None, src=case["src"], data=case["data"].encode("latin-1")[: case["len"]])
    else:
        log.record(direction="response", when=epoch(event_date), frontend=("fe_http", 2), backend=("be_app", 3),
                   server=("app1", 1), src=case["src"], data=case_bytes(case))
    log.events = int(header.rsplit(" ", 1)[1])
    now = epoch(DATE.search(header).group(0))
    assert log.render(now) + "\n" == dump


def test_full_dump_with_both_directions():
    dump = ORACLE["full_dump"]
    blocks = dump.split(" \n[")[1:]
    by_ev = {c["ev"]: c for c in CASES}
    log = ErrorLog()
    for block in blocks:
        ev = int(re.search(r"event #(\d+)", block).group(1))
        case = by_ev[ev]
        log.events = ev
        when = epoch("[" + block.split("]", 1)[0] + "]")
        if case["direction"] == "request":
            log.record(direction="request", when=when, frontend=("fe_http", 2), backend=None, server=None,
                       src=case["src"], data=case_bytes(case))
        else:
            log.record(direction="response", when=when, frontend=("fe_http", 2), backend=("be_app", 3),
                       server=("app1", 1), src=case["src"], data=case_bytes(case))
    log.events = int(dump.split("\n", 1)[0].rsplit(" ", 1)[1])
    now = epoch(DATE.search(dump).group(0))
    assert log.render(now) + "\n" == dump
    assert log.render(now, direction="response").count("invalid") == 1
    assert "invalid response" not in log.render(now, direction="request")


def test_golden_sample_byte_for_byte():
    golden = (DATA / "golden" / "show_errors.txt").read_text()
    log = ErrorLog()
    log.record(direction="request", when=epoch("[21/Nov/2026:23:42:30.427]"), frontend=("fe_http", 2),
               backend=None, server=None, src="127.0.0.1:49456", data=b"GET /a b\x01c HTTP/1.1\r\nHost: x\r\n\r\n")
    out = log.render(epoch("[21/Nov/2026:23:42:31.465]"))
    assert out + "\n" == golden  # the CLI adds the block's terminating LF
    assert "\n\n" not in out  # never an empty line inside the output


def test_brief_example():
    assert find_request_error(b"GET /a b\x01c HTTP/1.1\r\nHost: x\r\n\r\n") == (7, "MSG_RQVER")
    assert H1_STATES["MSG_RQVER"] == 6 and H1_STATES["MSG_RPVER"] == 10 and H1_STATES["MSG_TUNNEL"] == 31


def test_snapshots_replace_per_proxy_and_direction_and_count_events():
    log = ErrorLog()
    for i in range(3):
        log.record(direction="request", when=1e9 + i, frontend=("fe", 1), backend=None, server=None,
                   src="10.0.0.1:1", data=b"GET /\x01 HTTP/1.1\r\n\r\n")
    log.record(direction="response", when=1e9, frontend=("fe", 1), backend=("be", 2), server=("s", 1),
               src="10.0.0.1:1", data=b"HTTP/1.x 200 OK\r\n\r\n")
    out = log.render(1e9 + 5)
    assert out.startswith(f"Total events captured on {format_date(1e9 + 5)} : 4\n \n")
    assert out.count("invalid request") == 1 and "event #2," in out and "event #0," not in out
    assert "backend be (#2): invalid response\n  frontend fe (#1), server s (#1), event #3" in out
    assert log.render(0, proxy_ids={2}).count("invalid") == 1
    assert log.render(0, proxy_ids={1}).count("invalid") == 2  # fe is the response's other end
    assert log.render(0, proxy_ids={7}).count("invalid") == 0


def test_record_rejects_bad_arguments():
    log = ErrorLog()
    with pytest.raises(ValueError):
        log.record(direction="both", when=0, frontend=("fe", 1), backend=None, server=None, src="", data=b"")
    with pytest.raises(ValueError):
        log.record(direction="response", when=0, frontend=("fe", 1), backend=None, server=None, src="", data=b"")


def test_incomplete_head_is_reported_where_the_parser_stopped():
    data = b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 500
    assert find_request_error(data) == (len(data), "MSG_HDR_VAL")
    snap = ErrorLog().record(direction="request", when=0, frontend=("fe", 1), backend=None, server=None,
                             src="1.2.3.4:5", data=data, bufsize=256)
    assert snap.err_pos == 256 and len(snap.data) == 256 and snap.c_flags == 0x120


def test_maxhdr_limit_is_configurable():
    head = b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 3 + b"\r\n"
    assert not analyze(head).error
    res = analyze(head, maxhdr=3)
    assert (res.pos, res.state_name) == (len(head), "MSG_LAST_LF")


def test_dump_text_line_cuts_long_lines_and_escapes():
    line, ptr, bol = dump_text_line(b"a" * 100, 16384, 100, 0, 0)
    assert line == "  00000  " + "a" * 70 + "\n" and ptr == 70 and bol == 0
    line, ptr, bol = dump_text_line(b"a" * 100, 16384, 100, bol, ptr)
    assert line == "  00070+ " + "a" * 30 + "\n" and ptr == 100
    assert dump_text(b"\x00\\\x1b\x80\n") == "  00000  \\x00\\\\\\e\\x80\\n\n"
    assert dump_text(b"ab", bsize=1) == "  00000  a\n"


def test_date_format_truncates_milliseconds():
    when = epoch("[01/Feb/2026:03:04:05.678]") + 0.0009
    assert format_date(when) == "[01/Feb/2026:03:04:05.678]"
