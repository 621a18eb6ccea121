"""Conditions: if/unless, negation, or/||, juxtaposition, anonymous ACLs, predefined and unknown names."""

from __future__ import annotations

from typing import Any

import pytest

from trio_lb.config.model import Condition
from trio_lb.rules.acl import AclGroup, parse_acl
from trio_lb.rules.cond import eval_condition, parse_condition
from trio_lb.rules.sample import RequestView


def req(target: str = "/api/x", method: str | None = "GET", src: str = "10.0.0.1", ssl: bool = False) -> RequestView:
    return RequestView(src, 40000, "10.0.0.2", 443, method=method, target=target, headers=[(b"host", b"a.example")], ssl=ssl)


def proxy_acls(*lines: str) -> dict[str, list[Any]]:
    acls: dict[str, list[Any]] = {}
    for line in lines:
        a = parse_acl(line.split())
        acls.setdefault(a.name, []).append(a)
    return acls


ACLS = proxy_acls(
    "api path_beg /api",
    "static path_beg /static",
    "static path_end .css",  # same name: OR-ed with the line above
    "internal src 10.0.0.0/8",
    "post method POST",
)


def check(text: str, view: RequestView, acls: dict[str, list[Any]] = ACLS) -> bool:
    return eval_condition(parse_condition(text.split(), acls), view)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("if api", True),
        ("unless api", False),
        ("if !api", False),
        ("unless !api", True),
        ("if !!api", True),
        ("if ! api", False),  # a lone "!" negates the next term
        ("if api internal", True),
        ("if api post", False),  # juxtaposition is AND
        ("if post or api", True),
        ("if post || api", True),
        ("if post OR api", True),
        ("if post or static", False),
        ("if api post or internal", True),
        ("if api post or internal post", False),
        ("if !post !static", True),
        ("if ! or api", True),  # 'or' resets a pending negation
        ("if or api", True),
        ("if api or", True),
        ("if { path_beg /api } { src 10.0.0.1 }", True),
        ("if !{ path_beg /api }", False),
        ("if { path_beg /nope } || { method GET }", True),
        ("if { ssl_fc }", False),
        ("unless { ssl_fc }", True),
        ("if TRUE", True),
        ("if FALSE", False),
        ("if METH_GET", True),
        ("if METH_POST or METH_PUT or METH_DELETE", False),
        ("if HTTP HTTP_1.1 HTTP_URL_SLASH", True),
        ("if LOCALHOST", False),
        ("if", False),  # an empty condition never matches...
        ("unless", True),  # ...so "unless" alone always does
        ("if !", False),
    ],
)
def test_conditions(text: str, expected: bool) -> None:
    assert check(text, req()) is expected


def test_same_name_lines_are_ored() -> None:
    assert check("if static", req(target="/static/app.js"))
    assert check("if static", req(target="/theme/site.css"))
    assert not check("if static", req(target="/theme/site.js"))


def test_lines_added_after_the_condition_still_count() -> None:
    acls = proxy_acls("late path /a")
    cond = parse_condition(["if", "late"], acls)
    assert not eval_condition(cond, req(target="/b"))
    acls["late"].append(parse_acl(["late", "path", "/b"]))
    assert eval_condition(cond, req(target="/b"))


def test_proxy_acls_override_predefined_names() -> None:
    acls = proxy_acls("TRUE always_false")
    assert not check("if TRUE", req(), acls)


def test_condition_structure() -> None:
    cond = parse_condition("unless api !post or { ssl_fc }".split(), ACLS)
    assert isinstance(cond, Condition)
    assert cond.unless and cond.text == "unless api !post or { ssl_fc }"
    assert [[neg for neg, _ in suite] for suite in cond.terms] == [[False, True], [False]]
    first = cond.terms[0][0][1]
    assert isinstance(first, AclGroup) and first.name == "api"
    assert cond.terms[1][0][1].name == ""  # anonymous


def test_none_condition_always_applies() -> None:
    assert eval_condition(None, req())


def test_short_circuit() -> None:
    class Boom:
        name = "boom"

        def match(self, view: RequestView) -> bool:
            raise AssertionError("evaluated")

    acls = {**ACLS, "boom": [Boom()]}
    assert check("if api or boom", req(), acls)  # OR stops at the first true suite
    assert not check("if post boom", req(), acls)  # AND stops at the first false term


def test_tcp_views() -> None:
    tcp = req(method=None, target=None, ssl=True)
    assert check("if internal { ssl_fc }", tcp)
    assert not check("if api", tcp)
    assert check("if !HTTP", tcp)


@pytest.mark.parametrize(
    "words, message",
    [
        (["if", "foo"], "no such ACL : 'foo'"),
        (["unless", "foo"], "no such ACL : 'foo'"),
        (["if", "api", "!nope"], "no such ACL : 'nope'"),
        (["if", "{", "foo", "}"], "unknown fetch method 'foo' in ACL expression 'foo'"),
        (["if", "{", "path", "/"], "missing closing '}' in condition"),
        (["if", "{", "}"], "missing fetch method in ACL expression ''"),
        (["if", "{", "path_beg", "/a", "}", "}"], "no such ACL : '}'"),
        (["if", "{path_beg", "/a}"], "no such ACL : '{path_beg'"),
        (["if", "api", "or", "{", "dst_port", "x", "}"], "'x' is not a number"),
        (["when", "api"], "conditions must start with either 'if' or 'unless'"),
        ([], "conditions must start with either 'if' or 'unless'"),
        (["if", "RDP_COOKIE"], "predefined ACL 'RDP_COOKIE' is not supported by trio-lb"),
    ],
)
def test_condition_errors(words: list[str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_condition(words, ACLS)
    assert str(info.value).startswith(message)
