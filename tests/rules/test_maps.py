"""Pattern references (trio_lb.rules.maps): loading, sharing, match kinds and runtime edits,
checked against pattern.c's behaviour (and `haproxy -c` for the configuration errors)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from trio_lb import config as cfgmod
from trio_lb.rules.maps import (
    PatternError,
    PatternRegistry,
    building,
    current_registry,
    read_file,
)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_file_format(tmp_path: Path) -> None:
    f = write(tmp_path, "a.map", "# comment\n  key1   value one  \r\n\n\t#notcomment v\nkey2\n")
    assert read_file(f, True) == [(2, "key1", "value one"), (4, "#notcomment", "v"), (5, "key2", "")]
    assert read_file(f, False)[0] == (2, "key1   value one  ", None)


def test_missing_file_messages(tmp_path: Path) -> None:
    reg = PatternRegistry()
    with pytest.raises(PatternError, match=r"^failed to open pattern file <nope.map>$"):
        reg.load("nope.map")
    with pytest.raises(PatternError, match="error encountered while reading  <.*> : Is a directory"):
        reg.load(str(tmp_path))


def test_str_first_entry_wins_and_beg_longest_prefix(tmp_path: Path) -> None:
    f = write(tmp_path, "p.map", "/api/ api\n/api/v1/ v1\n/ root\n/api/ again\n")
    reg = PatternRegistry()
    assert reg.load(f, "str").lookup("/api/") == "api"
    beg = reg.load(f, "beg")
    assert beg.lookup("/api/v1/users") == "v1"
    assert beg.lookup("/api/v2") == "api"
    assert beg.lookup("/x") == "root"
    assert reg.load(f, "sub").lookup("/x/api/v1/y") == "api"  # first in file order
    assert reg.load(f, "end").lookup("/q/api/") == "api"


def test_word_and_regex_kinds(tmp_path: Path) -> None:
    f = write(tmp_path, "w.map", "example.com dom\n/img/ dir\n^/v[0-9]+/ reg\n")
    reg = PatternRegistry()
    assert reg.load(f, "dom").lookup("www.example.com:80") == "dom"
    assert reg.load(f, "dom").lookup("notexample.com") is None
    assert reg.load(f, "dir").lookup("/static/img/a.png") == "dir"
    assert reg.load(f, "reg").lookup("/v12/x") == "reg"


def test_ip_longest_prefix_then_list(tmp_path: Path) -> None:
    f = write(tmp_path, "ip.map", "10.0.0.0/8 wide\n10.1.0.0/16 narrow\n10.0.0.0/255.0.255.0 odd\n::/0 v6\n")
    ips = PatternRegistry().load(f, "ip")
    assert ips.lookup("10.1.2.3") == "narrow"
    assert ips.lookup("10.2.0.1") == "wide"
    assert ips.lookup("11.0.0.1") == "v6"  # IPv4 samples are tried as ::ffff:a.b.c.d
    assert ips.lookup("::ffff:10.1.0.9") == "v6"  # the IPv6 tree first
    assert ips.lookup(ipaddress.ip_address("10.9.9.9")) == "wide"
    assert ips.lookup("not-an-ip") is None


def test_int_ranges_and_typed_values(tmp_path: Path) -> None:
    f = write(tmp_path, "i.map", "1:5 10\n6- 20\n")
    ints = PatternRegistry().load(f, "int", out_type="sint")
    assert ints.lookup("3") == "10"
    assert ints.lookup(100) == "20"
    assert ints.lookup_sample(3) == 10
    bad = write(tmp_path, "b.map", "a 1\nb x\n")
    with pytest.raises(PatternError, match=r"^unable to parse 'x' at line 2 of file '.*b.map'$"):
        PatternRegistry().load(bad, "str", out_type="sint")
    with pytest.raises(PatternError, match=r"^'a' is not a number at line 1 of file"):
        PatternRegistry().load(bad, "int")
    addr = PatternRegistry().load(write(tmp_path, "a.map", "x 10.0.0.1\n"), "str", out_type="addr")
    assert addr.lookup_sample("x") == ipaddress.ip_address("10.0.0.1")


def test_one_reference_per_path_and_entry_counts(tmp_path: Path) -> None:
    f = write(tmp_path, "h.map", "a 1\nb 2\n")
    reg = PatternRegistry()
    with reg.at("x.cfg", 3):
        one = reg.load(f, "str")
    with reg.at("x.cfg", 4):
        two = reg.load(f, "str")
    with reg.at("x.cfg", 5):
        reg.load(f, "beg")
    with reg.at("x.cfg", 6):
        reg.load(f, "sub")
    with reg.at("x.cfg", 7):
        reg.load(f, "end")  # shares sub's index, as in pattern_new_expr()
    assert len(reg.refs) == 1
    ref = reg.refs[0]
    assert one.expr is two.expr
    assert ref.entry_cnt == 6
    assert ref.display.endswith("line 3, by map at file 'x.cfg' line 4, by map at file 'x.cfg' line 5, "
                                "by map at file 'x.cfg' line 6, by map at file 'x.cfg' line 7")
    ref.add("c", "3")
    assert one.lookup("c") == "3" and ref.entry_cnt == 9
    with pytest.raises(PatternError):
        reg.load_acl_file(f, "str", False, False)
    assert "already used as two column file" in str(pytest.raises(PatternError, reg.load_acl_file, f, "str",
                                                                   False, False).value)


def test_failed_add_costs_one_entry_like_haproxy() -> None:
    reg = PatternRegistry()
    m = reg.inline("src", "ip", False)
    m.ref.add("10.0.0.0/8")
    with pytest.raises(PatternError, match="is not a valid IPv4 or IPv6 address"):
        m.ref.add("300.1.1.1")
    assert m.ref.entry_cnt == 0 and len(m.ref.entries) == 1
    assert m.test(ipaddress.ip_address("10.2.3.4"))


def test_generations() -> None:
    reg = PatternRegistry()
    m = reg.inline("path", "str", False)
    m.ref.add("/old")
    gen = m.ref.new_gen()
    m.ref.add("/new", gen=gen)
    assert m.test("/old") and not m.test("/new")
    assert not m.ref.commit(gen + 1)
    assert m.ref.commit(gen)
    assert m.test("/new") and not m.test("/old")
    assert [e.key for e in m.ref.entries] == ["/new"]


def test_ids_follow_creation_order_around_reserved_ones() -> None:
    reg = PatternRegistry()
    reg.inline("a", "str", False, unique_id=1)
    reg.inline("b", "str", False)
    reg.inline("c", "str", False)
    reg.finalize()
    assert [(r.unique_id, r.display[:7]) for r in reg.refs] == [(0, "acl 'b'"), (1, "acl 'a'"), (2, "acl 'c'")]
    with pytest.raises(PatternError, match="the id is already used"):
        reg.check_unique_id(2)
    assert reg.find("#2") is reg.refs[2] and reg.find("#") is reg.refs[0] and reg.find("#x") is None


def test_parse_sets_a_fresh_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bl.lst", "10.0.0.0/8\n")
    text = ("frontend f\n    bind :8080\n    mode http\n    acl bad src -f bl.lst\n    acl bad2 src -u 7 -f bl.lst\n"
            "    http-request deny if bad TRUE\n    http-request deny if bad2 TRUE\n    default_backend b\n"
            "backend b\n    mode http\n    http-request deny if TRUE\n    server s 127.0.0.1:1\n")
    outside = current_registry()
    cfg = cfgmod.parse(text, "t.cfg")
    assert current_registry() is outside
    lines = [r.header_line() for r in cfg.patterns.refs]
    assert lines[:6] == [
        "0 (bl.lst) pattern loaded from file 'bl.lst' used by acl at file 't.cfg' line 4, by acl at file "
        "'t.cfg' line 5. curr_ver=0 next_ver=0 entry_cnt=1\n",
        "1 () acl 'src' file 't.cfg' line 4. curr_ver=0 next_ver=0 entry_cnt=0\n",
        "2 () acl 'always_true' file 't.cfg' line 6. curr_ver=0 next_ver=0 entry_cnt=0\n",
        "3 () acl 'always_true' file 't.cfg' line 11. curr_ver=0 next_ver=0 entry_cnt=0\n",
        "4 () acl 'var' file 'httpclient' line 0. curr_ver=0 next_ver=0 entry_cnt=1\n",
        "5 () acl 'var' file 'httpclient' line 0. curr_ver=0 next_ver=0 entry_cnt=1\n",
    ]
    assert lines[6].startswith("7 () acl 'src' file 't.cfg' line 5.")


def test_config_errors_as_haproxy_prints_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "h.map", "example.com be_app\n")
    base = "frontend f\n    bind :8080\n    mode http\n{}\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n"
    cases = {
        "    acl x src -f nofile": "parsing [t.cfg:4] : error detected while parsing ACL 'x' : "
                                   "failed to open pattern file <nofile>.",
        "    acl x src -f h.map": "parsing [t.cfg:4] : error detected while parsing ACL 'x' : 'example.com be_app' "
                                 "is not a valid IPv4 or IPv6 address at line 1 of file 'h.map'.",
        "    acl x src -u 0 1.2.3.4\n    acl y src -u 0 1.2.3.4": "parsing [t.cfg:5] : error detected while "
                                                                  "parsing ACL 'y' : the id is already used.",
        "    acl x src -u z 1.2.3.4": "parsing [t.cfg:4] : error detected while parsing ACL 'x' : "
                                     "the argument of -u must be an integer.",
    }
    for line, alert in cases.items():
        with pytest.raises(cfgmod.ConfigErrors) as info:
            cfgmod.parse(base.format(line), "t.cfg")
        assert info.value.alerts[0] == alert


def test_building_nests() -> None:
    reg = PatternRegistry()
    with building(reg):
        assert current_registry() is reg
    assert current_registry() is not reg
