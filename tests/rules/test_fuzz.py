"""Random word lists: parsing only ever raises ValueError, and whatever parses can be evaluated."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trio_lb.rules.acl import parse_acl
from trio_lb.rules.cond import eval_condition, parse_condition
from trio_lb.rules.sample import RequestView

TOKENS = [
    "path", "path_beg", "path_dir", "path_dom", "path_len", "path_reg", "url", "url_len", "urlp(id)",
    "url_param", "url_param(a,;)", "hdr", "hdr()", "hdr(host)", "hdr(x,-1)", "hdr(x,", "hdr_cnt", "hdr_val(x)",
    "req.hdr(host,2)", "req.fhdr(x)", "src", "dst", "src_port", "dst_port", "method", "req.ver", "ssl_fc",
    "always_true", "query", "req.len", "path,lower", "src,upper", "hdr(host),lower,", "foo", "(x)", "src_port(1){x}", "hdr({0}",
    "-i", "-n", "-m", "-f", "-M", "-u", "--", "-", "-x", "found", "bool", "int", "ip", "bin", "len", "str",
    "beg", "sub", "dir", "dom", "end", "reg", "eq", "gt", "ge", "lt", "le", "1", "-1", "1:5", ":3", "4-",
    "10.0.0.0/8", "::1/128", "::ffff:1.2.3.4", "1.2.3.4/255.0.255.0", "GET", "get", "PURGE", "0a1b",
    "^/a(", "[", "a{99999999999}", "/a", ".css", "{", "}", "!", "!{", "or", "||", "OR", "if", "unless",
    "TRUE", "LOCALHOST", "METH_GET", "HTTP_CONTENT", "WAIT_END", "known", "x&y", "",
]  # fmt: skip

words = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.text(max_size=6).filter(lambda s: not s.startswith("/"))),
    max_size=9,
)

VIEWS = [
    RequestView("10.0.0.1", 1000, "10.0.0.2", 80, method="GET", target="/a/b.css?id=1",
                headers=[(b"host", b"Example.com"), (b"x", b"1, 2"), (b"x", b'"q,"')]),
    RequestView("::ffff:1.2.3.4", 0, "::1", 443, method="PURGE", target="http://h", version="1.0"),
    RequestView("/tmp/sock", 0, "", 0, ssl=True),
]  # fmt: skip

KNOWN: dict[str, list[Any]] = {"known": [parse_acl(["known", "path_beg", "/a"])]}


@settings(max_examples=150, deadline=None)
@given(words)
def test_parse_acl_only_raises_value_error(ws: list[str]) -> None:
    try:
        acl = parse_acl(ws)
    except ValueError:
        return
    for view in VIEWS:
        assert acl.match(view) in (True, False)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([["if"], ["unless"], []]), words)
def test_parse_condition_only_raises_value_error(head: list[str], ws: list[str]) -> None:
    try:
        cond = parse_condition(head + ws, KNOWN)
    except ValueError:
        return
    for view in VIEWS:
        assert eval_condition(cond, view) in (True, False)
