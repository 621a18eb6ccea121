"""RequestView's derived values, every sample fetch, argument lists and casts."""

from __future__ import annotations

import ipaddress

import pytest

from trio_lb.rules import sample
from trio_lb.rules.sample import (
    FETCHES,
    ArgError,
    RequestView,
    fetch,
    ip_to_str,
    make_arg_list,
    path_of,
    read_int64,
    split_values,
    strl2ic,
    url_param_values,
)

HEADERS = [
    (b"host", b"www.Example.com:8080"),
    (b"x-list", b'a, b,"c,d"'),
    (b"x-list", b"e"),
    (b"x-num", b"12abc"),
    (b"x-empty", b""),
]


def view(**kw: object) -> RequestView:
    base: dict = dict(method="GET", target="/a/b?x=1&y=2;z=9&x=2", headers=list(HEADERS))
    base.update(kw)
    return RequestView("10.1.2.3", 40000, "127.0.0.1", 8080, **base)


# ------------------------------------------------------------------ the view itself


@pytest.mark.parametrize(
    "target, path",
    [
        ("/a/b?q=1", "/a/b"),
        ("/", "/"),
        ("http://h.example/x/y?z", "/x/y"),
        ("https://h.example", ""),  # absolute URI without a path
        ("h.example:443", ""),  # CONNECT authority form
        ("*", ""),
        ("", ""),
        (None, ""),
        ("/a?b/c", "/a"),
        ("a+b-c.d://host/p", "/p"),
    ],
)
def test_path_follows_http_get_path(target: str | None, path: str) -> None:
    assert path_of(target) == path
    assert view(target=target).path == path


def test_query_is_everything_after_the_first_question_mark() -> None:
    assert view(target="/a?b=1?c").query == "b=1?c"
    assert view(target="/a?").query == ""
    assert view(target="/a").query is None
    assert view(target=None).query is None


def test_derived_values_are_computed_once() -> None:
    v = view()
    assert v.path is v.path
    assert v.header_values("x-list") is v.header_values("X-List")
    assert v.src_addr is v.src_addr


def test_header_is_last_comma_split_value_case_insensitive() -> None:
    v = view()
    assert v.header("X-LIST") == "e"
    assert v.header("Host") == "www.Example.com:8080"
    assert v.header("x-missing") is None
    assert v.header("x-empty") == ""


def test_header_values_split_like_haproxy() -> None:
    v = view()
    assert v.header_values("x-list") == ["a", "b", '"c,d"', "e"]
    assert v.header_values("x-missing") == []
    assert v.header_values("") == ["www.Example.com:8080", "a", "b", '"c,d"', "e", "12abc", ""]
    assert v.header_lines("x-list") == ['a, b,"c,d"', "e"]


@pytest.mark.parametrize(
    "line, values",
    [
        ("a", ["a"]),
        (" a ,\tb ", ["a", "b"]),
        ("a,", ["a", ""]),
        ("", [""]),
        ('"x,y", z', ['"x,y"', "z"]),
        (r'"a\",b", c', [r'"a\",b"', "c"]),
    ],
)
def test_split_values(line: str, values: list[str]) -> None:
    assert split_values(line) == values


def test_url_param_first_value_and_delimiters() -> None:
    v = view()
    assert v.url_param("x") == "1"
    assert v.url_param("z") == "9"  # ';' separates too
    assert v.url_param("nope") is None
    assert view(target=None).url_param("x") is None


@pytest.mark.parametrize(
    "target, name, delim, values",
    [
        ("/p?x=1&x=2;x=3", "x", "?", ["1", "2", "3"]),
        ("/p?x&x=&y=1", "x", "?", [""]),  # no '=' is no value
        ("/p?a=1&b&c=3", "", "?", ["1", "3"]),  # empty name: every value
        ("/p?a=1=2&b=3", "", "?", ["1=2", "3"]),
        ("/p?z=1?z=2", "z", "?", ["1", "2"]),  # the delimiter also separates parameters
        ("/p;z=1", "z", ";", ["1"]),
        ("/p", "x", "?", []),
        ("/p?x=1", "x", "", []),
    ],
)
def test_url_param_values(target: str, name: str, delim: str, values: list[str]) -> None:
    assert url_param_values(target, name, delim) == values


def test_unparsable_addresses_are_none() -> None:
    v = RequestView("/run/sock", 0, "", 0)
    assert v.src_addr is None and v.dst_addr is None
    assert fetch("src", (), v) is None
    assert fetch("src_port", (), v) is None


# ------------------------------------------------------------------ fetches


def test_every_fetch_is_exercised() -> None:
    """The fetches sample.py defines are all exercised here; the ones other modules register
    (stick counters in rules/track.py, res.*/var()/cookies in rules/expr.py) in their own tests."""
    exercised = {
        "always_false", "always_true", "dst", "dst_port", "hdr", "hdr_cnt", "hdr_val", "method", "path",
        "query", "req.fhdr", "req.fhdr_cnt", "req.hdr", "req.hdr_cnt", "req.hdr_val", "req.len",
        "req.proto_http", "req.ver", "req_len", "req_proto_http", "req_ver", "src", "src_port", "ssl_fc",
        "url", "url_param", "urlp",
    }  # fmt: skip
    assert {name for name, d in FETCHES.items() if d.fn.__module__ == "trio_lb.rules.sample"} == exercised


@pytest.mark.parametrize(
    "name, args, expected",
    [
        ("path", (), ["/a/b"]),
        ("url", (), ["/a/b?x=1&y=2;z=9&x=2"]),
        ("query", (), ["x=1&y=2;z=9&x=2"]),
        ("url_param", ("x",), ["1", "2"]),
        ("urlp", ("y",), ["2"]),
        ("url_param", (), ["1", "2", "9", "2"]),
        ("url_param", ("nope",), None),
        ("hdr", ("x-list",), ["a", "b", '"c,d"', "e"]),
        ("req.hdr", ("X-List", 1), ["a"]),
        ("hdr", ("x-list", "2"), ["b"]),
        ("hdr", ("x-list", -1), ["e"]),
        ("hdr", ("x-list", -4), ["a"]),
        ("hdr", ("x-list", -5), None),
        ("hdr", ("x-list", 5), None),
        ("hdr", ("nope",), None),
        ("hdr", (), None),  # HAProxy's hdr without a name finds nothing
        ("hdr", ("",), ["www.Example.com:8080", "a", "b", '"c,d"', "e", "12abc", ""]),
        ("hdr_cnt", ("x-list",), [4]),
        ("req.hdr_cnt", ("nope",), [0]),
        ("hdr_cnt", (), [7]),
        ("hdr_val", ("x-num",), [12]),
        ("req.hdr_val", ("x-list",), [0, 0, ord('"') - ord("0"), 0]),  # a quote counts, a letter stops
        ("req.fhdr", ("x-list",), ['a, b,"c,d"', "e"]),
        ("req.fhdr", ("x-list", -1), ["e"]),
        ("req.fhdr_cnt", ("x-list",), [2]),
        ("req.fhdr_cnt", (), [5]),
        ("src", (), ["10.1.2.3"]),
        ("src_port", (), [40000]),
        ("dst", (), ["127.0.0.1"]),
        ("dst_port", (), [8080]),
        ("method", (), ["GET"]),
        ("req.ver", (), ["1.1"]),
        ("req_ver", (), ["1.1"]),
        ("req.proto_http", (), [1]),
        ("req_proto_http", (), [1]),
        ("req.len", (), [0]),
        ("req_len", (), [0]),
        ("ssl_fc", (), [0]),
        ("always_true", (), [1]),
        ("always_false", (), [0]),
    ],
)
def test_fetch_values(name: str, args: tuple, expected: list | None) -> None:
    assert fetch(name, args, view()) == expected


def test_http_fetches_find_nothing_on_tcp_connections() -> None:
    tcp = RequestView("::1", 1234, "::1", 443, ssl=True, req_len=17)
    for name in ("path", "url", "query", "url_param", "method", "req.ver", "req.proto_http"):
        assert fetch(name, (), tcp) is None, name
    assert fetch("hdr", ("host",), tcp) is None
    assert fetch("hdr_cnt", ("host",), tcp) is None
    assert fetch("req.fhdr_cnt", (), tcp) is None
    assert fetch("src", (), tcp) == ["::1"]
    assert fetch("ssl_fc", (), tcp) == [1]
    assert fetch("req.len", (), tcp) == [17]


def test_fetch_rejects_unknown_names_and_bad_args() -> None:
    with pytest.raises(ValueError, match="unknown fetch method 'nope'"):
        fetch("nope", (), view())
    with pytest.raises(ValueError, match="at most 0"):
        fetch("path", ("x",), view())
    with pytest.raises(ValueError, match="integer"):
        fetch("hdr", ("host", "x"), view())
    with pytest.raises(ValueError, match="header occurrence must be >= -10"):
        fetch("hdr", ("host", -11), view())
    with pytest.raises(ValueError, match="must be a string"):
        fetch("hdr", (3,), view())


# ------------------------------------------------------------------ arg lists


@pytest.mark.parametrize(
    "text, types, args, used",
    [
        ("", ("str", "sint"), (), 0),
        ("(host)", ("str", "sint"), ("host",), 6),
        ("(host,2),lower", ("str", "sint"), ("host", 2), 8),
        ("(host,)", ("str", "sint"), ("host",), 7),  # an empty optional integer ends the list
        ("(,-2)", ("str", "sint"), ("", -2), 5),
        ("()", ("str", "sint"), ("",), 2),
        ("(+3)", ("sint",), (3,), 4),
        ("('a,b',\"c)\")", ("str", "str"), ("a,b", "c)"), 12),
        (r"(a\,b)", ("str", "str"), ("a\\", "b"), 6),  # a backslash before ',' stays and ',' still splits
        (r"(a\ b\tc\q)", ("str",), ("a b\tc\\q",), 11),
        ("()", (), (), 2),
        ("x", (), (), 0),
    ],
)
def test_make_arg_list(text: str, types: tuple, args: tuple, used: int) -> None:
    assert make_arg_list(text, types) == (args, used)


@pytest.mark.parametrize(
    "text, types, message",
    [
        ("(1)", (), "expected ')' before '1)'"),
        ("(", (), "expected ')'"),
        ("(host", ("str", "sint"), "expected ')'"),
        ("(a,b,c)", ("str", "str"), "expected ')' before ',c)'"),
        ("(a,b)", ("str", "sint"), "failed to parse 'b' as type 'integer' at position 2"),
        ("(a,1x)", ("str", "sint"), "failed to parse '1x' as type 'integer' at position 2"),
        ("(a\\", ("str",), "failed to parse '\\' after 'a' as type 'string' at position 1"),
    ],
)
def test_make_arg_list_errors(text: str, types: tuple, message: str) -> None:
    with pytest.raises(ArgError) as info:
        make_arg_list(text, types)
    assert info.value.msg == message


def test_mandatory_arguments() -> None:
    with pytest.raises(ArgError, match=r"missing arguments \(got 1/2\), type 'integer' expected"):
        make_arg_list("(a)", ("str", "sint"), 2)
    with pytest.raises(ArgError, match="expected type 'integer' at position 1, but got nothing"):
        make_arg_list("", ("sint",), 1)
    with pytest.raises(ArgError, match="expected type 'integer' at position 1, but got nothing"):
        make_arg_list("()", ("sint",), 1)
    assert make_arg_list("", ("str",), 1) == (("",), 0)


# ------------------------------------------------------------------ number parsing and casts


@pytest.mark.parametrize(
    "text, value, used",
    [("12ab", 12, 2), ("-3", -3, 2), ("+7x", 7, 2), ("", 0, 0), ("x", 0, 0), ("9" * 30, (1 << 63) - 1, 30)],
)
def test_read_int64(text: str, value: int, used: int) -> None:
    assert read_int64(text) == (value, used)


@pytest.mark.parametrize(
    "text, value",
    [("12", 12), ("12abc", 12), ("-12", -12), ("", 0), ("1.5", 85), ("2 3", 43), ("x", 0)],
)
def test_strl2ic_keeps_haproxys_quirks(text: str, value: int) -> None:
    # characters below '0' are not stop characters in HAProxy's strl2ic(): "1.5" reads as 8 then 85
    assert strl2ic(text) == value


def test_ip_to_str_like_inet_ntop() -> None:
    assert ip_to_str(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1"
    assert ip_to_str(ipaddress.ip_address("::ffff:10.0.0.1")) == "::ffff:10.0.0.1"
    assert ip_to_str(ipaddress.ip_address("::10.0.0.1")) == "::10.0.0.1"
    assert ip_to_str(ipaddress.ip_address("::1")) == "::1"
    assert ip_to_str(ipaddress.ip_address("2001:db8::1")) == "2001:db8::1"


def test_casts_follow_haproxys_matrix() -> None:
    four = ipaddress.ip_address("1.2.3.4")
    six = ipaddress.ip_address("::1")
    assert sample.caster("str", "str") is None
    assert sample.caster("sint", "str")(80) == "80"
    assert sample.caster("sint", "bin")(1) == b"\x00" * 7 + b"\x01"
    assert sample.caster("sint", "addr")(0x01020304) == four
    assert sample.caster("bool", "bin")(5) == b"\x00" * 7 + b"\x01"
    assert sample.caster("addr", "sint")(four) == 0x01020304
    assert sample.caster("addr", "sint")(six) is None
    assert sample.caster("addr", "bin")(six) == b"\x00" * 15 + b"\x01"
    assert sample.caster("str", "sint")("") is None
    assert sample.caster("str", "sint")("42x") == 42
    assert sample.caster("str", "addr")("1.2.3.4") == four
    assert sample.caster("str", "addr")("nope") is None
    assert sample.caster("meth", "str")("GET") == "GET"
    for refused in (("bool", "addr"), ("meth", "sint"), ("meth", "addr"), ("addr", "meth")):
        with pytest.raises(KeyError):
            sample.caster(*refused)
